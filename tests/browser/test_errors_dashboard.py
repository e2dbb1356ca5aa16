"""The error analysis in a real headless Chromium: a confusion cell and an errors-per-bucket segment open their objects."""

from __future__ import annotations

import json

from detlens.layouts import ids
from tests.browser.conftest import screenshot
from tests.browser.test_dashboard import TITLE_HAS, UPDATE_TIMEOUT_MS, open_dashboard
from tests.hotcoco_reference import hotcoco_eval

ATTEMPTS = 3  # a chart still redrawing loses a click: click again rather than fail
# the page position of data point (x, y) of a graph's plot area
POINT_AT = ("([sel, x, y]) => { const gd = document.querySelector(sel + ' .js-plotly-plot'); const L = gd._fullLayout;"
            " const r = gd.querySelector('.nsewdrag').getBoundingClientRect();"
            " return [r.x + L.xaxis.l2p(x), r.y + L.yaxis.l2p(y)]; }")
EXPLORER_SHOWN = f"() => document.querySelector('#{ids.TABS} .nav-link.active').innerText.includes('Explorer')"


def click_point(page, graph: str, x: float, y: float) -> None:
    """Click data point (x, y) of ``graph`` until the Explorer tab opens."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for attempt in range(ATTEMPTS):
        # a mouse click lands only inside the viewport: the plot itself in view (the graph's own box can have no
        # height, and was then "in view" with the point below the window's edge), then the point
        page.locator(f"#{graph} .js-plotly-plot").scroll_into_view_if_needed()
        px, py = page.evaluate(POINT_AT, [f"#{graph}", x, y])
        height = page.evaluate("() => window.innerHeight")
        if not 0 <= py < height:
            page.mouse.wheel(0, py - height / 2)
            page.wait_for_function(f"(h) => {{ const y = ({POINT_AT})([{json.dumps('#' + graph)}, {x}, {y}])[1];"
                                   f" return 0 <= y && y < h; }}", arg=height, timeout=UPDATE_TIMEOUT_MS // ATTEMPTS)
            px, py = page.evaluate(POINT_AT, [f"#{graph}", x, y])
        page.mouse.click(px, py)
        try:
            page.wait_for_function(EXPLORER_SHOWN, timeout=UPDATE_TIMEOUT_MS // ATTEMPTS)
            return
        except PlaywrightTimeout:
            if attempt == ATTEMPTS - 1:
                raise


def wait_for_count(page, count: int) -> None:
    """Wait until the Explorer's count line starts with ``count`` objects."""
    page.wait_for_function(f"(t) => (document.getElementById('{ids.EXPLORER_COUNT}').innerText || '').startsWith(t)",
                           arg=f"{count:,} object", timeout=UPDATE_TIMEOUT_MS)


def show_errors(page, switch: str, graph: str) -> None:
    """Turn the error part's switch on: its card is closed and its chart not computed until then."""
    assert not page.is_visible(f"#{graph}")
    page.check(f"#{switch}")
    page.wait_for_selector(f"#{graph}", state="visible", timeout=UPDATE_TIMEOUT_MS)


def test_a_confusion_cell_opens_its_objects(page, server):
    open_dashboard(page, server)
    show_errors(page, ids.ERRORS_SHOW, ids.CONFUSION_GRAPH)
    page.wait_for_function(TITLE_HAS, arg=[f"#{ids.CONFUSION_GRAPH}", "Confusion matrix"], timeout=UPDATE_TIMEOUT_MS)
    page.wait_for_function(TITLE_HAS, arg=[f"#{ids.TIDE_GRAPH}", "TIDE"], timeout=UPDATE_TIMEOUT_MS)
    theirs = hotcoco_eval(server.demo / "labels.json", server.demo / "predictions.json", 0.5).confusion_matrix(
        iou_thr=0.5)
    shown = page.evaluate(f"() => document.querySelector('#{ids.CONFUSION_GRAPH} .js-plotly-plot').data"
                          ".map(row => row.customdata.map(c => c[2]))")
    assert shown == theirs["matrix"].tolist()
    # the first class labelled, predicted as background: its missed labels
    row, column = 0, len(theirs["cat_names"])
    name = theirs["cat_names"][row]
    screenshot(page, "errors_card")
    click_point(page, ids.CONFUSION_GRAPH, column, row + 0.5)  # a row's cells span [row, row + 1]
    wait_for_count(page, int(theirs["matrix"][row][column]))
    chips = page.inner_text(f"#{ids.EXPLORER_CHIPS}")
    assert f"Confusion: labelled {name}, predicted background" in chips
    screenshot(page, "explorer_from_confusion_cell")
    assert page.console_errors == []


def test_an_errors_per_bucket_segment_opens_its_objects(page, server):
    open_dashboard(page, server)
    page.click(f"#{ids.TABS} .nav-link:has-text('Performance by metric')")
    show_errors(page, ids.PERF_ERRORS_SHOW, ids.PERF_ERRORS_GRAPH)
    page.wait_for_function(TITLE_HAS, arg=[f"#{ids.PERF_ERRORS_GRAPH}", "TIDE errors per bucket"],
                           timeout=UPDATE_TIMEOUT_MS)
    traces = page.evaluate(f"() => document.querySelector('#{ids.PERF_ERRORS_GRAPH} .js-plotly-plot').data"
                           ".map(t => ({name: t.customdata[0][0], y: Array.from(t.y)}))")
    # the largest segment, at the middle of its height in the stack
    count, t, b = max((trace["y"][b], t, b) for t, trace in enumerate(traces) for b in range(len(trace["y"])))
    below = sum(traces[k]["y"][b] for k in range(t))
    error = traces[t]["name"]
    click_point(page, ids.PERF_ERRORS_GRAPH, b, below + count / 2)
    wait_for_count(page, count)
    chips = page.inner_text(f"#{ids.EXPLORER_CHIPS}")
    assert f"TIDE error: {error}" in chips and "Object Area - Relative" in chips
    screenshot(page, "explorer_from_error_segment")
    assert page.console_errors == []
