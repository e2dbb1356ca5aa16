"""Background jobs: a bounded number compute at once, results are shared between pages, not consumed, and a
callback whose results are all cached is answered without one."""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
import time

import diskcache
import psutil
import pytest

from detlens.app.cache import (LOWEST_PRIORITY, MISSING, ComputationNeeded, Entry, SharedCache, answering_from_cache,
                               cache_key, store_pending, storing_after_answer)
from detlens.app.config import ServeConfig
from detlens.app.jobs import INLINE_JOB, JobSlots, background_manager, output_ids
from detlens.layouts import ids


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


def test_waiting_until_no_slot_is_held_ends_when_the_holders_end_or_at_the_timeout(handle):
    slots = JobSlots(handle, 2)
    assert slots.wait_until_none_held(0.0)  # none held
    alive = subprocess.Popen(["sleep", "30"])
    try:
        handle.add(slots.keys[1], alive.pid)
        started = time.monotonic()
        assert not slots.wait_until_none_held(0.3)
        assert time.monotonic() - started >= 0.3
        threading.Timer(0.3, alive.kill).start()  # the holder dies: its slot is free
        assert slots.wait_until_none_held(30.0)
    finally:
        alive.kill()
        alive.wait()


def test_a_value_stored_after_the_answer_waits_for_the_jobs_computing(tmp_path, handle):
    """A job's process waits for the host's job slots before writing (prepare_job_process sets it so)."""
    cache, slots = SharedCache(tmp_path), JobSlots(handle, 1)
    cache.wait_before_storing = lambda: slots.wait_until_none_held(30.0)
    holder = subprocess.Popen(["sleep", "30"])
    try:
        handle.add(slots.keys[0], holder.pid)  # another page's job computes
        with storing_after_answer():
            cache.memo("match", lambda: "value", store_after_answer=True)
        time.sleep(0.5)
        assert cache.results.get("match", default=MISSING) is MISSING
    finally:
        holder.kill()
        holder.wait()
    assert wait_until(lambda: cache.results.get("match", default=None) == "value")


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


def wait_until(predicate, seconds: float = 30.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def test_a_value_stored_after_the_answer_is_stored_when_the_block_ends_and_computed_once_in_it(tmp_path):
    cache, computed = SharedCache(tmp_path), []

    def compute():
        computed.append(1)
        return "match"
    with storing_after_answer():
        assert cache.memo("match", compute, store_after_answer=True) == "match"
        assert cache.memo("match", compute, store_after_answer=True) == "match"  # kept for the block
        assert cache.results.get("match", default=MISSING) is MISSING  # not written before the answer
        assert cache.memo("small", lambda: 1) == 1 and cache.results.get("small") == 1  # any other: at once
    assert computed == [1] and wait_until(lambda: cache.results.get("match") == "match")
    assert cache.memo("match", lambda: pytest.fail("computed again"), store_after_answer=True) == "match"


class PicklingPriority:
    """A value that notes the niceness of the thread that pickles it (stores it)."""

    seen: list[int] = []

    def __reduce__(self):
        self.seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        return PicklingPriority, ()


def test_the_values_are_stored_by_a_thread_of_the_lowest_priority(tmp_path):
    cache = SharedCache(tmp_path)
    with storing_after_answer():
        cache.memo("match", PicklingPriority, store_after_answer=True)
    assert wait_until(lambda: cache.results.get("match", default=None) is not None)
    assert PicklingPriority.seen == [LOWEST_PRIORITY]
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) != LOWEST_PRIORITY  # this thread is not


def test_outside_a_job_a_value_stored_after_the_answer_is_memoised_at_once(tmp_path):
    cache = SharedCache(tmp_path)
    assert cache.memo("match", lambda: "match", store_after_answer=True) == "match"
    assert cache.results.get("match") == "match"


def test_in_a_job_a_value_another_process_computes_is_computed_here_rather_than_waited_for(tmp_path):
    """Another live process holds the value's lock (computing it): the job computes it at once and, when the
    block ends, leaves the storing to that process; a value stored meanwhile is not written again."""
    cache = SharedCache(tmp_path)
    lock = cache_key(Entry.LOCK, "match")
    holder = subprocess.Popen(["sleep", "60"])
    try:
        assert cache.data.add(lock, holder.pid)
        started = time.monotonic()
        with storing_after_answer():
            assert cache.memo("match", lambda: "here", store_after_answer=True) == "here"
        assert time.monotonic() - started < 5  # memo's own lock would wait for the holder (600 s)
        assert cache.results.get("match", default=MISSING) is MISSING
    finally:
        holder.kill()
        holder.wait()
    cache.data.delete(lock)
    with storing_after_answer():
        cache.memo("other", lambda: "computed", store_after_answer=True)
        cache.results.set("other", "stored meanwhile")
    store_pending({"other": (cache, "computed")})  # what the block's thread does
    assert cache.results.get("other") == "stored meanwhile"
    assert cache.store_unless_there("third", 3) and cache.results.get("third") == 3
    assert cache.data.get(cache_key(Entry.LOCK, "third")) is None  # the lock is given back


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


