"""The page of a ``detlens serve`` whose preparation process is killed: it says so, and its retry button prepares
the data again, up to the right mAP.

The preparation is caught in its pixel pass whatever the machine's speed (:mod:`tests.stuck_source`).
"""

from __future__ import annotations

import os
import signal
import subprocess

from detlens.core.evaluation import Evaluator
from detlens.core.io import load_dataset
from detlens.layouts import ids
from tests.browser.conftest import ROOT, free_port, screenshot, wait_until_serving
from tests.stuck_source import PIXEL_STEP, serve_command, stuck_source, unblock, wait_for_pixel_workers

DIED_SHOWN_MS = 5_000  # the page says the preparation died within this long (the requirement)
READY_TIMEOUT_MS = 180_000


def test_a_killed_preparation_is_shown_and_the_retry_button_prepares_the_data(tmp_path, page):
    stuck = stuck_source(tmp_path / "demo")
    cache_dir, port = tmp_path / "cache", free_port()
    log = open(tmp_path / "serve.log", "w")
    server = subprocess.Popen(serve_command(stuck, cache_dir, port), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}/"
        wait_until_serving(server, url, tmp_path / "serve.log", 120, "detlens serve")
        page.goto(url)
        page.wait_for_function("([id, text]) => !!document.getElementById(id)?.innerText.includes(text)",
                               arg=[ids.PROGRESS_TEXT, PIXEL_STEP], timeout=READY_TIMEOUT_MS)
        pid, _ = wait_for_pixel_workers(cache_dir, stuck.source.source_id())

        os.kill(pid, signal.SIGKILL)
        page.wait_for_selector(f"#{ids.PREP_RETRY}", state="visible", timeout=DIED_SHOWN_MS)
        alert = page.inner_text(f"#{ids.SHELL_ALERT}")
        assert "stopped unexpectedly" in alert and PIXEL_STEP in alert
        screenshot(page, "preparation_died")

        unblock(stuck)
        page.click(f"#{ids.PREP_RETRY}")
        page.wait_for_function(f"() => /\\d/.test(document.getElementById('{ids.MAP_VALUE}')?.innerText || '')",
                               timeout=READY_TIMEOUT_MS)
        expected = Evaluator(load_dataset(stuck.source.labels, stuck.source.predictions)).evaluate(0.5).m_ap
        assert page.inner_text(f"#{ids.MAP_VALUE}").strip() == f"{expected:.4f}"
        assert not page.is_visible(f"#{ids.PREP_RETRY}") and page.inner_text(f"#{ids.SHELL_ALERT}") == ""
        assert page.console_errors == []
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(60)
        log.close()
