"""Long-lived job runners: jobs run one after another in the same process, which keeps the memory they freed;
a busy, missing or killed runner never loses a job, and a handle is killed only while its job runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import diskcache
import psutil
import pytest

from detlens.app.cache import SharedCache, process_alive
from detlens.app.config import ServeConfig
from detlens.app.job_runners import RUNNER_IDLE_S, RUNNER_PREFIX, marker_key, parse_handle, serve_jobs
from detlens.app.jobs import background_manager
from tests.test_jobs import wait_for, wait_until

MB = 2**20


def store_pid(key, progress_key, args, context):
    """A job: stores ``(its pid, its argument)`` under its key, as Dash's job function stores a result."""
    diskcache.Cache(args[0]).set(key, (os.getpid(), args[1]))


def wait_for_file(key, progress_key, args, context):
    """A job that computes until the file ``args[1]`` exists, then stores its pid."""
    while not os.path.exists(args[1]):
        time.sleep(0.02)
    diskcache.Cache(args[0]).set(key, (os.getpid(), "waited"))


def start_child_and_wait(key, progress_key, args, context):
    """A job that starts a child process, says so, and waits for it (killing the job must kill it)."""
    child = subprocess.Popen(["sleep", "60"])
    diskcache.Cache(args[0]).set(f"{key}-child", child.pid)
    child.wait()


def free_memory_and_measure(key, progress_key, args, context):
    """A job that allocates 200 MB, frees it, and stores its resident size afterwards (bytes)."""
    import numpy as np

    block = np.ones(25_000_000)
    del block
    diskcache.Cache(args[0]).set(key, resident_bytes())


def resident_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def memoise_after_answer(key, progress_key, args, context):
    """A job memoising a large value (a match) in the cache folder ``args[0]``; its result is what the cache held
    under that value's key when the job answered."""
    shared = SharedCache(args[0])
    shared.memo("after-answer", lambda: "value", store_after_answer=True)
    diskcache.Cache(args[1]).set(key, ("answered", shared.results.get("after-answer", default=None)))


JOBS = {"store_pid": store_pid, "wait_for_file": wait_for_file, "start_child_and_wait": start_child_and_wait,
        "free_memory_and_measure": free_memory_and_measure, "memoise_after_answer": memoise_after_answer}


@pytest.fixture
def manager_of(tmp_path):
    """``manager_of(runners)``: a diskcache manager with the test jobs registered as Dash registers callbacks;
    its runners are killed after the test."""
    made = []

    def make(runners: int = 1, max_jobs: int = 2):
        manager = background_manager(ServeConfig(cache_dir=tmp_path, job_runners=runners, max_jobs=max_jobs),
                                     SharedCache(tmp_path))
        manager.func_registry.update(JOBS)
        made.append(manager)
        return manager
    yield make
    for manager in made:
        manager.runners.stop()


def callbacks_dir(manager) -> str:
    return str(manager.handle.directory)


def test_jobs_run_one_after_another_in_the_same_runner(manager_of):
    manager = manager_of(runners=1)
    first = manager.call_job_fn("first", store_pid, (callbacks_dir(manager), 1), {})
    assert str(first).startswith(RUNNER_PREFIX)
    pid, value = wait_for(manager.handle, "first", 30)
    assert value == 1 and pid != os.getpid() and str(first) == f"{RUNNER_PREFIX}{pid}-1"
    assert wait_until(lambda: not manager.job_running(first))
    second = manager.call_job_fn("second", store_pid, (callbacks_dir(manager), 2), {})
    assert wait_for(manager.handle, "second", 30) == (pid, 2)  # the same process, kept alive
    assert parse_handle(second)[0] == pid and second != first
    assert psutil.Process(pid).status() != psutil.STATUS_ZOMBIE


