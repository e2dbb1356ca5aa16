"""A cache folder made read-only while ``detlens serve`` runs: the page says so, and no request fails with a 5xx.

The server runs without the capabilities that let root ignore permission
bits (:func:`tests.read_only.unprivileged`), so ``chmod -w`` stops it.
"""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace

import pytest

from detlens.callbacks.shell import READ_ONLY_NOTE
from detlens.core.demo import DemoConfig, write_demo
from detlens.layouts import ids
from tests.browser.conftest import ROOT, free_port, screenshot, stop_server, wait_until_serving
from tests.read_only import make_read_only, make_writable, unprivileged

LOAD_TIMEOUT_MS = 120_000
WARNING_TIMEOUT_MS = 15_000  # the status poll checks the cache every few seconds once the data are shown


@pytest.fixture
def unprivileged_server(tmp_path, chromium_path):
    """``detlens serve`` on a small demo (no image files), unable to write where permission bits forbid it."""
    paths = write_demo(tmp_path / "demo", DemoConfig.preset("default", n_images=60), render_images=False)
    cache = tmp_path / "cache"
    port = free_port()
    log = open(tmp_path / "serve.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "detlens.app.cli", "serve", "--labels", str(paths.labels), "--predictions",
         str(paths.predictions), "--cache-dir", str(cache), "--port", str(port), "--no-precompute"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, preexec_fn=unprivileged)
    url = f"http://127.0.0.1:{port}/"
    wait_until_serving(proc, url, tmp_path / "serve.log", 120, "detlens serve")
    yield SimpleNamespace(url=url, cache_dir=cache, log=tmp_path / "serve.log")
    stop_server(proc, log)
    make_writable(cache)


def test_a_cache_made_read_only_while_serving_shows_a_warning_and_never_a_server_error(page, unprivileged_server):
    server = unprivileged_server
    failures = []
    page.on("response", lambda r: failures.append(f"{r.status} {r.url}") if r.status >= 500 else None)
    page.goto(server.url)
    page.wait_for_function(f"() => /\\d/.test(document.getElementById('{ids.MAP_VALUE}')?.innerText || '')",
                           timeout=LOAD_TIMEOUT_MS)
    assert page.inner_text(f"#{ids.CACHE_ALERT}") == ""

    make_read_only(server.cache_dir)
    page.wait_for_function(f"() => document.getElementById('{ids.CACHE_ALERT}').innerText.includes('read-only')",
                           timeout=WARNING_TIMEOUT_MS)
    assert page.inner_text(f"#{ids.CACHE_ALERT}").strip() == READ_ONLY_NOTE
    thumb = page.locator(f"#{ids.IOU} [role=slider]")
    thumb.focus()
    thumb.press("ArrowLeft")  # a new threshold: background jobs that cannot store their results
    page.wait_for_function(f"() => document.getElementById('{ids.IOU_VALUE}').innerText.includes('0.45')")
    page.wait_for_function(f"() => document.getElementById('{ids.METRICS_RUNNING}').style.visibility === 'hidden'",
                           timeout=LOAD_TIMEOUT_MS)
    page.get_by_role("tab", name="Performance by metric").click()  # another tab's callbacks
    page.wait_for_function(f"() => document.getElementById('{ids.PERF_RUNNING}').style.visibility === 'hidden'",
                           timeout=LOAD_TIMEOUT_MS)
    screenshot(page, "cache_read_only_warning")
    assert failures == [], failures
    assert "Traceback" not in server.log.read_text()
