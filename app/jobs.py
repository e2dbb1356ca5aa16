"""Background jobs of the dashboard: Dash's diskcache manager, made safe to share between pages and workers.

Rules:

* Results are shared, not consumed: the manager keys each result by the
  callback's inputs and :data:`~detlens.app.cache.CODE_VERSION` (Dash's
  ``cache_by``) and keeps it for ``JOB_RESULT_EXPIRE_S`` after its last read, so
  two pages asking the same question both get the answer (Dash deletes a result
  on its first read otherwise).
* A callback whose results are all cached is answered in the web process, without a job
  (:meth:`BackgroundJobs.call_job_fn`): Dash starts a job for every background callback, and
  forking the server, starting the job and reaping it cost more than reading a cached answer.
  Only when a result must be computed (:class:`~detlens.app.cache.ComputationNeeded`) is a job
  started. Such an answer is sent with the job's handles, in the first response
  (:mod:`detlens.app.inline_answers`). Only the callbacks named by the manager's ``from_cache`` outputs (the dashboard's
  :data:`~detlens.callbacks.common.ANSWERED_FROM_CACHE`) are tried so; the others (exports) always
  run in a job.
* A job is a forked process that first closes the sockets it inherited, so
  the browser is not kept waiting for the response of the request that started it.
  It runs in one of the web worker's long-lived runners when one is free, so it
  finds the memory the jobs before it touched (:mod:`detlens.app.job_runners`),
  else in a fresh process.
* At most ``ServeConfig.max_jobs`` jobs compute at once on a host (:class:`JobSlots`);
  the others wait, so quick slider steps cannot exhaust the memory. A job takes
  a slot only when it computes a result that is not cached yet (the shared
  cache's ``compute_gate``), so a cached answer, or a hidden tab's job that
  answers "no update", never waits behind other pages' computations.
* A job is its own process group, so killing it takes what it started too.
* Killing a superseded job (Dash sends the page's old job when an input changes)
  does not wait for the process more than a moment.
* A job that ends between a poll's read of its result and the poll's check that
  it still runs has its result read again (:class:`ReadsFinishedResults`):
  Dash would answer that poll "no update" (204), and the chart would never update.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import stat
import time
from collections.abc import Iterator

import dash
import diskcache

from detlens.app.cache import (CODE_VERSION, ComputationNeeded, Entry, SharedCache, answering_from_cache, cache_key,
                               process_alive)
from detlens.app.config import ServeConfig
from detlens.app.inline_answers import mark_answered_here
from detlens.app.job_runners import JobRunners, kill_job_process, parse_handle

JOB_RESULT_EXPIRE_S = 600  # a shared result lives this long after its last read
SLOT_EXPIRE_S = 3600  # a job slot is freed after this long even if its holder hangs
RESULT_GRACE_S = 5.0  # an ended job's result not readable yet: the page polls on for this long
CALLBACK_CACHE_BYTES = 256 * 2**20  # background-callback results and progress (small JSON figures)
STORE_WAIT_S = 3.0  # a value stored after a job's answer waits at most this long for the jobs computing
INLINE_JOB = "inline"  # the job handle of an answer given in the web process: no process to poll or kill


def output_ids(context: dict) -> set[str]:
    """The component ids a background callback's ``context`` (Dash's) says it writes."""
    found, stack = set(), [context.get("outputs_list") or []]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict) and isinstance(item.get("id"), str):
            found.add(item["id"])
    return found


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


class JobSlots:
    """At most ``count`` jobs compute at once on this host; the others wait for a free slot.

    A slot is a lock in the background-callback cache holding its job's pid,
    so it works across every web worker; a slot whose holder died is taken over.
    A waiting job costs little memory, and Dash kills it when its page moves on.
    """

    def __init__(self, handle: diskcache.Cache, count: int):
        self.handle = handle
        self.keys = [cache_key(Entry.LOCK, "job-slot", i) for i in range(max(1, int(count)))]
        self.holding: str | None = None  # the slot this process holds through :meth:`held`

    def acquire(self, block: bool = True, poll_s: float = 0.05) -> str | None:
        """Take a free slot for this process: its key, or None when ``block`` is False and none is free."""
        pid = os.getpid()
        while True:
            for key in self.keys:
                if self.handle.add(key, pid, expire=SLOT_EXPIRE_S) or (
                        self._free_if_dead(key) and self.handle.add(key, pid, expire=SLOT_EXPIRE_S)):
                    return key
            if not block:
                return None
            time.sleep(poll_s)

    def release(self, key: str) -> None:
        """Free the slot ``key`` if this process holds it."""
        with self.handle.transact():
            if self.handle.get(key) == os.getpid():
                self.handle.delete(key)

    @contextlib.contextmanager
    def held(self) -> Iterator[str]:
        """Wait for a free slot and hold it while the block runs; re-entrant (a nested block keeps the slot)."""
        if self.holding is not None:
            yield self.holding
            return
        self.holding = self.acquire()
        try:
            yield self.holding
        finally:
            self.release(self.holding)
            self.holding = None

    def wait_until_none_held(self, timeout_s: float, poll_s: float = 0.02) -> bool:
        """Wait until no live process holds a slot (no job computes on this host), at most ``timeout_s``;
        True when none does."""
        deadline = time.monotonic() + timeout_s
        while True:
            if all(self.handle.get(key) is None or self._free_if_dead(key) for key in self.keys):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(poll_s)

    def _free_if_dead(self, key: str) -> bool:
        """Free ``key`` if its holder died; True when it was freed."""
        holder = self.handle.get(key)
        if holder is None or process_alive(holder):
            return False
        with self.handle.transact():
            if self.handle.get(key) == holder:
                self.handle.delete(key)
        return True


class ReadsFinishedResults:
    """A background-callback manager mixin: a job that has ended is waited for until its result can be read.

    Dash's poll reads the result, then asks whether the job still runs; when
    neither, it answers 204 and the page stops polling. Two ways that lost
    updates (bench_load.py found both):

    * the job stores its result and ends between those two steps (a poll
      descheduled there under load): the result is read once more;
    * with Celery, a task's state can read SUCCESS a moment before its result
      key can be read (seen on a loaded machine: missing at the poll, there
      0.3 s later): a job that has ended without a readable result still
      counts as running for ``result_grace_s`` from the first poll that saw it
      so, and the page polls on. Only after that does it get 204 (a job
      killed without a result).
    """

    result_grace_s = RESULT_GRACE_S

    def get_result(self, key, job):
        """The job's result, or ``UNDEFINED`` while it is still computing (or ended without one)."""
        result = super().get_result(key, job)
        if result is self.UNDEFINED and job is not None and not self.job_running(job):
            result = super().get_result(key, job)
        awaited = self.__dict__.setdefault("awaited", {})  # job -> when a poll first found no result
        if result is self.UNDEFINED and job is not None:
            awaited.setdefault(str(job), time.monotonic())
            if len(awaited) > 1000:  # forget the long-gone
                cutoff = time.monotonic() - self.result_grace_s
                for old in [j for j, t in awaited.items() if t < cutoff]:
                    del awaited[old]
        elif job is not None:
            awaited.pop(str(job), None)
        return result

    def job_running(self, job) -> bool:
        """Running, or ended within ``result_grace_s`` of a poll that found no result (see the class)."""
        if super().job_running(job):
            return True
        since = self.__dict__.get("awaited", {}).get(str(job))
        return since is not None and time.monotonic() - since < self.result_grace_s