@pytest.mark.parametrize("runners, at_answer", [(1, None), (0, "value")])
def test_a_runners_job_stores_its_large_values_after_its_answer(manager_of, tmp_path, runners, at_answer):
    """In a runner the value is written after the job's result (so the page is not kept waiting for the write);
    a fresh job process, which Dash kills once its result is read, writes it at once."""
    manager = manager_of(runners=runners)
    job = manager.call_job_fn("job", memoise_after_answer, (str(tmp_path), callbacks_dir(manager)), {})
    assert str(job).startswith(RUNNER_PREFIX) == bool(runners)
    assert wait_for(manager.handle, "job", 30) == ("answered", at_answer)
    assert wait_until(lambda: SharedCache(tmp_path).results.get("after-answer") == "value")


def test_a_busy_runner_leaves_the_next_job_to_a_fresh_process(manager_of, tmp_path):
    manager = manager_of(runners=1)
    release = tmp_path / "release"
    busy = manager.call_job_fn("busy", wait_for_file, (callbacks_dir(manager), str(release)), {})
    other = manager.call_job_fn("other", store_pid, (callbacks_dir(manager), "fresh"), {})
    assert parse_handle(busy) is not None and parse_handle(other) is None
    fresh_pid, value = wait_for(manager.handle, "other", 30)
    assert value == "fresh" and fresh_pid == int(other) != parse_handle(busy)[0]
    assert manager.job_running(busy)
    release.touch()
    assert wait_for(manager.handle, "busy", 30) == (parse_handle(busy)[0], "waited")
    assert wait_until(lambda: not manager.job_running(busy))


@pytest.mark.parametrize("runners, registered", [(0, True), (1, False)])
def test_without_runners_or_for_an_unregistered_function_a_job_gets_a_fresh_process(manager_of, runners,
                                                                                     registered):
    manager = manager_of(runners=runners)
    job_fn = store_pid if registered else (lambda *a: store_pid(*a))
    job = manager.call_job_fn("job", job_fn, (callbacks_dir(manager), "x"), {})
    assert parse_handle(job) is None
    assert wait_for(manager.handle, "job", 30) == (int(job), "x")


def test_arguments_that_cannot_be_sent_run_in_a_fresh_process(manager_of):
    manager = manager_of(runners=1)
    unsendable = (x for x in range(3))  # a generator does not pickle
    job = manager.call_job_fn("job", store_pid, (callbacks_dir(manager), "unsent", unsendable), {})
    assert parse_handle(job) is None
    assert wait_for(manager.handle, "job", 30) == (int(job), "unsent")  # forked: the arguments as they were


def test_killing_a_running_job_kills_its_runner_and_what_it_started_then_a_new_runner_serves(manager_of):
    manager = manager_of(runners=1)
    job = manager.call_job_fn("job", start_child_and_wait, (callbacks_dir(manager),), {})
    child = wait_for(manager.handle, "job-child", 30)
    runner_pid = parse_handle(job)[0]
    assert manager.job_running(job)
    manager.terminate_job(job)
    assert wait_until(lambda: not process_alive(child))
    assert not manager.job_running(job)
    assert wait_until(lambda: not manager.runners.runners[0].process.is_alive())
    after = manager.call_job_fn("after", store_pid, (callbacks_dir(manager), "after"), {})
    pid, _ = wait_for(manager.handle, "after", 30)
    assert parse_handle(after) == (pid, parse_handle(after)[1]) and pid != runner_pid


def test_a_runner_idle_too_long_is_retired_and_the_job_goes_to_a_new_one(manager_of):
    manager = manager_of(runners=1)
    manager.call_job_fn("first", store_pid, (callbacks_dir(manager), 1), {})
    old_pid, _ = wait_for(manager.handle, "first", 30)
    old = manager.runners.runners[0]
    assert wait_until(lambda: old.done.poll(0))  # it has reported the job done
    old.last_used -= RUNNER_IDLE_S + 1
    manager.call_job_fn("second", store_pid, (callbacks_dir(manager), 2), {})
    new_pid, _ = wait_for(manager.handle, "second", 30)
    assert new_pid != old_pid and [r.pid for r in manager.runners.runners] == [new_pid]
    old.process.join(10)  # its pipe closed, it exits
    assert old.process.exitcode == 0


