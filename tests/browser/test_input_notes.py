"""The input checks' notes on the page: Cartucho's detections read with the wrong --box-format, in a real Chromium."""

from __future__ import annotations

from detlens.layouts import ids
from tests.browser.conftest import screenshot
from tests.cli_server import detlens_serve
from tests.refdata import REFDATA

LOAD_TIMEOUT_MS = 120_000
CARTUCHO = REFDATA / "cartucho_map"


def test_class_name_and_box_format_notes_come_first(page, tmp_path, chromium_path):
    with detlens_serve("--labels", CARTUCHO / "ground-truth", "--predictions", CARTUCHO / "detection-results",
                       "--box-format", "xywh", "--images", CARTUCHO / "images-optional",
                       "--cache-dir", tmp_path / "cache", "--no-precompute", log=tmp_path / "serve.log",
                       ready_path="") as url:
        page.goto(url)
        page.wait_for_function(f"() => /\\d/.test(document.getElementById('{ids.MAP_VALUE}')?.innerText || '')",
                               timeout=LOAD_TIMEOUT_MS)
        notes = page.locator(f"#{ids.SHELL_ALERT} .alert").all_inner_texts()
        screenshot(page, "input_notes")
        assert len(notes) == 3
        assert "8 prediction class names of detection-results are not label class names" in notes[0]
        assert "'refrigerator' (32 predictions)" in notes[0]
        assert "758 of 1180 boxes stick out" in notes[1] and "check --box-format" in notes[1]
        assert "clipped" in notes[2]
        assert page.console_errors == []
    assert "note: 758 of 1180 boxes stick out" in (tmp_path / "serve.log").read_text()  # printed before serving
