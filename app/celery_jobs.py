"""Scale-out: background callbacks and dataset preparation on Celery workers, through Redis.

With :attr:`ServeConfig.broker <detlens.app.config.ServeConfig.broker>` set
(``detlens serve --broker redis://HOST:6379/0``, or ``DETLENS_BROKER``),
:func:`detlens.app.jobs.background_manager` returns :func:`celery_manager`
instead of the diskcache manager of one host, and the web server queues the
preparation of its data source as the task ``detlens.prepare``
(:func:`send_preparation`) instead of starting a local process.
``detlens worker`` (:func:`run_worker`) runs the Celery worker that executes both.

What goes where:

* Redis (the broker URL is also Celery's result backend): task messages, and the
  results of background callbacks (small JSON figures). Those are shared like the
  diskcache ones (see :mod:`detlens.app.jobs`): keyed by the callback's inputs and
  ``CODE_VERSION``, kept ``JOB_RESULT_EXPIRE_S`` after their last read. Redis also
  holds the lock that lets one worker, on any machine, prepare a source.
* The shared cache folder (``--cache-dir`` of every web and Celery worker, e.g. an
  NFS mount): prepared datasets and their status, memoised results, pixel metrics,
  thumbnails. They never go through Redis (they can be gigabytes).

How a worker learns the server's configuration: it does not need it. The data
source travels in the ``detlens.prepare`` message (paths as the web server sees
them, so data and cache folder are mounted at the same paths on every machine);
a background callback's inputs carry the dataset key. A worker needs the broker
and the cache folder only. It builds the same Dash app as the web workers
(:func:`detlens.app.server.create_app`), which registers every background
callback as a Celery task named after the callback's source code: web and Celery
workers must run the same detlens version.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import celery
import dash
from kombu.utils.url import maybe_sanitize_url

from detlens.app.cache import SharedCache
from detlens.app.config import ServeConfig
from detlens.app.jobs import JOB_RESULT_EXPIRE_S, ReadsFinishedResults, code_version
from detlens.app.source import DataSource

PREPARE_TASK = "detlens.prepare"
PREPARE_LOCK_S = 60  # a preparation lock not renewed for this long is free again (its worker died)
BROKER_SCHEMES = ("redis://", "rediss://", "redis+socket://")
LOG = logging.getLogger("detlens.worker")


def check_broker(url: str) -> str:
    """``url`` when it names a Redis server (``redis://[:password@]host:port/db``, ``rediss://``, ``redis+socket://``).

    Raises:
        ValueError: any other URL (the message masks a password).
    """
    if not url.startswith(BROKER_SCHEMES):
        raise ValueError(f"broker {maybe_sanitize_url(url)} is not a Redis URL: give e.g. redis://HOST:6379/0")
    return url


@functools.cache
def celery_app(broker: str) -> celery.Celery:
    """The one Celery app of this process for ``broker`` (Redis: queue and result backend alike).

    Every background callback registered while it exists becomes one of its
    tasks (see :func:`celery_manager`); results and task states expire after
    ``JOB_RESULT_EXPIRE_S`` s unless read.

    Raises:
        ValueError: ``broker`` is not a Redis URL.
    """
    app = celery.Celery("detlens", broker=check_broker(broker), backend=broker, set_as_current=False)
    app.conf.update(
        task_serializer="json", result_serializer="json", accept_content=["json"],
        result_expires=JOB_RESULT_EXPIRE_S,
        worker_prefetch_multiplier=1,  # a worker holding a long preparation does not sit on queued jobs
        broker_connection_retry_on_startup=True,
        worker_redirect_stdouts=False,  # our progress lines go to the log, not through print
    )
    return app


class CeleryJobs(ReadsFinishedResults, dash.CeleryManager):
    """Dash's Celery manager, made safe to share between pages.

    * A result is never lost to a task ending mid-poll (see :class:`~detlens.app.jobs.ReadsFinishedResults`).
    * A job is revoked, never terminated. Dash ends the job of every result it
      reads and every superseded job with Celery's ``terminate``, which signals
      the pool process the worker last saw running that task: by then it may run
      another page's task, which then dies without a result, and that page's chart
      never updates (bench_load.py saw it; Celery's documentation says never to
      call ``terminate`` from a program). A revoked job that has not started never
      runs; one that has finishes, and its result is shared like any other.
    """

    def terminate_job(self, job) -> None:
        """Revoke the Celery task ``job`` (a task id): it does not start if it has not yet."""
        if job is not None:
            self.handle.control.revoke(job)


def celery_manager(config: ServeConfig) -> dash.CeleryManager:
    """The background-callback manager of ``config`` with a broker: results shared between pages, not consumed.

    (Dash signs the job handles it gives the browser with the server's
    ``secret_key``, which every web worker reads from the shared cache folder.)
    """
    return CeleryJobs(celery_app(config.broker), cache_by=[code_version], expire=JOB_RESULT_EXPIRE_S)


def broker_error(config: ServeConfig, exc: Exception) -> ValueError:
    """A one-line error for an unreachable broker (password masked)."""
    return ValueError(f"cannot reach the broker {maybe_sanitize_url(config.broker)}: {exc}")


def send_preparation(config: ServeConfig, source: DataSource) -> str:
    """Queue the preparation of ``source`` (then the IoU warm-up if ``config.precompute``) for a worker.

    Sent over a connection of its own, closed again: ``detlens serve`` forks its
    web workers after this, and they must not share a broker connection.
    Returns the task id.

    Raises:
        ValueError: the broker cannot be reached.
    """
    from kombu.exceptions import OperationalError

    app = celery_app(config.broker)
    try:
        with app.connection_for_write() as connection:
            result = app.send_task(PREPARE_TASK, args=[dataclasses.asdict(source), config.precompute],
                                   connection=connection, ignore_result=True)
    except OperationalError as exc:
        raise broker_error(config, exc) from None
    print(f"detlens: dataset preparation queued for a Celery worker on {maybe_sanitize_url(config.broker)}",
          file=sys.stderr)
    return result.id


@contextlib.contextmanager
def held_on_every_machine(broker: str, name: str, expire_s: float = PREPARE_LOCK_S) -> Iterator[None]:
    """Hold the Redis lock ``name``: one process on any machine at a time.

    The cache folder's own locks know processes of one machine only. This one
    is renewed every ``expire_s / 3`` s while held, so a holder that dies frees
    it after ``expire_s`` s at most.
    """
    import redis
    from redis.exceptions import LockError

    client = redis.Redis.from_url(broker)
    lock = client.lock(name, timeout=expire_s, thread_local=False)  # renewed from another thread
    lock.acquire()
    done = threading.Event()

    def renew() -> None:
        while not done.wait(expire_s / 3):
            try:
                lock.reacquire()
            except LockError:
                return

    renewer = threading.Thread(target=renew, name="detlens-lock-renewal", daemon=True)
    renewer.start()
    try:
        yield
    finally:
        done.set()
        renewer.join()
        with contextlib.suppress(LockError):
            lock.release()
        client.close()


def logged_progress(source_id: str):
    """A ``progress(fraction, text)`` that logs one line per tenth done (the pixel pass reports every image)."""
    last = [-1]

    def show(fraction: float, text: str) -> None:
        if int(fraction * 10) != last[0]:
            last[0] = int(fraction * 10)
            LOG.info("preparing %s: %3.0f%% %s", source_id, 100 * fraction, text)
    return show


def starter_description() -> str:
    """``"pool process P of worker W"``: this process's parent and grandparent (for the log)."""
    import psutil

    parent = psutil.Process(os.getppid())
    return f"pool process {parent.pid} of worker {parent.ppid()}"


def prepare_on_worker(config: ServeConfig, source: DataSource) -> str | None:
    """Prepare ``source`` into ``config.cache_dir``, then warm every IoU threshold if ``config.precompute``.

    One process, on any machine, prepares a source while the others (sent the
    same task by other web workers) wait, then find it cached. Failures are
    recorded in the status the page shows, and logged in one line. Returns the
    dataset key, or None on failure.
    """
    from detlens.app.preparation import prepare, warm_thresholds
    from detlens.app.queries import Queries

    queries = Queries(SharedCache(config.cache_dir, results_bytes=config.results_cache_mb * 2**20))
    source_id = source.source_id()
    with held_on_every_machine(config.broker, f"detlens:prepare:{source_id}"):
        try:
            key = prepare(queries, source, logged_progress(source_id))
        except Exception as exc:  # recorded in the status by prepare(); the page shows it
            LOG.error("cannot prepare data source %s: %s", source_id, exc)
            return None
        LOG.info("prepared data source %s as dataset %s in process %d (started by %s)", source_id, key,
                 os.getpid(), starter_description())
        if config.precompute:
            warm_thresholds(queries, key)
            LOG.info("every IoU threshold of dataset %s is pre-computed", key)
    return key


def register_preparation(app: celery.Celery, config: ServeConfig) -> None:
    """Register the ``detlens.prepare`` task on ``app``, writing into ``config.cache_dir`` (never a path from a message).

    The task runs the preparation in a new Python process (:func:`main`), which
    it waits for: a Celery pool process is a daemon, and Python's multiprocessing
    (the pixel pass's process pool) refuses to start processes from a daemon.
    """
    def prepare_task(source: dict, precompute: bool) -> None:
        job = {"cache_dir": str(config.cache_dir), "broker": config.broker, "precompute": bool(precompute),
               "results_cache_mb": config.results_cache_mb, "source": dataclasses.asdict(DataSource(**source))}
        subprocess.run([sys.executable, "-m", __name__], input=json.dumps(job), text=True, check=False)

    # acknowledged when done: a worker that dies mid-way leaves the message for another one
    app.task(name=PREPARE_TASK, acks_late=True, reject_on_worker_lost=True, ignore_result=True)(prepare_task)


def main() -> int:
    """The preparation process of a ``detlens.prepare`` task; its job comes as JSON on standard input.

    Returns the exit status: 0 prepared, 1 failed (the reason is in the status and the log).
    """
    job = json.load(sys.stdin)
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s: %(levelname)s/detlens-prepare] %(message)s")
    config = ServeConfig(cache_dir=Path(job["cache_dir"]), broker=job["broker"], precompute=job["precompute"],
                         results_cache_mb=job["results_cache_mb"])
    return 0 if prepare_on_worker(config, DataSource(**job["source"])) else 1


def run_worker(config: ServeConfig, concurrency: int | None = None) -> int:
    """``detlens worker``: a Celery worker for the background callbacks and preparations of ``config.broker``; blocks.

    ``concurrency``: jobs at once (Celery's default: the number of cores).
    SIGTERM stops it after its running jobs (Celery's warm shutdown).

    Raises:
        ValueError: the broker is not a Redis URL or cannot be reached.
    """
    from detlens.app.server import create_app

    app = celery_app(config.broker)
    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1)
    except Exception as exc:  # kombu raises the transport's own errors here
        raise broker_error(config, exc) from None
    create_app(config)  # registers every background callback as a task of celery_app(config.broker)
    register_preparation(app, config)
    print(f"detlens: Celery worker on {maybe_sanitize_url(config.broker)}, cache folder {config.cache_dir}",
          file=sys.stderr, flush=True)
    argv = ["worker", "--loglevel=INFO", f"--hostname=detlens-{os.getpid()}@%h"]
    if concurrency is not None:
        argv.append(f"--concurrency={concurrency}")
    app.worker_main(argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
