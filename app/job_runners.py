"""Long-lived job processes (runners): a job computed in one finds the memory the one before it touched.

Why: a fresh process per job pays for every page of memory it touches for the first time, and on a
virtual machine that reports freed memory to its host this is slow: two 400 MB arrays took 0.85-2.8 s
in a fresh process and 0.07 s in a process that had kept the memory of the same work done before.
A runner keeps the memory its jobs free in its heap for the next job (:func:`retain_freed_memory`).

Rules:

* Each web worker starts up to ``count`` runners, forked from itself when a job needs one, so a
  runner holds the same registered callbacks (Dash's ``func_registry``; a job function not in it runs
  in a fresh process as before). A runner closes the sockets it inherited, is its own process group,
  and computes under the host's job slots, like a fresh job.
* A job goes to an idle runner of its web worker; when every runner is busy and ``count`` are
  running, the caller runs it in a fresh process.
* A runner lives long, so it drops every pipe it inherited but its own (:func:`detach_inherited_pipes`),
  as it drops the server's sockets: a reader of one of them would otherwise wait for it to end.
* A job's handle is ``runner-<pid>-<seq>``. While the runner computes it, the shared handle holds the
  runner's marker ``(seq, result key)``; any web worker can therefore tell whether the job runs and
  kill it. The job runs while its runner lives, its marker holds it and its result is not stored
  (Dash kills a job that is still running when its result is read: a runner between storing the
  result and clearing its marker is not killed).
* A marker that cannot be stored (a read-only cache) sends the job to a fresh process; a runner that
  cannot clear its marker exits, so its job is seen to have ended.
* Killing a job kills its runner's process group, checked and done in one transaction of the shared
  handle, so a runner that has gone on to another job is left alone. Its web worker starts another
  runner when a job needs one.
* A runner exits when its web worker is gone, or when its web worker retires it: a runner without a job
  for ``RUNNER_IDLE_S`` is never sent another one, its pipe is closed and it exits, giving its memory back.
  Only the web worker decides, so no job is ever sent to a runner that is exiting; a runner whose web
  worker handles no more requests exits by itself after ``RUNNER_SELF_EXIT_S``.
* A runner keeps at most about ``RUNNER_RETAINED_BYTES`` of freed memory at the top of its heap
  (glibc: big blocks from the heap instead of their own mappings, trimmed only beyond that).
* A runner's job stores the large values it memoised after its answer, in a thread of the lowest
  priority (:func:`~detlens.app.cache.storing_after_answer`): the result is stored first, and the runner
  takes its next job meanwhile. A fresh job process stores them at once, as Dash kills one still
  alive when its result is read.
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import logging
import os
import signal
import stat
import threading
import time
from dataclasses import dataclass, field

from detlens.app.cache import storing_after_answer

LOG = logging.getLogger("detlens.jobs")

RUNNER_PREFIX = "runner-"
RUNNER_IDLE_S = 600.0  # a runner without a job for this long is retired by its web worker
RUNNER_SELF_EXIT_S = 900.0  # ... and exits by itself after this long, its web worker serving no requests
RUNNER_RETAINED_BYTES = 768 * 2**20  # freed memory a runner keeps beyond this is given back
PARENT_CHECK_S = 5.0  # how often an idle runner checks that its web worker still lives
# glibc's mallopt options (malloc.h)
M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_MAX = -1, -2, -4


def retain_freed_memory(retained_bytes: int = RUNNER_RETAINED_BYTES) -> bool:
    """Make this process keep up to ``retained_bytes`` of the memory it frees, for its next allocations.

    glibc gives every block of 32 MB or more its own mapping, unmapped when freed; a 5M-row array is
    such a block. Here big blocks come from the heap (``M_MMAP_MAX`` 0), and the heap's free top is
    given back only when it exceeds ``retained_bytes`` (``M_TRIM_THRESHOLD``), keeping half of it
    (``M_TOP_PAD``). Returns False (nothing changed) where this is not glibc.
    """
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    limit = int(min(retained_bytes, 2**31 - 1))
    return all(mallopt(option, value) == 1
               for option, value in ((M_TRIM_THRESHOLD, limit), (M_TOP_PAD, limit // 2), (M_MMAP_MAX, 0)))


def kill_job_process(pid: int) -> None:
    """SIGKILL a job process's group (the process alone if it has not made its group yet); no wait."""
    with contextlib.suppress(OSError):
        if os.getpgid(pid) == pid:
            os.killpg(pid, signal.SIGKILL)
        else:
            os.kill(pid, signal.SIGKILL)


