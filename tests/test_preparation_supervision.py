"""The preparation process is supervised: its death is reported on the page with a retry, and it never outlives
the server that started it, its pixel workers included.

Each preparation here is caught in its pixel pass with its workers running,
whatever the machine's speed (:mod:`tests.stuck_source`).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest

from detlens.app.cache import SharedCache
from detlens.app.preparation import start_preparation
from detlens.app.queries import Queries, ViewParams
from detlens.callbacks.shell import SHOWN, poll_preparation, retry_preparation
from detlens.core.evaluation import Evaluator
from detlens.core.io import load_dataset
from detlens.core.settings import STATUS_POLL_MS
from tests.browser.conftest import free_port
from tests.stuck_source import (PIXEL_STEP, all_gone, serve_command, stuck_source, unblock,
                                 wait_for_pixel_workers)

ROOT = Path(__file__).resolve().parents[1]
DEATH_REPORTED_S = 5  # the page says the preparation died within this long (the requirement)
READY_TIMEOUT_S = 180


def test_a_killed_preparation_is_reported_and_a_retry_completes(tmp_path):
    stuck = stuck_source(tmp_path / "demo")
    source_id = stuck.source.source_id()
    queries = Queries(SharedCache(tmp_path / "cache"))
    process = start_preparation(queries.cache, stuck.source, precompute=False)
    pid, helpers = wait_for_pixel_workers(tmp_path / "cache", source_id)
    assert pid == process.pid

    os.kill(pid, signal.SIGKILL)  # as the kernel's out-of-memory killer would
    killed = time.monotonic()
    out = poll_preparation(queries, 0, source_id)
    while out["retry_style"] != SHOWN:
        assert time.monotonic() - killed < DEATH_REPORTED_S, f"not reported as died: {out['progress_text']}"
        time.sleep(STATUS_POLL_MS / 1000)
        out = poll_preparation(queries, 0, source_id)
    message = str(out["alert"].children)
    assert "stopped unexpectedly" in message and PIXEL_STEP in message
    assert out["stop"] is False and out["content_style"] == {"display": "none"}
    assert all_gone(helpers) == [], "processes of the dead preparation survived it"

    unblock(stuck)
    retry_preparation(queries, 1, source_id)
    deadline = time.monotonic() + READY_TIMEOUT_S
    out = poll_preparation(queries, 0, source_id)
    while not isinstance(out["data_key"], str):
        assert out["retry_style"] != SHOWN, str(out["alert"])
        assert time.monotonic() < deadline, "the retried preparation never finished"
        time.sleep(STATUS_POLL_MS / 1000)
        out = poll_preparation(queries, 0, source_id)
    key = out["data_key"]
    expected = Evaluator(load_dataset(stuck.source.labels, stuck.source.predictions)).evaluate(0.5).m_ap
    assert queries.evaluation_doc(ViewParams.of(key))["mAP"] == pytest.approx(expected)
    for retried in multiprocessing.active_children():  # the retried preparation ends by itself
        retried.join(READY_TIMEOUT_S)
        assert not retried.is_alive()


@pytest.mark.parametrize("stop", ["SIGTERM", "Ctrl-C", "SIGKILL"])
def test_stopping_the_server_stops_its_preparation_and_pixel_workers(tmp_path, stop):
    stuck = stuck_source(tmp_path / "demo")
    cache_dir = tmp_path / "cache"
    log = open(tmp_path / "serve.log", "w")
    # a session of its own, as a terminal gives a command: Ctrl-C reaches its whole foreground group
    server = subprocess.Popen(serve_command(stuck, cache_dir, free_port()), cwd=ROOT, stdout=log,
                              stderr=subprocess.STDOUT, start_new_session=True)
    try:
        pid, helpers = wait_for_pixel_workers(cache_dir, stuck.source.source_id())
        preparation = psutil.Process(pid)
        if stop == "Ctrl-C":
            os.killpg(server.pid, signal.SIGINT)
        else:
            server.send_signal(getattr(signal, stop))
        server.wait(60)
        left = all_gone([preparation, *helpers])
        assert left == [], f"{stop} of the server left {[p.cmdline()[:3] for p in left]}"
    finally:
        with contextlib.suppress(ProcessLookupError):  # web workers of a killed server: not what is tested here
            os.killpg(server.pid, signal.SIGKILL)
        server.wait(60)
        log.close()
