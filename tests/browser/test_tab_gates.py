"""The tab gates (assets/tab_gates.js) as the page runs them: what each decides, and that a hidden tab's chart
job is never asked for while the visible tab's charts are drawn."""

from __future__ import annotations

import pytest

from detlens.callbacks.common import GATES_NAMESPACE
from detlens.layouts import ids
from tests.browser.test_dashboard import open_dashboard
from tests.gate_cases import NO_UPDATE, STORE_REQUEST, SWITCHED, switched_args

CALL = """([fn, args]) => { const out = window.dash_clientside[%r][fn](...args);
  return out === window.dash_clientside.no_update ? %r : out; }""" % (GATES_NAMESPACE, NO_UPDATE)


@pytest.fixture(scope="module")
def opened(browser, server):
    """One dashboard page for the table cases: they only call the page's functions."""
    context = browser.new_context()
    page = context.new_page()
    open_dashboard(page, server)
    yield page
    context.close()


@pytest.mark.parametrize("args, expected", STORE_REQUEST, ids=repr)
def test_store_request(opened, args, expected):
    assert opened.evaluate(CALL, ["storeRequest", args]) == expected


@pytest.mark.parametrize("switch, active, expected", SWITCHED, ids=repr)
def test_store_request_when_shown_needs_its_switch_on(opened, switch, active, expected):
    assert opened.evaluate(CALL, ["storeRequestWhenShown", switched_args(switch, active)]) == expected


def test_only_the_visible_tabs_chart_jobs_are_asked_for(page, server):
    """Opening the page, a threshold step and a tab change: requests go to the visible tab's background
    callbacks only, and none to a gate (the browser decides)."""
    sent = []
    page.on("request", lambda r: sent.append(r.post_data_json["output"]) if "_dash-update-component" in r.url
            and "cacheKey" not in r.url else None)
    open_dashboard(page, server)
    thumb = page.locator(f"#{ids.IOU} [role=slider]")
    thumb.focus()
    thumb.press("ArrowRight")
    page.wait_for_function(f"() => document.getElementById('{ids.IOU_VALUE}').innerText.includes('0.55')")
    page.wait_for_function(f"() => document.getElementById('{ids.METRICS_RUNNING}').style.visibility === 'hidden'")
    metrics_only = list(sent)
    page.click(f"#{ids.TABS} .nav-link:has-text('Explorer')")
    page.wait_for_selector(f"#{ids.EXPLORER_GRID} .explorer-card", timeout=30_000)

    def asked(outputs, component_id):
        return [o for o in outputs if f"{component_id}." in o]

    assert not [o for o in sent if o.endswith("-request.data")]  # no gate reached the server
    assert len(asked(metrics_only, ids.MAP_VALUE)) == 2  # the page's opening view and the new threshold
    assert len(asked(metrics_only, ids.IMPORTANCE_GRAPH)) == 2
    for hidden in (ids.EXPLORER_GRID, ids.PERF_GRAPH, ids.TIDE_GRAPH, ids.COMPARE_SUMMARY):
        assert not asked(metrics_only, hidden), hidden
    assert len(asked(sent, ids.EXPLORER_GRID)) == 1  # asked for once its tab is shown
    assert not page.console_errors