def marker_key(pid: int) -> str:
    """The shared handle's key of runner ``pid``'s marker."""
    return f"detlens-runner-{int(pid)}"


def parse_handle(job) -> tuple[int, int] | None:
    """``(pid, seq)`` of a runner job's handle; None for any other handle (a pid, the inline answer, junk)."""
    text = str(job)
    if not text.startswith(RUNNER_PREFIX):
        return None
    pid, _, seq = text[len(RUNNER_PREFIX):].partition("-")
    if not (pid.isdigit() and seq.isdigit()) or int(pid) <= 1:
        return None
    return int(pid), int(seq)


@dataclass
class Runner:
    """This web worker's side of one runner: its process and the two pipes (not sockets, so the
    runner's closing of inherited sockets keeps them)."""

    process: object  # multiprocess.Process
    tasks: object  # Connection: jobs to the runner
    done: object  # Connection: the runner's finished seqs
    busy: bool = False
    last_used: float = field(default_factory=time.monotonic)  # when it was last sent a job or started

    @property
    def pid(self) -> int:
        return self.process.pid

    def collect_finished(self) -> None:
        """Read the runner's reports of finished jobs: idle when the last is in."""
        with contextlib.suppress(EOFError, OSError):
            while self.done.poll(0):
                self.done.recv()
                self.busy = False

    def close(self) -> None:
        for end in (self.tasks, self.done):
            with contextlib.suppress(OSError):
                end.close()


def serve_jobs(tasks, done, registry: dict, handle, prepare_process, parent_pid: int,
               idle_s: float = RUNNER_SELF_EXIT_S) -> None:
    """A runner's life: run each job it is sent, report it done, until its web worker goes or it idles.

    Args:
        tasks, done: the runner's ends of its pipes.
        registry: the job functions by key (Dash's ``func_registry``, as forked).
        handle: the shared diskcache handle holding the markers.
        prepare_process: called once first (sockets, process group, job slots; see :mod:`detlens.app.jobs`).
        parent_pid: the web worker's pid: the runner exits when its parent is another process.
    """
    prepare_process()
    retain_freed_memory()
    idle = 0.0
    while idle < idle_s and os.getppid() == parent_pid:
        try:
            if not tasks.poll(min(PARENT_CHECK_S, idle_s)):
                idle += min(PARENT_CHECK_S, idle_s)
                continue
            seq, fn_key, key, progress_key, args, context = tasks.recv()
        except (EOFError, OSError):  # the web worker closed its end
            return
        idle = 0.0
        try:
            with storing_after_answer():  # a large value the job memoised is written after its answer
                registry[fn_key](key, progress_key, args, context)
        except BaseException:  # Dash's job function stores the callback's own errors; anything else is logged
            LOG.exception("background job %s failed in runner %s", fn_key, os.getpid())
        finally:
            if not clear_marker(handle, seq):  # the job would look running for ever: end, so pages see it over
                return
            try:
                done.send(seq)
            except (OSError, ValueError):
                return


def clear_marker(handle, seq: int) -> bool:
    """Delete this runner's marker of job ``seq``; False when it is still there (a cache that cannot be
    written: the runner must exit, so that its job is seen to have ended)."""
    key = marker_key(os.getpid())
    with contextlib.suppress(Exception), handle.transact():
        if (handle.get(key) or (None,))[0] == seq:
            handle.delete(key)
    try:
        return (handle.get(key) or (None,))[0] != seq
    except Exception:
        return False