def prepare_job_process(slots: JobSlots, cache: SharedCache) -> None:
    """What a forked job process (a fresh one or a runner) does first: drop the server's sockets, become its
    own process group, compute under the host's job slots."""
    close_inherited_sockets()
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)
    cache.compute_gate = slots.held  # this forked process's copy of the server's cache
    # a value stored after a job's answer waits for the jobs still computing (a page's other job)
    cache.wait_before_storing = functools.partial(slots.wait_until_none_held, STORE_WAIT_S)


def _run_detached(slots: JobSlots, cache: SharedCache, job_fn, *args):
    prepare_job_process(slots, cache)
    return job_fn(*args)


class ProcessJobs(dash.DiskcacheManager):
    """Whether a job's process computes: a runner's job (:mod:`detlens.app.job_runners`) or a process's pid."""

    runners: JobRunners

    def job_running(self, job) -> bool:
        """A runner job while its runner computes it; a pid without Dash's race: Dash asks whether the pid exists,
        then opens it, and a job that ends in between raised ``NoSuchProcess`` out of the poll (a 400, and the
        chart never updated). It has ended."""
        import psutil

        if parse_handle(job) is not None:
            return self.runners.job_running(job)
        try:
            return super().job_running(job)
        except (psutil.NoSuchProcess, ValueError):
            return False


