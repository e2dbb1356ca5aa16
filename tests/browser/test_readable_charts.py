"""Readable charts in a real Chromium: class panels with "k of n", grey small buckets, cut names with the full
name on hover, every class labelled, exactly the precision-recall curves the title counts, and no chart drawn
as empty default axes before its first result."""

from __future__ import annotations

import json

import pytest

from detlens.core.demo import DemoConfig, write_demo
from detlens.core.settings import CLASS_NAME_MAX_CHARS
from detlens.layouts import ids
from detlens.layouts.placeholders import COMPUTING
from tests.browser.conftest import screenshot
from tests.browser.test_dashboard import LOAD_TIMEOUT_MS, TITLE_HAS, UPDATE_TIMEOUT_MS, open_dashboard
from tests.cli_server import detlens_serve

GRAPHS = (ids.AP_AR_GRAPH, ids.PR_GRAPH, ids.IMPORTANCE_GRAPH, ids.CORRELATION_GRAPH, ids.PERF_GRAPH,
          ids.EXPLORER_HISTOGRAM)
LONG = "cross-shaped object drawn with a very long descriptive class name"
SHORT = LONG[:CLASS_NAME_MAX_CHARS - 1].rstrip() + "…"
PARTS = 20  # each demo class split in this many classes: 80 in all
PLOT = "document.querySelector('#{} .js-plotly-plot')"

# Records, for every graph, what plotly drew the first time it drew anything.
FIRST_RENDER = """
window.firstRenders = {};
setInterval(() => {
  for (const id of %s) {
    const gd = document.querySelector('#' + id + ' .js-plotly-plot');
    if (!gd || !gd._fullLayout || window.firstRenders[id]) continue;
    const x = gd._fullLayout.xaxis || {};
    window.firstRenders[id] = {traces: (gd.data || []).length, xVisible: x.visible, xRange: x.range,
                               notes: (gd.layout.annotations || []).map(a => a.text)};
  }
}, 5);
""" % json.dumps(list(GRAPHS))


def test_no_chart_shows_empty_axes_before_its_first_result(page, server):
    page.add_init_script(FIRST_RENDER)
    # A view no other test computes, so every chart waits for a fresh job rather than a cached result.
    page.goto(f"{server.url}?iou=0.35")
    page.wait_for_function(f"() => /\\d/.test(document.getElementById('{ids.MAP_VALUE}')?.innerText || '')",
                           timeout=LOAD_TIMEOUT_MS)
    for tab in ("Performance by metric", "Explorer"):
        page.click(f"#{ids.TABS} .nav-link:has-text('{tab}')")
        page.wait_for_timeout(300)
    page.wait_for_function(f"() => Object.keys(window.firstRenders).length === {len(GRAPHS)}",
                           timeout=UPDATE_TIMEOUT_MS)
    first = page.evaluate("() => window.firstRenders")
    placeholders = 0
    for graph in GRAPHS:
        shown = first[graph]
        # plotly's default axes (-1..6) are never drawn: first comes the placeholder with its axes hidden, or,
        # when plotly's lazily loaded bundle arrives after the job (a busy machine), the result itself
        if shown["traces"] == 0:
            assert shown["notes"] == [COMPUTING] and shown["xVisible"] is False, (graph, shown)
            placeholders += 1
        else:
            assert COMPUTING not in shown["notes"], (graph, shown)
    assert placeholders > 0, first  # the placeholder is drawn at all
    assert page.console_errors == []


def _show_by_class(page) -> None:
    page.click(f"#{ids.TABS} .nav-link:has-text('Performance by metric')")
    page.wait_for_function(TITLE_HAS, arg=[f"#{ids.PERF_GRAPH}", "TPR and FNR"], timeout=UPDATE_TIMEOUT_MS)
    page.click(f"#{ids.PERF_DECOMPOSE} input[value=by_class]")


def _panel_classes(page) -> list[str]:
    return page.evaluate(f"() => ({PLOT.format(ids.PERF_GRAPH)}.layout.annotations || [])"
                         ".filter(a => a.hovertext).map(a => a.hovertext)")


def test_class_panels_say_k_of_n_and_follow_the_picked_classes(page, server):
    open_dashboard(page, server)
    _show_by_class(page)
    page.wait_for_function(f"() => ({PLOT.format(ids.PERF_GRAPH)}.layout.annotations || [])"
                           ".filter(a => a.hovertext).length === 4", timeout=UPDATE_TIMEOUT_MS)
    assert page.inner_text(f"#{ids.PERF_PANELS_TEXT}") == "4 of 4 classes shown (the largest)"
    assert sorted(_panel_classes(page)) == ["cross", "ellipse", "rectangle", "triangle"]
    assert page.locator(f"#{ids.PERF_GRAPH} .annotation").count() >= 4
    page.click(f"#{ids.PERF_PANEL_CLASSES}")
    page.locator("[role=option]", has_text="triangle").click()
    page.keyboard.press("Escape")
    page.wait_for_function(f"() => document.getElementById('{ids.PERF_PANELS_TEXT}').innerText"
                           " === '1 of 4 classes shown (picked)'", timeout=UPDATE_TIMEOUT_MS)
    page.wait_for_function(f"() => {PLOT.format(ids.PERF_GRAPH)}.layout.annotations"
                           ".filter(a => a.hovertext).length === 1", timeout=UPDATE_TIMEOUT_MS)
    assert _panel_classes(page) == ["triangle"]
    screenshot(page, "performance_class_panels")
    assert page.console_errors == []


