"""Several gunicorn workers sharing one cache folder serve the same dashboard (``app.wsgi:server``)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from detlens.layouts import ids
from tests.browser.conftest import ROOT, free_port, screenshot, stop_server, wait_until_serving
from tests.browser.test_dashboard import cli_map, open_dashboard, shown_map, wait_for_iou


@pytest.fixture(scope="module")
def gunicorn(server):
    """Two gunicorn sync workers on the demo prepared by the ``server`` fixture (same cache folder)."""
    pytest.importorskip("gunicorn")
    port = free_port()
    # loopback only (-b 127.0.0.1), which the WSGI entry cannot see: no login, said explicitly
    env = dict(os.environ, DETLENS_CACHE_DIR=str(server.cache_dir), DETLENS_INSECURE_NO_AUTH="1")
    log = open(server.cache_dir / "gunicorn.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}", "--timeout", "120",
                             "detlens.app.wsgi:server"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    wait_until_serving(proc, url, server.cache_dir / "gunicorn.log", 120, "gunicorn")
    yield type(server)(url=url, cache_dir=server.cache_dir, demo=server.demo)
    stop_server(proc, log)


def test_two_workers_share_the_cache_and_background_jobs(page, gunicorn):
    open_dashboard(page, gunicorn)
    assert shown_map(page) == f"{cli_map(gunicorn):.4f}"
    thumb = page.locator(f"#{ids.IOU} [role=slider]")
    thumb.focus()
    for _ in range(2):
        thumb.press("ArrowLeft")  # 0.40: job started by one worker, polled through either
    wait_for_iou(page, "0.40")
    assert shown_map(page) == f"{cli_map(gunicorn, 0.4):.4f}"
    screenshot(page, "gunicorn_two_workers")
    assert page.console_errors == []
