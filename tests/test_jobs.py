"""Background jobs: a bounded number compute at once, results are shared between pages, not consumed."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time

import diskcache
import psutil
import pytest

from detlens.app.cache import SharedCache
from detlens.app.config import ServeConfig
from detlens.app.jobs import JobSlots, background_manager


@pytest.fixture
def handle(tmp_path):
    cache = diskcache.Cache(str(tmp_path / "callbacks"))
    yield cache
    cache.close()


def test_at_most_count_slots_are_held_and_a_released_one_is_reused(handle):
    slots = JobSlots(handle, 2)
    first, second = slots.acquire(block=False), slots.acquire(block=False)
    assert first and second and first != second
    assert slots.acquire(block=False) is None  # both taken: a third job waits
    slots.release(first)
    assert slots.acquire(block=False) == first


def test_the_slot_of_a_dead_job_is_taken_over(handle):
    slots = JobSlots(handle, 1)
    dead = subprocess.Popen(["true"])
    dead.wait()
    handle.add(slots.keys[0], dead.pid)
    assert slots.acquire(block=False) == slots.keys[0]
    assert handle.get(slots.keys[0]) != dead.pid


def test_a_slot_held_by_a_live_process_is_not_taken(handle):
    slots = JobSlots(handle, 1)
    alive = subprocess.Popen(["sleep", "30"])
    try:
        handle.add(slots.keys[0], alive.pid)
        assert slots.acquire(block=False) is None
        slots.release(slots.keys[0])  # not ours: left alone
        assert handle.get(slots.keys[0]) == alive.pid
    finally:
        alive.kill()
        alive.wait()


def test_held_frees_its_slot_after_an_error(handle):
    slots = JobSlots(handle, 1)
    with pytest.raises(RuntimeError):
        with slots.held():
            raise RuntimeError("job failed")
    assert slots.acquire(block=False) == slots.keys[0]


def test_results_are_kept_after_a_read_so_every_page_gets_them(tmp_path):
    """Two pages asking the same question share one result key: the first read must not delete it."""
    manager = background_manager(ServeConfig(cache_dir=tmp_path, max_jobs=3), SharedCache(tmp_path))
    assert manager.slots.keys and len(manager.slots.keys) == 3
    manager.handle.set("result-key", {"figure": 1})
    assert manager.get_result("result-key", None) == {"figure": 1}
    assert manager.get_result("result-key", None) == {"figure": 1}  # a second page reads it too


def test_held_is_reentrant_and_frees_the_slot_when_the_outer_block_ends(handle):
    slots = JobSlots(handle, 1)
    with slots.held() as outer:
        with slots.held() as inner:  # a memoised result computed inside another one
            assert inner == outer
        assert handle.get(outer) is not None  # still held by the outer block
    assert slots.acquire(block=False) == slots.keys[0]


class Gate:
    """A compute gate that counts how often it is entered."""

    def __init__(self):
        self.entered = 0

    @contextlib.contextmanager
    def __call__(self):
        self.entered += 1
        yield


def test_memo_computes_under_the_gate_and_answers_cached_values_without_it(tmp_path):
    cache = SharedCache(tmp_path)
    cache.compute_gate = gate = Gate()
    assert cache.memo("outer", lambda: cache.memo("inner", lambda: 2) + 1) == 3
    assert gate.entered == 2  # both computations; a re-entrant gate keeps one slot for them
    assert cache.memo("outer", lambda: pytest.fail("computed again")) == 3
    assert gate.entered == 2  # a cached answer never waits for a slot


def store_result(key, progress_key, args, context):
    """A background job as Dash's: ``args`` is (the server's shared cache, as forked, and whether the job
    computes); the result goes to ``key``."""
    shared, computes = args
    value = shared.memo(f"value-{key}", lambda: key.upper()) if computes else "no update"
    diskcache.Cache(str(shared.cache_dir / "callbacks")).set(key, value)


def wait_for(handle, key: str, seconds: float):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if handle.get(key) is not None:
            return handle.get(key)
        time.sleep(0.05)
    return None


def test_only_a_job_that_computes_waits_for_a_slot(tmp_path):
    """Every slot is held by a live process: a job answering without computing ends at once, one that
    computes waits until a slot is freed, then ends."""
    cache = SharedCache(tmp_path)
    manager = background_manager(ServeConfig(cache_dir=tmp_path, max_jobs=1), cache)
    holder = subprocess.Popen(["sleep", "60"])
    try:
        manager.handle.add(manager.slots.keys[0], holder.pid)
        manager.call_job_fn("quick", store_result, (cache, False), {})
        computing = manager.call_job_fn("heavy", store_result, (cache, True), {})
        assert wait_for(manager.handle, "quick", 60) == "no update"
        assert manager.handle.get("heavy") is None and manager.job_running(computing)  # waits for the slot
        holder.kill()
        holder.wait()  # its slot is taken over
        assert wait_for(manager.handle, "heavy", 60) == "HEAVY"
    finally:
        holder.kill()
        holder.wait()


def start_child_and_wait(key, progress_key, args, context):
    """A job that starts a child process and waits for it (a job killed must not leave it behind)."""
    child = subprocess.Popen(["sleep", "60"])
    diskcache.Cache(args[0]).set(key, child.pid)
    child.wait()


def test_terminating_a_job_kills_what_it_started(tmp_path):
    manager = background_manager(ServeConfig(cache_dir=tmp_path), SharedCache(tmp_path))
    job = manager.call_job_fn("job", start_child_and_wait, (str(tmp_path / "callbacks"),), {})
    child = wait_for(manager.handle, "job", 60)
    assert child is not None and psutil.pid_exists(child)
    manager.terminate_job(str(job))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (manager.job_running(job) or psutil.pid_exists(child)):
        time.sleep(0.05)
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(child, os.WNOHANG)  # reaped by init in a container without one: ignore
    assert not manager.job_running(job)
    assert not psutil.pid_exists(child) or psutil.Process(child).status() == psutil.STATUS_ZOMBIE
