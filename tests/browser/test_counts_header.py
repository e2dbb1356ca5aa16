"""The header's counts on COCO val2014-100 (crowd labels, classes without labels) in a real Chromium."""

from __future__ import annotations

from detlens.layouts import ids
from tests.browser.conftest import screenshot
from tests.cli_server import detlens_serve
from tests.refdata import REFDATA

LOAD_TIMEOUT_MS = 120_000
COCO = REFDATA / "coco_val2014_100"


def test_header_and_class_filter_count_what_the_charts_show(page, tmp_path, chromium_path):
    with detlens_serve("--labels", COCO / "instances_val2014_100.json",
                       "--predictions", COCO / "instances_val2014_fakebbox100_results.json",
                       "--cache-dir", tmp_path / "cache", "--no-precompute", log=tmp_path / "serve.log",
                       ready_path="") as url:
        page.goto(url)
        page.wait_for_function(f"() => /\\d/.test(document.getElementById('{ids.MAP_VALUE}')?.innerText || '')",
                               timeout=LOAD_TIMEOUT_MS)
        counts = page.inner_text(f"#{ids.DATASET_COUNTS}")
        assert counts == ("100 images · 839 labels (9 ignored: crowd/difficult) · 734 predictions · "
                          "80 classes (10 without labels)")
        assert "80 selected" in page.inner_text(f"#{ids.CLASSES}")
        page.click(f"#{ids.CLASSES}")
        options = page.locator(".dash-dropdown-option")
        options.first.wait_for(timeout=10_000)
        texts = options.all_inner_texts()
        screenshot(page, "counts_header")
        assert len(texts) == 80 and sum(t.strip().endswith("(no labels)") for t in texts) == 10
        assert page.console_errors == []
