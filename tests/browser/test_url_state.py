"""Shareable views in a real Chromium: a link sets the controls and the mAP, back returns to the previous view,
and the same link in a second browser shows the same mAP."""

from __future__ import annotations

import json
import subprocess
import sys
from urllib.parse import quote_plus

from detlens.callbacks.metrics_tab import map_text
from detlens.core.ap_rule import APRule
from detlens.layouts import ids
from tests.browser.conftest import ROOT, screenshot

LOAD_TIMEOUT_MS = 120_000
UPDATE_TIMEOUT_MS = 30_000
TEXT_IS = "([id, v]) => document.getElementById(id)?.innerText.trim() === v"
TEXT_HAS = "([id, v]) => (document.getElementById(id)?.innerText || '').includes(v)"
ACTIVE_TAB_IS = "(v) => document.querySelector('#tabs .nav-link.active')?.innerText.trim() === v"
CLASSES = ["ellipse", "triangle"]
METRIC = "Object Aspect Ratio (P)"
VOC11 = APRule("voc_11_point", "voc")
LINKED = (f"?classes={','.join(CLASSES)}&iou=0.7&score=0.3&rule=voc11&tab=perf"
          f"&metric={quote_plus(METRIC, safe='()')}")


def evaluated_map(server, iou: float, min_score: float, classes: list[str], rule: APRule) -> str:
    """The mAP ``detlens evaluate`` (the core evaluator, in its own process) gives the demo files, as the card writes it."""
    out = server.cache_dir / f"url-eval-{iou}-{min_score}-{'-'.join(classes)}-{rule.ap_method}.json"
    subprocess.run([sys.executable, "-m", "detlens.app.cli", "evaluate", "--labels", str(server.demo / "labels.json"),
                    "--predictions", str(server.demo / "predictions.json"), "--iou", str(iou),
                    "--min-score", str(min_score), "--classes", ",".join(classes), "--ap-method", rule.ap_method,
                    "--match", rule.match_method, "--json", str(out)], cwd=ROOT, check=True, capture_output=True)
    return map_text(json.loads(out.read_text())["mAP"])


def in_second_browser(browser, url: str, expected_map: str, controls: list[str], picture: str | None = None) -> list:
    """Open ``url`` in a new browser context (no shared state), wait for the mAP card to show ``expected_map``;
    the text of each of ``controls``."""
    other = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        second = other.new_page()
        second.goto(url)
        second.wait_for_function(TEXT_IS, arg=[ids.MAP_VALUE, expected_map], timeout=LOAD_TIMEOUT_MS)
        if picture:
            screenshot(second, picture)
        return [second.inner_text(f"#{control}").strip() for control in controls]
    finally:
        other.close()


def check_linked_controls(page) -> None:
    """The controls show every setting of :data:`LINKED`."""
    page.wait_for_function(ACTIVE_TAB_IS, arg="Performance by metric", timeout=LOAD_TIMEOUT_MS)
    page.wait_for_function(TEXT_IS, arg=[ids.IOU_VALUE, "IoU ≥ 0.70"], timeout=UPDATE_TIMEOUT_MS)
    page.wait_for_function(TEXT_IS, arg=[ids.MIN_SCORE_VALUE, "score ≥ 0.30"], timeout=UPDATE_TIMEOUT_MS)
    page.wait_for_function(TEXT_IS, arg=[ids.AP_RULE, VOC11.title], timeout=UPDATE_TIMEOUT_MS)
    page.wait_for_function(TEXT_HAS, arg=[ids.PERF_METRIC, METRIC], timeout=UPDATE_TIMEOUT_MS)
    page.wait_for_function(TEXT_HAS, arg=[ids.PERF_DESCRIPTION, METRIC], timeout=UPDATE_TIMEOUT_MS)
    shown = page.inner_text(f"#{ids.CLASSES}")
    assert all(c in shown for c in CLASSES) and "rectangle" not in shown and "cross" not in shown, shown


