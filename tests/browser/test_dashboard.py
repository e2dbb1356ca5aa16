"""The dashboard in a real headless Chromium against a real ``detlens serve`` on the embedded demo."""

from __future__ import annotations

from detlens.layouts import ids
from tests.browser.conftest import cli_map, click_until, screenshot

LOAD_TIMEOUT_MS = 120_000  # first start: demo images, metric tables
UPDATE_TIMEOUT_MS = 30_000
TITLE_HAS = "([sel, text]) => { const t = document.querySelector(sel + ' .gtitle'); return !!t && t.textContent.includes(text); }"


def expected_finding(server, metric: str) -> str:
    """The finding sentence of ``metric`` (default buckets, IoU 0.5, every class) computed from the demo files."""
    from detlens.core.analysis import performance_by_metric
    from detlens.core.evaluation import Evaluator
    from detlens.core.findings import finding_sentence
    from detlens.core.io import load_dataset
    from detlens.core.metrics.registry import metric_unit
    from detlens.core.metrics.tables import compute_metric_tables
    from detlens.core.settings import BUCKETS_DEFAULT

    images = server.demo / "images"
    ds = load_dataset(server.demo / "labels.json", server.demo / "predictions.json", images_dir=images)
    tables = compute_metric_tables(ds, images, cache_dir=server.cache_dir / "pixels")  # the server's pixel cache
    table = performance_by_metric(ds, tables, Evaluator(ds).match(0.5), metric, None, BUCKETS_DEFAULT, "quantile")
    return finding_sentence(table.to_dict(), metric, metric_unit(metric))


def open_dashboard(page, server) -> None:
    """Load the page and wait until the headline numbers and the importance chart are drawn."""
    page.goto(server.url)
    page.wait_for_function(f"() => /\\d/.test(document.getElementById('{ids.MAP_VALUE}')?.innerText || '')",
                           timeout=LOAD_TIMEOUT_MS)
    page.wait_for_selector(f"#{ids.IMPORTANCE_GRAPH} .bars .point path", timeout=UPDATE_TIMEOUT_MS)
    page.wait_for_function(TITLE_HAS, arg=[f"#{ids.PR_GRAPH}", "IoU"], timeout=UPDATE_TIMEOUT_MS)


def shown_map(page) -> str:
    """The mAP the page shows, as text."""
    return page.inner_text(f"#{ids.MAP_VALUE}").strip()


def wait_for_iou(page, iou: str) -> None:
    """Wait until every chart of the Metrics tab was redrawn at threshold ``iou`` (e.g. "0.55")."""
    for graph in (f"#{ids.AP_AR_GRAPH}", f"#{ids.PR_GRAPH}", f"#{ids.IMPORTANCE_GRAPH}", f"#{ids.CORRELATION_GRAPH}"):
        page.wait_for_function(TITLE_HAS, arg=[graph, f"IoU {iou}"], timeout=UPDATE_TIMEOUT_MS)
    page.wait_for_function(f"() => document.getElementById('{ids.METRICS_RUNNING}').style.visibility === 'hidden'",
                           timeout=UPDATE_TIMEOUT_MS)


def test_demo_loads_with_header_and_charts(page, server):
    open_dashboard(page, server)
    assert "labels.json" in page.inner_text(f"#{ids.DATASET_NAME}")
    counts = page.inner_text(f"#{ids.DATASET_COUNTS}")
    assert "300 images" in counts and "4 classes" in counts
    assert page.inner_text(f"#{ids.IOU_VALUE}") == "IoU ≥ 0.50" and page.inner_text(f"#{ids.MIN_SCORE_VALUE}") == "all"
    assert "4 selected" in page.inner_text(f"#{ids.CLASSES}")
    for graph in (f"#{ids.AP_AR_GRAPH}", f"#{ids.PR_GRAPH}", f"#{ids.IMPORTANCE_GRAPH}", f"#{ids.CORRELATION_GRAPH}"):
        assert page.locator(f"{graph} .main-svg").count() > 0
    assert "(P) prediction metric" in page.inner_text("body")
    screenshot(page, "demo_loads")
    assert page.console_errors == []


def test_map_equals_cli_evaluate(page, server):
    open_dashboard(page, server)
    expected = cli_map(server)
    assert shown_map(page) == f"{expected:.4f}"
    screenshot(page, "map_equals_cli")


def test_iou_slider_changes_map(page, server):
    open_dashboard(page, server)
    before = shown_map(page)
    thumb = page.locator(f"#{ids.IOU} [role=slider]")
    thumb.focus()
    for _ in range(4):  # 0.50 -> 0.70 (the demo's true positives all overlap by 0.55 or more)
        thumb.press("ArrowRight")
    page.wait_for_function(f"() => document.getElementById('{ids.IOU_VALUE}').innerText.includes('0.70')")
    wait_for_iou(page, "0.70")
    after = shown_map(page)
    assert after != before and after == f"{cli_map(server, 0.7):.4f}"
    screenshot(page, "iou_slider_changes_map")
    assert page.console_errors == []


