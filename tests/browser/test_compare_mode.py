"""Compare mode in a real Chromium against ``detlens serve --predictions base=A --predictions small=B``.

Turning compare mode on with the "Compare with" picker shows the delta card with ``detlens compare``'s
numbers (the same paired bootstrap: 1,000 resamples, seed 0), Performance by metric states its finding
for the default metric, and the Explorer's "fixed by B" filter counts what the query service counts on the
same files.
"""

from __future__ import annotations

import json
import subprocess
import sys

from detlens.app.cache import SharedCache
from detlens.app.preparation import prepare
from detlens.app.queries import Queries, ViewParams
from detlens.app.source import DataSource
from detlens.core.demo import DemoConfig, write_demo
from detlens.core.explorer import ExplorerFilter
from detlens.core.settings import DEFAULT_METRIC
from detlens.core.vocabulary import CompareGroup
from detlens.layouts import ids
from tests.browser.conftest import ROOT, screenshot
from tests.cli_server import detlens_serve
from tests.compare_pair import write_run_b

LOAD_TIMEOUT_MS = 120_000
UPDATE_TIMEOUT_MS = 60_000
TEXT_HAS = "([id, v]) => (document.getElementById(id)?.innerText || '').includes(v)"


def test_compare_mode_shows_the_delta_card_and_the_fixed_objects(page, tmp_path):
    paths = write_demo(tmp_path / "demo", DemoConfig.preset("default", n_images=80), render_images=False)
    labels, run_a = paths.labels, paths.predictions
    run_b = write_run_b(labels, run_a, tmp_path / "small.json")
    doc_path = tmp_path / "compare.json"
    subprocess.run([sys.executable, "-m", "detlens.app.cli", "compare", "--labels", str(labels), "--predictions",
                    f"base={run_a}", "--predictions", f"small={run_b}", "--by-metric", DEFAULT_METRIC,
                    "--json", str(doc_path)],
                   cwd=ROOT, check=True, capture_output=True)
    expected = json.loads(doc_path.read_text())
    queries = Queries(SharedCache(tmp_path / "reference-cache"))  # the query service on the same files
    key_a = prepare(queries, DataSource(str(labels), str(run_a)))
    key_b = prepare(queries, DataSource(str(labels), str(run_b)))
    cv = queries.compare.view(ViewParams.of(key_a), key_b, ("base", "small"))
    fixed = len(queries.compare.filtered(cv, ExplorerFilter(compare=CompareGroup.FIXED), "score", True)["rows"])
    assert fixed > 0

    with detlens_serve("--labels", labels, "--predictions", f"base={run_a}", "--predictions", f"small={run_b}",
                       "--cache-dir", tmp_path / "cache", "--no-precompute", log=tmp_path / "serve.log",
                       ready_path="") as url:
        page.goto(url)
        page.wait_for_selector(f"#{ids.COMPARE_PICKER}", state="visible", timeout=LOAD_TIMEOUT_MS)
        page.click(f"#{ids.COMPARE_PICKER}")
        page.get_by_role("option", name="small", exact=True).click()
        delta = f"{expected['mAP']['delta']:+.4f}"
        page.wait_for_function(TEXT_HAS, arg=[ids.COMPARE_SUMMARY, delta], timeout=LOAD_TIMEOUT_MS)
        row = page.locator(f"#{ids.COMPARE_SUMMARY} tr[data-stat='mAP']")
        cells = [c.strip() for c in row.locator("th, td").all_inner_texts()]
        low, high = expected["mAP"]["ci"]
        assert cells == ["mAP", f"{expected['mAP']['A']:.4f}", f"{expected['mAP']['B']:.4f}", delta,
                         f"[{low:+.4f}, {high:+.4f}]"]
        page.wait_for_selector(f"#{ids.COMPARE_CLASS_GRAPH} .bars .point path", timeout=UPDATE_TIMEOUT_MS)
        screenshot(page, "compare_mode_metrics")

        page.get_by_role("tab", name="Performance by metric").click()
        page.wait_for_function(TEXT_HAS, arg=[ids.COMPARE_PERF_FINDING, expected["finding"]],
                               timeout=UPDATE_TIMEOUT_MS)
        page.wait_for_selector(f"#{ids.COMPARE_PERF_GRAPH} .scatterlayer .trace", timeout=UPDATE_TIMEOUT_MS)
        screenshot(page, "compare_mode_performance")

        page.get_by_role("tab", name="Explorer").click()
        page.locator(f"#{ids.EXPLORER_COMPARE}").get_by_text(CompareGroup.FIXED.label, exact=True).click()
        page.wait_for_function(TEXT_HAS, arg=[ids.EXPLORER_COUNT, f"{fixed:,} objects"], timeout=UPDATE_TIMEOUT_MS)
        assert page.locator(f"#{ids.EXPLORER_GRID} .explorer-card").count() > 0
        assert CompareGroup.FIXED.label in page.inner_text(f"#{ids.EXPLORER_GRID}")
        screenshot(page, "compare_mode_explorer_fixed")
        assert page.console_errors == []