class JobRunners:
    """This web worker's runners (see the module docstring): starts jobs in them, tells whether one runs, kills it.

    Args:
        handle: the shared diskcache handle (Dash's results; the markers live there too).
        count: runners this web worker keeps at most; 0 runs every job in a fresh process.
        registry: Dash's ``func_registry`` (job functions by key), read at each runner's start.
        prepare_process: what a job process does first (called in the runner).
    """

    def __init__(self, handle, count: int, registry: dict, prepare_process):
        self.handle = handle
        self.count = max(0, int(count))
        self.registry = registry
        self.prepare_process = prepare_process
        self.runners: list[Runner] = []
        self.seqs = itertools.count(1)
        self.lock = threading.Lock()

    def start_job(self, job_fn, key: str, progress_key: str, args, context) -> str | None:
        """Send the job to an idle runner (started if needed): its handle, or None when the caller must run
        it in a fresh process (no runners, a function not registered, every runner busy, a runner gone)."""
        fn_key = next((k for k, fn in list(self.registry.items()) if fn is job_fn), None)
        if fn_key is None or self.count == 0:
            return None
        with self.lock:
            runner = self._idle_runner()
            if runner is None:
                return None
            seq = next(self.seqs)
            self.handle.set(marker_key(runner.pid), (seq, key))
            if self.handle.get(marker_key(runner.pid)) != (seq, key):  # not stored (a read-only cache)
                return None  # no page could tell whether it runs: a fresh process runs it
            try:
                runner.tasks.send((seq, fn_key, key, progress_key, args, context))
            except Exception:  # a runner gone, or arguments that do not pickle: a fresh process runs it
                LOG.warning("background job %s not sent to runner %s", fn_key, runner.pid, exc_info=True)
                self.handle.delete(marker_key(runner.pid))
                self._drop(runner)
                return None
            runner.busy, runner.last_used = True, time.monotonic()
            return f"{RUNNER_PREFIX}{runner.pid}-{seq}"

    def _idle_runner(self) -> Runner | None:
        for runner in list(self.runners):
            if not runner.process.is_alive():
                self._drop(runner)
                continue
            runner.collect_finished()
            if not runner.busy and time.monotonic() - runner.last_used > RUNNER_IDLE_S:
                self._drop(runner)  # retired: its pipe closed, it exits
                continue
            if not runner.busy:
                return runner
        return self._start_runner() if len(self.runners) < self.count else None

    def _start_runner(self) -> Runner | None:
        import multiprocess

        context = multiprocess.get_context("fork")  # the runner must hold this worker's registered callbacks
        tasks_read, tasks_write = context.Pipe(duplex=False)
        done_read, done_write = context.Pipe(duplex=False)
        process = context.Process(target=_runner_main, daemon=False,
                                  args=(tasks_read, done_write, self.registry, self.handle, self.prepare_process,
                                        os.getpid()))
        try:
            process.start()
        except OSError:
            LOG.warning("no runner started", exc_info=True)
            return None
        tasks_read.close()
        done_write.close()
        runner = Runner(process, tasks_write, done_read)
        self.runners.append(runner)
        return runner

    def _drop(self, runner: Runner) -> None:
        runner.close()
        with contextlib.suppress(ValueError):
            self.runners.remove(runner)

    def stop(self) -> None:
        """Kill this worker's runners and wait for them (a worker's exit; tests)."""
        with self.lock:
            for runner in list(self.runners):
                with contextlib.suppress(OSError, ValueError, AttributeError):
                    runner.process.kill()
                    runner.process.join(5)
                self._drop(runner)

    def job_running(self, job) -> bool:
        """Whether runner job ``job`` still computes (any web worker can tell)."""
        from detlens.app.cache import process_alive

        parsed = parse_handle(job)
        if parsed is None:
            return False
        pid, seq = parsed
        marker = self.handle.get(marker_key(pid))
        return (marker is not None and marker[0] == seq and self.handle.get(marker[1]) is None
                and process_alive(pid))

    def terminate_job(self, job) -> None:
        """Kill the runner computing ``job`` (its process group), unless it has stored the result or moved on."""
        parsed = parse_handle(job)
        if parsed is None:
            return
        pid, seq = parsed
        with contextlib.suppress(Exception), self.handle.transact():
            marker = self.handle.get(marker_key(pid))
            if marker is None or marker[0] != seq or self.handle.get(marker[1]) is not None:
                return
            self.handle.delete(marker_key(pid))
            kill_job_process(pid)


def detach_inherited_pipes(keep: set[int]) -> None:
    """Point every pipe this process inherited (but standard input and output and ``keep``) at /dev/null.

    A runner lives long: holding a copy of another process's pipe would keep its reader waiting for an
    end that never comes (a browser driver's, a test runner's). The descriptors stay open on /dev/null,
    so whatever object owned one can still close it without closing another file.
    """
    if not os.path.isdir("/proc/self/fd"):
        return
    null = os.open(os.devnull, os.O_RDWR)
    try:
        for name in os.listdir("/proc/self/fd"):
            fd = int(name)
            if fd <= 2 or fd == null or fd in keep:
                continue
            with contextlib.suppress(OSError):
                if stat.S_ISFIFO(os.fstat(fd).st_mode):
                    os.dup2(null, fd)
    finally:
        os.close(null)


def _runner_main(tasks, done, registry, handle, prepare_process, parent_pid) -> None:
    # every other pipe, this web worker's ends of this runner's and of the others' among them: held here,
    # they would keep a tasks pipe open after the web worker is gone
    detach_inherited_pipes({tasks.fileno(), done.fileno()})
    serve_jobs(tasks, done, registry, handle, prepare_process, parent_pid)