def test_class_filter_changes_map(page, server):
    open_dashboard(page, server)
    before = shown_map(page)
    page.click(f"#{ids.CLASSES}")
    page.locator("[role=option]", has_text="cross").click()
    page.keyboard.press("Escape")
    page.wait_for_function(f"() => document.getElementById('{ids.CLASSES}').innerText.includes('3 selected')")
    expected = f"{cli_map(server, 0.5, ['ellipse', 'rectangle', 'triangle']):.4f}"
    page.wait_for_function(f"(v) => document.getElementById('{ids.MAP_VALUE}').innerText.trim() === v", arg=expected,
                           timeout=UPDATE_TIMEOUT_MS)
    assert shown_map(page) != before
    bars = page.evaluate(f"() => document.querySelector('#{ids.AP_AR_GRAPH} .js-plotly-plot').data[0].y")
    assert list(bars) == ["ellipse", "rectangle", "triangle"]
    screenshot(page, "class_filter_changes_map")
    assert page.console_errors == []


def test_importance_click_opens_performance_with_that_metric(page, server):
    open_dashboard(page, server)
    names = page.evaluate(f"() => document.querySelector('#{ids.IMPORTANCE_GRAPH} .js-plotly-plot').data[0].y")
    click_until(page, lambda: page.locator(f"#{ids.IMPORTANCE_GRAPH} .bars .point path").nth(1),
                f"() => document.querySelector('#{ids.TABS} .nav-link.active').innerText.includes('Performance')",
                UPDATE_TIMEOUT_MS)
    metric = names[1]
    page.wait_for_function(f"(m) => document.getElementById('{ids.PERF_METRIC}').innerText.includes(m)", arg=metric)
    page.wait_for_function(TITLE_HAS, arg=[f"#{ids.PERF_GRAPH}", "TPR and FNR"], timeout=UPDATE_TIMEOUT_MS)
    assert page.inner_text(f"#{ids.PERF_DESCRIPTION}").startswith(metric)
    assert page.inner_text(f"#{ids.PERF_FINDING}") == expected_finding(server, metric)
    screenshot(page, "importance_click_opens_performance")
    assert page.console_errors == []


def test_performance_chart_has_one_point_per_bucket(page, server):
    open_dashboard(page, server)
    page.click(f"#{ids.TABS} .nav-link:has-text('Performance by metric')")
    page.wait_for_function(TITLE_HAS, arg=[f"#{ids.PERF_GRAPH}", "TPR and FNR"], timeout=UPDATE_TIMEOUT_MS)
    page.fill(f"#{ids.PERF_BUCKETS}", "5")
    page.press(f"#{ids.PERF_BUCKETS}", "Enter")
    count = ("() => { const d = document.querySelector('#" + ids.PERF_GRAPH + " .js-plotly-plot').data || [];"
             " const t = d.find(t => t.name === 'TPR of predictions'); return t ? t.y.length : -1; }")
    page.wait_for_function(f"() => ({count})() === 5", timeout=UPDATE_TIMEOUT_MS)
    markers = page.locator(f"#{ids.PERF_GRAPH} .scatterlayer .trace").filter(has=page.locator(".points path"))
    drawn = [markers.nth(i).locator(".points path").count() for i in range(markers.count())]
    assert 5 in drawn  # the TPR and FNR lines draw one marker per bucket
    assert page.locator(f"#{ids.PERF_GRAPH} .xtick").count() == 5
    assert "(%)" in page.text_content(f"#{ids.PERF_GRAPH} .g-xtitle") and page.inner_text(f"#{ids.PERF_FINDING}").endswith(".")
    screenshot(page, "performance_one_point_per_bucket")
    assert page.console_errors == []


def test_console_has_no_errors_across_a_session(page, server):
    open_dashboard(page, server)
    page.click(f"#{ids.SIDE} input[value=labels]")
    page.wait_for_function(TITLE_HAS, arg=[f"#{ids.IMPORTANCE_GRAPH}", "labels (detected vs missed)"],
                           timeout=UPDATE_TIMEOUT_MS)
    page.click(f"#{ids.TABS} .nav-link:has-text('Performance by metric')")
    page.click(f"#{ids.PERF_DECOMPOSE} input[value=by_class]")
    page.wait_for_function(f"() => (document.querySelector('#{ids.PERF_GRAPH} .js-plotly-plot').data || [])"
                           ".some(t => (t.name || '').startsWith('TPR ellipse'))", timeout=UPDATE_TIMEOUT_MS)
    page.wait_for_timeout(500)
    screenshot(page, "console_no_errors")
    assert page.console_errors == []


def test_importance_has_interval_bars_and_confidence_can_be_hidden(page, server):
    open_dashboard(page, server)
    names_js = f"() => document.querySelector('#{ids.IMPORTANCE_GRAPH} .js-plotly-plot').data[0].y"
    assert "Model Confidence (P)" in page.evaluate(names_js)
    assert page.locator(f"#{ids.IMPORTANCE_GRAPH} .errorbar").count() == len(page.evaluate(names_js))
    page.locator(f"label[for='{ids.HIDE_CONFIDENCE}']").click()
    page.wait_for_function(f"() => !({names_js})().includes('Model Confidence (P)')", timeout=UPDATE_TIMEOUT_MS)
    assert page.console_errors == []