def test_a_link_sets_the_view_back_returns_and_a_second_browser_agrees(page, browser, server):
    voc_map = evaluated_map(server, 0.7, 0.3, CLASSES, VOC11)
    coco_map = evaluated_map(server, 0.7, 0.3, CLASSES, APRule())
    assert voc_map != coco_map
    page.goto(server.url + LINKED)
    check_linked_controls(page)
    screenshot(page, "url_state_linked")

    page.get_by_role("tab", name="Metrics").click()  # a new view: the Metrics tab, the link's other settings
    page.wait_for_function(TEXT_IS, arg=[ids.MAP_VALUE, voc_map], timeout=UPDATE_TIMEOUT_MS)
    assert page.inner_text(f"#{ids.MAP_RULE}").strip() == f"{VOC11.title} · IoU 0.70"
    assert "tab=" not in page.url and "rule=voc11" in page.url
    metrics_url = page.url

    page.click(f"#{ids.AP_RULE}")
    page.get_by_role("option", name=APRule().title, exact=True).click()
    page.wait_for_function(TEXT_IS, arg=[ids.MAP_VALUE, coco_map], timeout=UPDATE_TIMEOUT_MS)
    page.wait_for_function("() => !location.search.includes('rule=')", timeout=UPDATE_TIMEOUT_MS)

    page.go_back()
    page.wait_for_function(TEXT_IS, arg=[ids.AP_RULE, VOC11.title], timeout=UPDATE_TIMEOUT_MS)
    page.wait_for_function(TEXT_IS, arg=[ids.MAP_VALUE, voc_map], timeout=UPDATE_TIMEOUT_MS)
    assert page.url == metrics_url
    page.go_back()
    check_linked_controls(page)
    assert page.url == server.url + LINKED
    assert page.console_errors == []

    shown = in_second_browser(browser, metrics_url, voc_map, [ids.IOU_VALUE, ids.AP_RULE], "url_state_second_browser")
    assert shown == ["IoU ≥ 0.70", VOC11.title]


def test_a_link_with_bad_values_says_what_it_left_out(page, server):
    page.goto(server.url + "?iou=7&classes=zebra,ellipse&tab=nowhere&colour=red&score=0.3")
    page.wait_for_function(TEXT_HAS, arg=[ids.URL_NOTICE, "colour"], timeout=LOAD_TIMEOUT_MS)
    notice = page.inner_text(f"#{ids.URL_NOTICE}")
    for part in ("iou:", "classes: 'zebra'", "tab: 'nowhere'", "'colour' is not a setting"):
        assert part in notice, notice
    assert "Traceback" not in notice and str(server.cache_dir) not in notice
    page.wait_for_function(TEXT_IS, arg=[ids.MIN_SCORE_VALUE, "score ≥ 0.30"], timeout=UPDATE_TIMEOUT_MS)
    assert page.inner_text(f"#{ids.IOU_VALUE}").strip() == "IoU ≥ 0.50"
    page.wait_for_function("() => /\\d/.test(document.getElementById('map-value')?.innerText || '')",
                           timeout=UPDATE_TIMEOUT_MS)
    assert page.console_errors == []


EXPLORER_LINK = "?tab=explorer&ex_outcomes=FN&ex_classes=triangle&sort=Object+Area+-+Relative&order=asc&page=2"
COUNT_HAS = f"(t) => (document.getElementById('{ids.EXPLORER_COUNT}')?.innerText || '').includes(t)"
ACTIVE_PAGE = f"() => document.querySelector('#{ids.EXPLORER_PAGES} .page-item.active')?.innerText.split(/\\s/)[0]"


