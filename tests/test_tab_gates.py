"""A hidden tab starts no background job: each background callback waits behind a clientside gate
(callbacks/common.py, assets/tab_gates.js) that stores its request only while its tab is shown.

What the gates decide is tested in the browser that runs them (tests/browser/test_tab_gates.py); here, that
every chart job is wired behind the right gate, and that the server has nothing to answer for a gate.
"""

from __future__ import annotations

import pytest

from detlens.callbacks.common import GATES_NAMESPACE
from detlens.layouts import ids
from tests.dash_requests import DISPATCH, gate_of, layout_values, prepared_app, request_body

GATES = {ids.METRICS_REQUEST: ids.TAB_METRICS, ids.IMPORTANCE_REQUEST: ids.TAB_METRICS,
         ids.PERF_REQUEST: ids.TAB_PERFORMANCE, ids.EXPLORER_REQUEST: ids.TAB_EXPLORER,
         ids.ERRORS_REQUEST: ids.TAB_METRICS, ids.PERF_ERRORS_REQUEST: ids.TAB_PERFORMANCE}
# compare mode's gates: their first input is the compare store
COMPARE_GATES = {ids.COMPARE_METRICS_REQUEST: ids.TAB_METRICS, ids.COMPARE_IMPORTANCE_REQUEST: ids.TAB_METRICS,
                 ids.COMPARE_PERF_REQUEST: ids.TAB_PERFORMANCE}
SWITCHES = {ids.ERRORS_REQUEST: ids.ERRORS_SHOW, ids.PERF_ERRORS_REQUEST: ids.PERF_ERRORS_SHOW}


@pytest.fixture(scope="module")
def served(demo, tmp_path_factory):
    app, key = prepared_app(demo.source, tmp_path_factory.mktemp("gate-cache"))
    return app.server.test_client(), app, key


def test_every_tab_chart_job_waits_behind_a_gate(served):
    _, app, _ = served
    background = [o for o, c in app.callback_map.items() if c.get("background") and "download" not in o]
    assert len(background) == len(GATES) + len(COMPARE_GATES)
    assert sorted(app.callback_map[o]["inputs"][0]["id"] for o in background) == sorted([*GATES, *COMPARE_GATES])
    assert all(gate_of(app, o) is not None for o in background)


@pytest.mark.parametrize("store, tab", [*GATES.items(), *COMPARE_GATES.items()])
def test_a_gate_runs_in_the_browser_and_reads_its_own_tab(served, store, tab):
    _, app, _ = served
    gate = app.callback_map[f"{store}.data"]
    assert "callback" not in gate  # nothing for the server to run
    function = next(c for c in app._callback_list if c["output"] == f"{store}.data")["clientside_function"]
    assert function == {"namespace": GATES_NAMESPACE,
                        "function_name": "storeRequestWhenShown" if store in SWITCHES else "storeRequest"}
    inputs = [d["id"] for d in gate["inputs"]]
    assert inputs[0] == (ids.COMPARE if store in COMPARE_GATES else ids.DATA_KEY) and inputs[-1] == ids.TABS
    assert inputs[-2] == SWITCHES.get(store, inputs[-2])  # the switch comes just before the active tab
    assert gate["state"] == [{"id": ids.tab_pane(tab), "property": "tab_id"}]
    assert layout_values(app)[(ids.tab_pane(tab), "tab_id")] == tab  # the pane the gate reads is its tab


@pytest.mark.parametrize("store, switch", SWITCHES.items())
def test_the_error_analysis_switch_starts_off(served, store, switch):
    _, app, _ = served
    assert layout_values(app)[(switch, "value")] is False


@pytest.mark.parametrize("store", [*GATES, *COMPARE_GATES])
def test_a_crafted_request_to_a_gate_is_refused_without_a_500(served, demo, store):
    client, app, key = served
    response = client.post(DISPATCH, json=request_body(app, key, demo.classes, f"{store}.data"))
    assert response.status_code == 400