def test_buckets_under_the_minimum_count_are_grey(page, server):
    open_dashboard(page, server)
    _show_by_class(page)
    grey_points = (f"() => [...document.querySelectorAll('#{ids.PERF_GRAPH} .scatterlayer .point')]"
                   ".filter(p => (p.style.fill || '').replace(/ /g, '') === 'rgb(173,181,189)').length")
    page.wait_for_function(f"() => ({PLOT.format(ids.PERF_GRAPH)}.layout.annotations || [])"
                           ".some(a => a.hovertext)", timeout=UPDATE_TIMEOUT_MS)
    before = page.evaluate(grey_points)
    page.fill(f"#{ids.PERF_MIN_COUNT}", "10000")
    page.press(f"#{ids.PERF_MIN_COUNT}", "Enter")
    page.wait_for_function(f"() => ({grey_points})() > {before}", timeout=UPDATE_TIMEOUT_MS)
    coloured = page.evaluate(f"() => {PLOT.format(ids.PERF_GRAPH)}.data.filter(t => /^(TPR|FNR) \\w+$/.test(t.name))"
                             ".flatMap(t => t.y).filter(v => v !== null).length")
    assert coloured == 0  # every bucket is under the minimum: none is on a coloured line
    titles = page.evaluate(f"() => {PLOT.format(ids.PERF_GRAPH)}.layout.annotations.map(a => a.text).join(' ')")
    assert titles.count("Too few") == 4
    screenshot(page, "performance_grey_buckets")
    assert page.console_errors == []


@pytest.fixture(scope="module")
def many_classes(tmp_path_factory, chromium_path):
    """``detlens serve`` on the demo's boxes split into 80 classes, one with a long name; yields its URL."""
    root = tmp_path_factory.mktemp("many-classes")
    paths = write_demo(root / "demo", DemoConfig.preset("default", n_images=120), render_images=False)
    labels, predictions = json.loads(paths.labels.read_text()), json.loads(paths.predictions.read_text())
    names = {c["id"]: c["name"] for c in labels["categories"]}
    new_id = {(cid, part): 1 + i * PARTS + part for i, cid in enumerate(sorted(names)) for part in range(PARTS)}
    labels["categories"] = [{"id": new_id[(cid, part)], "name": f"{names[cid]} {part:02d}"}
                            for cid in sorted(names) for part in range(PARTS)]
    labels["categories"][0]["name"] = LONG
    for record in labels["annotations"] + predictions:
        record["category_id"] = new_id[(record["category_id"], record["image_id"] % PARTS)]
    (root / "labels.json").write_text(json.dumps(labels))
    (root / "predictions.json").write_text(json.dumps(predictions))
    with detlens_serve("--labels", root / "labels.json", "--predictions", root / "predictions.json",
                       "--cache-dir", root / "cache", log=root / "serve.log", ready_path="") as url:
        yield url


def test_many_classes_keep_every_name_and_long_names_are_cut(page, many_classes):
    page.goto(many_classes)
    page.wait_for_function(TITLE_HAS, arg=[f"#{ids.AP_AR_GRAPH}", "IoU"], timeout=LOAD_TIMEOUT_MS)
    with_ap = page.evaluate(f"() => {PLOT.format(ids.AP_AR_GRAPH)}.data[0].y.length")
    ticks = page.locator(f"#{ids.AP_AR_GRAPH} .ytick text").all_text_contents()
    assert with_ap > 60 and len(ticks) == with_ap  # every class keeps its label
    assert SHORT in ticks and LONG not in ticks
    bar = page.locator(f"#{ids.AP_AR_GRAPH} .bars .point path").first
    bar.scroll_into_view_if_needed()
    bar.hover(force=True)
    page.wait_for_function(f"(n) => document.querySelector('#{ids.AP_AR_GRAPH} .hoverlayer').textContent.includes(n)",
                           arg=LONG, timeout=UPDATE_TIMEOUT_MS)
    # precision-recall: exactly the curves the title counts
    page.wait_for_function(TITLE_HAS, arg=[f"#{ids.PR_GRAPH}", "6 best and 6 worst"], timeout=UPDATE_TIMEOUT_MS)
    assert page.locator(f"#{ids.PR_GRAPH} .scatterlayer .trace").count() == 12
    assert page.locator(f"#{ids.PR_GRAPH} .legend .traces").count() == 12
    screenshot(page, "many_classes_ap_ar")

    _show_by_class(page)
    page.wait_for_function(f"() => ({PLOT.format(ids.PERF_GRAPH)}.layout.annotations || [])"
                           ".filter(a => a.hovertext).length === 6", timeout=UPDATE_TIMEOUT_MS)
    assert page.inner_text(f"#{ids.PERF_PANELS_TEXT}").endswith(" classes shown (the largest)")
    assert page.inner_text(f"#{ids.PERF_PANELS_TEXT}").startswith("6 of ")
    page.click(f"#{ids.PERF_PANEL_CLASSES}")
    page.locator("[role=option]", has_text=SHORT).click()
    page.keyboard.press("Escape")
    page.wait_for_function(f"(n) => ({PLOT.format(ids.PERF_GRAPH)}.layout.annotations || [])"
                           ".some(a => a.hovertext === n)", arg=LONG, timeout=UPDATE_TIMEOUT_MS)
    title = page.locator(f"#{ids.PERF_GRAPH} .annotation").filter(has_text=SHORT).first
    assert LONG not in title.text_content()
    title.locator(".annotation-text-g").hover(force=True)
    page.wait_for_function(f"(n) => document.querySelector('#{ids.PERF_GRAPH} .hoverlayer').textContent.includes(n)",
                           arg=LONG, timeout=UPDATE_TIMEOUT_MS)
    screenshot(page, "many_classes_long_name_panel")
    assert page.console_errors == []
