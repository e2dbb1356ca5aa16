"""Background jobs of the dashboard: Dash's diskcache manager, made safe to share between pages and workers.

Rules:

* Results are shared, not consumed: the manager keys each result by the
  callback's inputs and :data:`~detlens.app.cache.CODE_VERSION` (Dash's
  ``cache_by``) and keeps it for ``JOB_RESULT_EXPIRE_S`` after its last read, so
  two pages asking the same question both get the answer (Dash deletes a result
  on its first read otherwise).
* A job is a forked process that first closes the sockets it inherited, so
  the browser is not kept waiting for the response of the request that started it.
* Killing a superseded job (Dash sends the page's old job when an input changes)
  does not wait for the process more than a moment.
"""

from __future__ import annotations

import functools
import os
import stat

import dash
import diskcache

from detlens.app.cache import CODE_VERSION, SharedCache
from detlens.app.config import ServeConfig

JOB_RESULT_EXPIRE_S = 600  # a shared result lives this long after its last read
CALLBACK_CACHE_BYTES = 256 * 2**20  # background-callback results and progress (small JSON figures)


def close_inherited_sockets() -> None:
    """Close every socket this (forked) process inherited from the web server.

    A background job is forked while the server handles the request that starts
    it; holding a copy of that connection would keep the browser waiting for the
    response until the job ends.
    """
    for name in os.listdir("/proc/self/fd") if os.path.isdir("/proc/self/fd") else []:
        try:
            if stat.S_ISSOCK(os.fstat(int(name)).st_mode):
                os.close(int(name))
        except OSError:
            pass


def _run_detached(job_fn, *args):
    close_inherited_sockets()
    return job_fn(*args)


class BackgroundJobs(dash.DiskcacheManager):
    """Dash's diskcache manager, with jobs that do not hold the server's sockets or block requests.

    * A job closes the sockets it inherited when forked (see :func:`close_inherited_sockets`).
    * The stock ``terminate_job`` waits up to 1 s for the killed process inside a
      cache-wide transaction; with several jobs ending at once (every chart after
      an IoU change) requests queue behind each other. Finished jobs have already
      stored their result, so a short wait is enough.
    """

    def call_job_fn(self, key, job_fn, args, context):
        """Start the job in a forked process that first drops the inherited sockets."""
        import multiprocessing

        multiprocessing.active_children()  # reaps a finished preparation process
        return super().call_job_fn(key, functools.partial(_run_detached, job_fn), args, context)

    def terminate_job(self, job) -> None:
        """Kill the job's process (and its children) without waiting for it more than a moment."""
        import psutil

        if job is None:
            return
        try:
            process = psutil.Process(int(job))
            for child in process.children(recursive=True):
                child.kill()
            process.kill()
            process.wait(0.05)
        except (psutil.NoSuchProcess, psutil.TimeoutExpired, psutil.AccessDenied, ValueError):
            pass


def code_version() -> int:
    """Part of every background-callback result key (``cache_by``): results of older code are never read."""
    return CODE_VERSION


def background_manager(config: ServeConfig, cache: SharedCache) -> dash.DiskcacheManager:
    """The background-callback manager of ``config``: :class:`BackgroundJobs` in ``<cache dir>/callbacks``."""
    handle = diskcache.Cache(str(cache.cache_dir / "callbacks"), size_limit=CALLBACK_CACHE_BYTES)
    return BackgroundJobs(handle, cache_by=[code_version], expire=JOB_RESULT_EXPIRE_S)
