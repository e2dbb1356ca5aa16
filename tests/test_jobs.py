"""Background jobs: a bounded number compute at once, results are shared between pages, not consumed."""

from __future__ import annotations

import subprocess

import diskcache
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