class SkipsMarkerWrites(diskcache.Cache):
    """A handle on which a runner's marker is not stored, or not deleted, as on a cache made read-only."""

    skip = "set"

    def set(self, key, *args, **kwargs):
        if self.skip == "set" and str(key).startswith("detlens-runner-"):
            return None
        return super().set(key, *args, **kwargs)

    def delete(self, key, *args, **kwargs):
        if self.skip == "delete" and str(key).startswith("detlens-runner-"):
            return False
        return super().delete(key, *args, **kwargs)


def test_a_marker_that_is_not_stored_sends_the_job_to_a_fresh_process(manager_of):
    manager = manager_of(runners=1)
    manager.runners.handle = SkipsMarkerWrites(callbacks_dir(manager))
    job = manager.call_job_fn("job", store_pid, (callbacks_dir(manager), "x"), {})
    assert parse_handle(job) is None  # a runner's job no page could see running
    assert wait_for(manager.handle, "job", 30) == (int(job), "x")


def test_a_runner_that_cannot_clear_its_marker_exits_so_its_job_is_seen_over(manager_of):
    manager = manager_of(runners=1)
    manager.runners.handle = SkipsMarkerWrites(callbacks_dir(manager))
    manager.runners.handle.skip = "delete"
    job = manager.call_job_fn("job", free_memory_and_measure, (callbacks_dir(manager),), {})
    runner = manager.runners.runners[0]
    runner.process.join(30)
    assert runner.process.exitcode == 0 and manager.handle.get(marker_key(runner.pid)) is not None
    manager.handle.delete("job")  # as if its result could not be stored either
    assert not manager.runners.job_running(job)  # its runner is gone: the page gets its 204 after the grace
    after = manager.call_job_fn("after", store_pid, (callbacks_dir(manager), "after"), {})
    assert wait_for(manager.handle, "after", 30)[0] == parse_handle(after)[0] != runner.pid


def test_a_runner_holds_no_pipe_it_inherited(manager_of):
    """A pipe of this process (as a browser driver's) reaches its end when this process closes it, although a
    runner was forked while it was open."""
    import select

    read_end, write_end = os.pipe()
    try:
        manager = manager_of(runners=1)
        manager.call_job_fn("job", store_pid, (callbacks_dir(manager), "x"), {})
        runner_pid, _ = wait_for(manager.handle, "job", 30)
        assert process_alive(runner_pid)
        os.close(write_end)
        write_end = None
        readable, _, _ = select.select([read_end], [], [], 10)
        assert readable and os.read(read_end, 1) == b""  # the end: no runner holds the write end
    finally:
        os.close(read_end)
        if write_end is not None:
            os.close(write_end)


def test_a_finished_jobs_handle_does_not_kill_the_runner_serving_the_next_job(manager_of, tmp_path):
    manager = manager_of(runners=1)
    first = manager.call_job_fn("first", store_pid, (callbacks_dir(manager), 1), {})
    pid, _ = wait_for(manager.handle, "first", 30)
    assert wait_until(lambda: not manager.job_running(first))
    release = tmp_path / "release"
    second = manager.call_job_fn("second", wait_for_file, (callbacks_dir(manager), str(release)), {})
    assert parse_handle(second)[0] == pid
    manager.terminate_job(first)  # a page's old handle, sent after the job ended
    release.touch()
    assert wait_for(manager.handle, "second", 30) == (pid, "waited")


