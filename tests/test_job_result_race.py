"""A job's update is never lost to a race between a page's poll and the job (app/jobs.py, app/celery_jobs.py).

Dash's poll reads a job's result, then asks whether the job still runs; when
neither, the page gets 204 and never the chart. Here the job "ends" exactly in
that gap: its result appears right after the first read misses, and the
process (or Celery task) is over. bench_load.py found this on a loaded machine
(one update in a few hundred, with the Celery manager).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import diskcache
import pytest

from detlens.app.cache import SharedCache
from detlens.app.job_runners import RUNNER_PREFIX
from detlens.app.jobs import BackgroundJobs, code_version

KEY, RESULT = "result-key", {"multi": True, "figure": [1, 2, 3]}


class EndsAfterFirstMiss(diskcache.Cache):
    """A cache whose job stores ``RESULT`` under ``KEY`` just after a reader first missed it."""

    ended = False

    def get(self, key, default=None, *args, **kwargs):
        value = super().get(key, default, *args, **kwargs)
        if key == KEY and value is default and not self.ended:
            self.ended = True
            self.set(KEY, RESULT)
        return value


def ended_pid() -> str:
    """The pid of a process that has ended (and was reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return str(proc.pid)


def diskcache_manager(handle: diskcache.Cache, tmp_path) -> BackgroundJobs:
    return BackgroundJobs(handle, 1, SharedCache(tmp_path / "cache"), cache_by=[code_version], expire=60)


def ended_runner_job() -> str:
    """The handle of a runner's job that has ended: its runner (a process that has ended) holds no marker."""
    return f"{RUNNER_PREFIX}{ended_pid()}-1"


ENDED_JOBS = pytest.mark.parametrize("ended_job", [ended_pid, ended_runner_job], ids=["process", "runner"])


@ENDED_JOBS
def test_diskcache_result_stored_as_the_job_ends_is_read(tmp_path, ended_job):
    manager = diskcache_manager(EndsAfterFirstMiss(str(tmp_path / "callbacks")), tmp_path)
    assert manager.get_result(KEY, ended_job()) == RESULT


@ENDED_JOBS
def test_diskcache_job_that_ended_without_a_result_is_no_update_after_the_grace(tmp_path, ended_job):
    manager = diskcache_manager(diskcache.Cache(str(tmp_path / "callbacks")), tmp_path)
    manager.result_grace_s = 0.3
    job = ended_job()
    assert manager.get_result(KEY, job) is manager.UNDEFINED
    assert manager.job_running(job)  # the page polls on for a moment
    time.sleep(0.35)
    assert manager.get_result(KEY, job) is manager.UNDEFINED and not manager.job_running(job)  # then 204


def test_celery_task_over_before_its_result_can_be_read_keeps_the_page_polling(tmp_path):
    """Seen under load: the task's state reads SUCCESS, its result key a moment later."""
    pytest.importorskip("celery")
    from detlens.app.celery_jobs import celery_manager
    from detlens.app.config import ServeConfig
    from tests.services import running_redis

    with running_redis(tmp_path) as url:
        manager = celery_manager(ServeConfig(cache_dir=tmp_path / "cache", broker=url))
        backend = manager.handle.backend
        backend.store_result("task-2", None, "SUCCESS")  # the task is over, its result not there yet
        assert manager.get_result(KEY, "task-2") is manager.UNDEFINED
        assert manager.job_running("task-2")  # so Dash does not answer 204
        backend.set(KEY, json.dumps(RESULT))
        assert manager.get_result(KEY, "task-2") == RESULT  # the next poll has it
        assert "task-2" not in manager.awaited


def test_celery_result_stored_as_the_task_ends_is_read(tmp_path, monkeypatch):
    pytest.importorskip("celery")
    from detlens.app.celery_jobs import celery_manager
    from detlens.app.config import ServeConfig
    from tests.services import running_redis

    with running_redis(tmp_path) as url:
        manager = celery_manager(ServeConfig(cache_dir=tmp_path / "cache", broker=url))
        backend = manager.handle.backend
        backend.store_result("task-1", None, "SUCCESS")  # the task is over
        first_read = backend.get

        def ends_after_first_miss(key):
            value = first_read(key)
            if key == KEY and value is None and not backend.get(b"ended"):
                backend.set(b"ended", b"1")
                backend.set(KEY, json.dumps(RESULT))
            return value
        monkeypatch.setattr(backend, "get", ends_after_first_miss)
        assert manager.get_result(KEY, "task-1") == RESULT


def test_celery_jobs_are_revoked_never_terminated(tmp_path, monkeypatch):
    """Celery's terminate signals the pool process, which may run another page's task by then."""
    pytest.importorskip("celery")
    from detlens.app.celery_jobs import celery_manager
    from detlens.app.config import ServeConfig

    manager = celery_manager(ServeConfig(cache_dir=tmp_path / "cache", broker="redis://127.0.0.1:1/0"))
    sent = []
    monkeypatch.setattr(manager.handle.control, "revoke", lambda task_id, **options: sent.append((task_id, options)))
    manager.terminate_job("task-1")
    manager.terminate_job(None)
    assert sent == [("task-1", {})]


def test_diskcache_job_ending_between_dashs_two_process_checks_is_not_running(tmp_path, monkeypatch):
    """Dash checks that the pid exists, then opens it; the job may end in between (seen under load: a 400)."""
    import psutil

    manager = diskcache_manager(diskcache.Cache(str(tmp_path / "callbacks")), tmp_path)
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert manager.job_running(str(alive.pid))

        def ended(pid):
            raise psutil.NoSuchProcess(pid)
        monkeypatch.setattr(psutil, "Process", ended)  # the OS's answer when the job ends in between
        assert manager.job_running(str(alive.pid)) is False
        assert manager.get_result(KEY, str(alive.pid)) is manager.UNDEFINED
    finally:
        alive.kill()
        alive.wait()
