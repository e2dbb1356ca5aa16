"""The minimum-confidence mode in a real headless Chromium: "per class: F1-optimal" switches the mAP card and the
Explorer's count to the values of the demo's predictions kept by ``detlens thresholds``' per-class thresholds, as
``detlens evaluate`` computes them from scratch; "one for all" switches them back."""

from __future__ import annotations

import json
import subprocess
import sys

from detlens.callbacks.metrics_tab import map_text
from detlens.core.vocabulary import MinScoreMode
from detlens.layouts import ids
from tests.browser.conftest import ROOT, screenshot
from tests.browser.test_dashboard import UPDATE_TIMEOUT_MS, open_dashboard

TEXT_IS = "([id, v]) => document.getElementById(id)?.innerText.trim() === v"
TEXT_STARTS = "([id, v]) => (document.getElementById(id)?.innerText || '').trim().startsWith(v)"


def cli(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "detlens.app.cli", *args], cwd=ROOT, check=True, capture_output=True)


def expected(server, per_class: bool) -> tuple[str, str]:
    """``(mAP text, Explorer count prefix)`` of the served demo at IoU 0.5 from the CLI: every prediction, or
    those scoring at or above their class's threshold from ``detlens thresholds --json``."""
    labels, predictions = server.demo / "labels.json", server.demo / "predictions.json"
    if per_class:
        cli("thresholds", "--labels", str(labels), "--predictions", str(predictions),
            "--json", str(server.cache_dir / "thresholds.json"))
        thresholds = json.loads((server.cache_dir / "thresholds.json").read_text())["thresholds"]
        names = {c["id"]: c["name"] for c in json.loads(labels.read_text())["categories"]}

        def kept(p):
            score = thresholds[names[p["category_id"]]]["score"]
            return score is None or p["score"] >= score

        filtered = [p for p in json.loads(predictions.read_text()) if kept(p)]
        predictions = server.cache_dir / "predictions-per-class.json"
        predictions.write_text(json.dumps(filtered))
    out = server.cache_dir / f"evaluate-per-class-{per_class}.json"
    cli("evaluate", "--labels", str(labels), "--predictions", str(predictions), "--json", str(out))
    doc = json.loads(out.read_text())
    objects = sum(doc["counts"][k] for k in ("TP", "FP", "FN"))  # the Explorer's default outcomes
    return map_text(doc["mAP"]), f"{objects:,} objects · {doc['counts']['TP']:,} TP · {doc['counts']['FP']:,} FP"


def choose(page, mode: MinScoreMode) -> None:
    page.locator(f"#{ids.MIN_SCORE_MODE} label", has_text=mode.label).click()


def test_per_class_mode_switches_the_map_and_the_explorer(page, server):
    global_map, global_count = expected(server, per_class=False)
    per_class_map, per_class_count = expected(server, per_class=True)
    assert per_class_map != global_map and per_class_count != global_count
    open_dashboard(page, server)
    page.wait_for_function(TEXT_IS, arg=[ids.MAP_VALUE, global_map], timeout=UPDATE_TIMEOUT_MS)
    assert page.inner_text(f"#{ids.MIN_SCORE_VALUE}").strip() == "all"
    assert page.inner_text(f"#{ids.THRESHOLDS_TABLE}").strip() == ""

    choose(page, MinScoreMode.PER_CLASS_F1)
    page.wait_for_function(TEXT_IS, arg=[ids.MAP_VALUE, per_class_map], timeout=UPDATE_TIMEOUT_MS)
    assert page.inner_text(f"#{ids.MAP_RULE}").strip() == "COCO 101-point · IoU 0.50 · per class (F1)"
    assert page.inner_text(f"#{ids.MIN_SCORE_VALUE}").strip() == "per class (F1)"
    assert page.locator(f"#{ids.MIN_SCORE} .dash-slider-root[aria-disabled='true']").count() == 1
    summary = page.locator(f"#{ids.THRESHOLDS_TABLE} summary")
    summary.wait_for(timeout=UPDATE_TIMEOUT_MS)
    assert "F1-optimal at IoU 0.50 (4 classes)" in summary.inner_text()
    summary.click()
    rows = page.locator(f"#{ids.THRESHOLDS_TABLE} tbody tr")
    assert rows.count() == 4 and rows.first.locator("td").first.inner_text() == "ellipse"
    screenshot(page, "threshold_mode_per_class")

    page.click(f"#{ids.TABS} .nav-link:has-text('Explorer')")
    page.wait_for_function(TEXT_STARTS, arg=[ids.EXPLORER_COUNT, per_class_count], timeout=UPDATE_TIMEOUT_MS)
    screenshot(page, "threshold_mode_explorer")

    choose(page, MinScoreMode.GLOBAL)
    page.wait_for_function(TEXT_STARTS, arg=[ids.EXPLORER_COUNT, global_count], timeout=UPDATE_TIMEOUT_MS)
    assert page.locator(f"#{ids.MIN_SCORE} .dash-slider-root[aria-disabled='true']").count() == 0
    page.click(f"#{ids.TABS} .nav-link:has-text('Metrics')")
    page.wait_for_function(TEXT_IS, arg=[ids.MAP_VALUE, global_map], timeout=UPDATE_TIMEOUT_MS)
    assert page.inner_text(f"#{ids.MIN_SCORE_VALUE}").strip() == "all"
    assert page.console_errors == []