def cached_or_computed(key, progress_key, args, context):
    """A dashboard callback as Dash's job runs it: reads ``value-<key>`` through the shared cache's memo (its
    own errors caught, as callbacks show them on the page), stores what it answered and in which process."""
    shared = args[0]
    try:
        value = shared.memo(f"value-{key}", lambda: key.upper())
    except Exception as exc:  # a callback's own error handling must not swallow the request for a job
        value = f"error {exc!r}"
    diskcache.Cache(str(shared.cache_dir / "callbacks")).set(key, (value, os.getpid()))


def named(output_id: str) -> dict:
    """Dash's context of a callback writing ``output_id`` (its ``outputs_list``, nested as Dash nests it)."""
    return {"outputs_list": [{"id": output_id, "property": "children"}, [{"id": "other", "property": "figure"}]]}


def test_a_callback_whose_results_are_cached_is_answered_without_a_job(tmp_path):
    cache = SharedCache(tmp_path)
    manager = background_manager(ServeConfig(cache_dir=tmp_path), cache)
    cache.memo("value-cached", lambda: "CACHED")
    job = manager.call_job_fn("cached", cached_or_computed, (cache,), named(ids.MAP_VALUE))
    assert job == INLINE_JOB and manager.handle.get("cached") == ("CACHED", os.getpid())  # here, at once
    assert not manager.job_running(job)
    manager.terminate_job(job)  # nothing to kill: this process lives on
    assert manager.get_result("cached", job) == ("CACHED", os.getpid())


def test_a_callback_with_a_result_to_compute_gets_a_job(tmp_path):
    cache = SharedCache(tmp_path)
    manager = background_manager(ServeConfig(cache_dir=tmp_path), cache)
    job = manager.call_job_fn("fresh", cached_or_computed, (cache,), named(ids.IMPORTANCE_GRAPH))
    assert job != INLINE_JOB and manager.handle.get("fresh") is None  # nothing stored by the attempt here
    value, pid = wait_for(manager.handle, "fresh", 60)
    assert value == "FRESH" and pid == int(job) != os.getpid()
    assert cache.memo("value-fresh", lambda: pytest.fail("computed again")) == "FRESH"


@pytest.mark.parametrize("output_id", [ids.EXPLORER_DOWNLOAD, "not-a-dashboard-output"])
def test_a_callback_not_answered_from_cache_always_gets_a_job(tmp_path, output_id):
    """The exports build files: never in the web process, even when everything they read is cached."""
    cache = SharedCache(tmp_path)
    manager = background_manager(ServeConfig(cache_dir=tmp_path), cache)
    cache.memo("value-export", lambda: "EXPORT")
    job = manager.call_job_fn("export", cached_or_computed, (cache,), named(output_id))
    assert job != INLINE_JOB
    assert wait_for(manager.handle, "export", 60) == ("EXPORT", int(job))


def test_computation_needed_passes_a_callbacks_own_error_handling(tmp_path):
    cache = SharedCache(tmp_path)
    with pytest.raises(ComputationNeeded), answering_from_cache():
        try:
            cache.memo("missing", lambda: pytest.fail("computed while answering from cache"))
        except Exception:
            pytest.fail("caught as an error")
    assert cache.memo("missing", lambda: 7) == 7  # outside the block it computes
    with answering_from_cache():
        assert cache.memo("missing", lambda: pytest.fail("computed")) == 7


@pytest.mark.parametrize("outputs, expected", [
    ({}, set()), ({"outputs_list": {"id": "a", "property": "x"}}, {"a"}),
    ({"outputs_list": [{"id": "a"}, [{"id": "b"}, {"id": {"type": "t", "row": 1}}]]}, {"a", "b"}),
])
def test_output_ids_of_a_callback_context(outputs, expected):
    assert output_ids(outputs) == expected