def test_a_link_opens_the_explorer_with_its_filter_sort_and_page(page, server):
    page.goto(server.url + EXPLORER_LINK)
    page.wait_for_function(ACTIVE_TAB_IS, arg="Explorer", timeout=LOAD_TIMEOUT_MS)
    page.wait_for_function(COUNT_HAS, arg=" FN", timeout=UPDATE_TIMEOUT_MS)
    history = page.evaluate("() => history.length")
    chips = page.inner_text(f"#{ids.EXPLORER_CHIPS}")
    assert "Outcome: FN (missed label)" in chips and "Class: triangle" in chips, chips
    assert " TP" not in page.inner_text(f"#{ids.EXPLORER_COUNT}")
    assert "Object Area - Relative" in page.inner_text(f"#{ids.EXPLORER_SORT}")
    assert page.is_checked(f"#{ids.EXPLORER_ORDER} input[value='asc']")
    assert page.evaluate(ACTIVE_PAGE) == "2"
    # setting the controls from the link wrote no new history entry (no control bounced back)
    assert page.evaluate("() => location.search") == EXPLORER_LINK and page.evaluate("() => history.length") == history

    page.click(f"#{ids.EXPLORER_CHIPS} .explorer-chip:has-text('Class: triangle')")  # a new view: every class, page 1
    page.wait_for_function("() => !location.search.includes('ex_classes')", timeout=UPDATE_TIMEOUT_MS)
    assert "page=" not in page.evaluate("() => location.search")
    page.go_back()
    page.wait_for_function(f"() => document.getElementById('{ids.EXPLORER_CHIPS}').innerText.includes('Class: triangle')",
                           timeout=UPDATE_TIMEOUT_MS)
    page.wait_for_function(f"() => ({ACTIVE_PAGE})() === '2'", timeout=UPDATE_TIMEOUT_MS)
    assert page.evaluate("() => location.search") == EXPLORER_LINK
    screenshot(page, "url_state_explorer")
    assert page.console_errors == []


def test_links_name_the_workspace_dataset_and_run(page, browser, tmp_path):
    from tests.browser.test_workspace import pick, shown_map, write_workspace
    from tests.cli_server import detlens_serve

    root = write_workspace(tmp_path / "data").parent
    full, half = (shown_map(root, "shapes/labels.json", f"shapes/{name}.json") for name in ("predictions", "half"))
    small = shown_map(root, "small/labels.json", "small/predictions.json")
    with detlens_serve("--workspace", root / "workspace.toml", "--cache-dir", tmp_path / "cache", "--no-precompute",
                       log=tmp_path / "serve.log", ready_path="") as url:
        page.goto(url + "?run=half")
        page.wait_for_function(TEXT_IS, arg=[ids.MAP_VALUE, half], timeout=LOAD_TIMEOUT_MS)
        assert page.inner_text(f"#{ids.RUN_PICKER}").strip() == "half"
        pick_run = page.evaluate("() => history.length")
        page.click(f"#{ids.RUN_PICKER}")
        page.get_by_role("option", name="full", exact=True).click()
        page.wait_for_function(TEXT_IS, arg=[ids.MAP_VALUE, full], timeout=UPDATE_TIMEOUT_MS)
        page.wait_for_function("() => location.search === ''", timeout=UPDATE_TIMEOUT_MS)  # the first run: default
        assert page.evaluate("() => history.length") == pick_run + 1
        page.go_back()
        page.wait_for_function(TEXT_IS, arg=[ids.MAP_VALUE, half], timeout=UPDATE_TIMEOUT_MS)
        assert page.inner_text(f"#{ids.RUN_PICKER}").strip() == "half"

        pick(page, ids.DATASET_PICKER, "small shapes")
        page.wait_for_function(TEXT_IS, arg=[ids.MAP_VALUE, small], timeout=UPDATE_TIMEOUT_MS)
        page.wait_for_function("() => location.search === '?dataset=small+shapes&run=only'", timeout=UPDATE_TIMEOUT_MS)
        small_url = page.url
        page.go_back()  # to the other dataset, and the run the link names
        page.wait_for_function(TEXT_IS, arg=[ids.MAP_VALUE, half], timeout=UPDATE_TIMEOUT_MS)
        assert page.inner_text(f"#{ids.DATASET_PICKER}").strip() == "shapes"
        assert page.inner_text(f"#{ids.RUN_PICKER}").strip() == "half"
        page.go_forward()
        page.wait_for_function(TEXT_IS, arg=[ids.MAP_VALUE, small], timeout=UPDATE_TIMEOUT_MS)
        assert page.inner_text(f"#{ids.DATASET_PICKER}").strip() == "small shapes"
        shown = in_second_browser(browser, small_url, small, [ids.DATASET_PICKER, ids.RUN_PICKER])
        assert shown == ["small shapes", "only"]
        assert page.console_errors == []