@pytest.mark.parametrize("marker, result_stored, alive, running", [
    ((7, "key"), False, True, True),
    ((7, "key"), True, True, False),  # result stored, marker not cleared yet: ended (never killed)
    ((8, "key"), False, True, False),  # the runner has moved on to another job
    (None, False, True, False),  # no marker: finished
    ((7, "key"), False, False, False),  # the runner died
])
def test_a_runner_job_runs_while_its_runner_lives_holds_its_marker_and_has_no_result(
        manager_of, marker, result_stored, alive, running):
    manager = manager_of(runners=1)
    process = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        if not alive:
            process.kill()
            process.wait()
        if marker is not None:
            manager.handle.set(marker_key(process.pid), marker)
        if result_stored:
            manager.handle.set("key", "result")
        job = f"{RUNNER_PREFIX}{process.pid}-7"
        assert manager.job_running(job) is running
        manager.terminate_job(job)  # kills only a running job
        assert (process.poll() is None if alive and not running else process.wait(10) is not None)
    finally:
        process.kill()
        process.wait()


@pytest.mark.parametrize("handle, parsed", [
    ("runner-1234-5", (1234, 5)), ("runner-1-5", None), ("runner-0-5", None), ("1234", None), ("inline", None),
    ("runner-abc-5", None), ("runner-1234-", None), ("runner--1234-5", None), (None, None), (4321, None),
])
def test_parse_handle(handle, parsed):
    assert parse_handle(handle) == parsed


def test_a_runner_exits_when_its_web_worker_is_killed(tmp_path):
    """The web worker (a separate process here) is SIGKILLed: its runner sees its pipe end and exits."""
    script = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(os.getcwd())!r})
        from detlens.app.cache import SharedCache, process_alive
        from detlens.app.config import ServeConfig
        from detlens.app.jobs import background_manager
        from tests.test_job_runners import JOBS, store_pid
        folder = {str(tmp_path)!r}
        manager = background_manager(ServeConfig(cache_dir=folder, job_runners=1), SharedCache(folder))
        manager.func_registry.update(JOBS)
        manager.call_job_fn("job", store_pid, (str(manager.handle.directory), "x"), {{}})
        print("started", flush=True)
        time.sleep(120)
    """)
    worker = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert worker.stdout.readline().strip() == "started"
        handle = diskcache.Cache(str(tmp_path / "callbacks"))
        runner_pid, _ = wait_for(handle, "job", 30)
        assert psutil.pid_exists(runner_pid)
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        assert wait_until(lambda: not process_alive(runner_pid), 15)
    finally:
        worker.kill()
        worker.wait()


def test_an_idle_runner_exits(tmp_path):
    """``serve_jobs`` returns after ``idle_s`` without a job (here in a thread, with a short idle time)."""
    import multiprocess

    tasks_read, tasks_write = multiprocess.Pipe(duplex=False)
    done_read, done_write = multiprocess.Pipe(duplex=False)
    handle = diskcache.Cache(str(tmp_path / "callbacks"))
    thread = threading.Thread(target=serve_jobs, args=(tasks_read, done_write, JOBS, handle, lambda: None,
                                                        os.getppid(), 0.3), daemon=True)
    thread.start()
    tasks_write.send((1, "store_pid", "job", "progress", (str(tmp_path / "callbacks"), "x"), {}))
    assert done_read.recv() == 1 and handle.get("job") == (os.getpid(), "x")
    thread.join(10)
    assert not thread.is_alive()


@pytest.mark.parametrize("retain", [True, False])
def test_a_process_that_retains_freed_memory_keeps_it(retain):
    """200 MB freed: kept resident with :func:`retain_freed_memory` (a runner), given back without."""
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(os.getcwd())!r})
        from detlens.app.job_runners import retain_freed_memory
        from tests.test_job_runners import free_memory_and_measure, resident_bytes
        if {retain}:
            assert retain_freed_memory()
        import numpy as np
        before = resident_bytes()
        block = np.ones(25_000_000)
        del block
        print(resident_bytes() - before)
    """)
    kept = int(subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout)
    assert (kept > 150 * MB) if retain else (kept < 50 * MB)


def test_a_runner_keeps_the_memory_its_job_freed(manager_of):
    manager = manager_of(runners=1)
    manager.call_job_fn("job", free_memory_and_measure, (callbacks_dir(manager),), {})
    assert wait_for(manager.handle, "job", 60) > 200 * MB