class BackgroundJobs(ReadsFinishedResults, ProcessJobs):
    """Dash's diskcache manager, with jobs that do not hold the server's sockets or block requests.

    * A result is never lost to a job ending mid-poll (:class:`ReadsFinishedResults`).

    * A job closes the sockets it inherited when forked (see :func:`close_inherited_sockets`),
      becomes a process group of its own, and computes under the host's :class:`JobSlots`
      (``cache.compute_gate``).
    * The stock ``terminate_job`` waits up to 1 s for the killed process inside a
      cache-wide transaction, and looks for its children by scanning every process
      of the machine; with several jobs ending at once (every chart after an IoU
      change) requests queue behind each other. Here the job's process group is
      killed, without waiting: a finished job has already stored its result.
    """

    def __init__(self, handle: diskcache.Cache, max_jobs: int, cache: SharedCache,
                 from_cache: frozenset[str] = frozenset(), job_runners: int = 0, **options):
        super().__init__(handle, **options)
        self.slots = JobSlots(handle, max_jobs)
        self.cache = cache
        self.from_cache = from_cache  # output ids of the callbacks answered here when their results are cached
        self.runners = JobRunners(handle, job_runners, self.func_registry,
                                  functools.partial(prepare_job_process, self.slots, cache))

    def call_job_fn(self, key, job_fn, args, context):
        """The callback answered here when every result it reads is cached (:data:`INLINE_JOB`: its answer is
        stored, the page's first poll reads it); otherwise a job in one of this worker's runners
        (:mod:`detlens.app.job_runners`; its handle) or, none being free, in a fresh forked process (its pid),
        which drops the inherited sockets and computes under a slot."""
        import multiprocessing

        if output_ids(context) & self.from_cache:
            try:
                with answering_from_cache():
                    job_fn(key, self._make_progress_key(key), args, context)
                mark_answered_here()  # the first response carries the answer (app/inline_answers.py)
                return INLINE_JOB
            except ComputationNeeded:  # raised before the callback stored anything: a job computes it
                pass
        # a finished preparation process (starting a job, multiprocess reaps the jobs that ended)
        multiprocessing.active_children()
        handle = self.runners.start_job(job_fn, key, self._make_progress_key(key), args, context)
        if handle is not None:
            return handle
        return super().call_job_fn(key, functools.partial(_run_detached, self.slots, self.cache, job_fn), args,
                                   context)

    def job_running(self, job) -> bool:
        """False for an answer given here; else whether the job runs, with :class:`ReadsFinishedResults`' grace
        over :meth:`ProcessJobs.job_running`."""
        if str(job) == INLINE_JOB:
            return False
        return super().job_running(job)

    def terminate_job(self, job) -> None:
        """Kill the job's process group (the job, if it has not made its group yet), without waiting."""
        if job is None or str(job) == INLINE_JOB:
            return
        if parse_handle(job) is not None:
            self.runners.terminate_job(job)
            return
        with contextlib.suppress(ValueError):
            pid = int(job)
            if pid > 1:  # a job's pid (0 would be this process's own group)
                kill_job_process(pid)


def code_version() -> int:
    """Part of every background-callback result key (``cache_by``): results of older code are never read."""
    return CODE_VERSION


def background_manager(config: ServeConfig, cache: SharedCache) -> dash.DiskcacheManager | dash.CeleryManager:
    """The background-callback manager of ``config``: :class:`BackgroundJobs` in ``<cache dir>/callbacks``,
    or with ``config.broker`` Celery workers through Redis (:mod:`detlens.app.celery_jobs`)."""
    if config.broker:
        from detlens.app.celery_jobs import celery_manager

        return celery_manager(config)
    # healed like every cache folder; on a read-only folder its writes are skipped rather than failing requests
    handle = cache.folder("callbacks", ignore_read_only=True, size_limit=CALLBACK_CACHE_BYTES)
    from detlens.callbacks.common import ANSWERED_FROM_CACHE

    manager = BackgroundJobs(handle, config.max_jobs, cache, from_cache=ANSWERED_FROM_CACHE,
                             job_runners=config.job_runners, cache_by=[code_version], expire=JOB_RESULT_EXPIRE_S)

    def stop_jobs() -> None:  # a web worker that exits (server shutdown) kills its jobs rather than waiting for them
        import multiprocess

        for job in multiprocess.active_children():
            job.kill()
    atexit.register(stop_jobs)  # after BackgroundJobs imported multiprocess: runs before its exit handler joins them
    return manager

