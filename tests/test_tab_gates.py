"""A hidden tab starts no background job: its gate answers "no update" in the web worker (callbacks/common.py)."""

from __future__ import annotations

import pytest

from detlens.layouts import ids
from tests.dash_requests import DISPATCH, gate_of, layout_values, prepared_app, request_body

GATES = {ids.METRICS_REQUEST: ids.TAB_METRICS, ids.IMPORTANCE_REQUEST: ids.TAB_METRICS,
         ids.PERF_REQUEST: ids.TAB_PERFORMANCE, ids.EXPLORER_REQUEST: ids.TAB_EXPLORER,
         ids.ERRORS_REQUEST: ids.TAB_METRICS, ids.PERF_ERRORS_REQUEST: ids.TAB_PERFORMANCE}
TABS = (ids.TAB_METRICS, ids.TAB_PERFORMANCE, ids.TAB_EXPLORER)
# compare mode's gates: their first input is the compare store (tests/test_compare_callbacks.py checks them)
COMPARE_GATES = {ids.COMPARE_METRICS_REQUEST: ids.TAB_METRICS, ids.COMPARE_IMPORTANCE_REQUEST: ids.TAB_METRICS,
                 ids.COMPARE_PERF_REQUEST: ids.TAB_PERFORMANCE}


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


@pytest.mark.parametrize("store", GATES)
@pytest.mark.parametrize("tab", TABS)
def test_a_gate_stores_its_request_only_while_its_tab_is_shown(served, demo, store, tab):
    client, app, key = served
    body = request_body(app, key, demo.classes, f"{store}.data")
    body["inputs"][-1]["value"] = tab  # the active tab is the gate's last input
    assert body["inputs"][-1]["id"] == ids.TABS
    response = client.post(DISPATCH, json=body)
    if tab != GATES[store]:
        assert response.status_code == 204
        return
    switched = [i for i, d in enumerate(body["inputs"]) if d["id"] in ids.GATE_SWITCHES]
    if switched:  # a part opened on demand: nothing while its switch is off (as the page is served)
        assert response.status_code == 204
        body["inputs"][switched[0]]["value"] = True
        response = client.post(DISPATCH, json=body)
    assert response.status_code == 200
    stored = response.get_json()["response"][store]["data"]
    assert stored == [d["value"] for i, d in enumerate(body["inputs"][:-1]) if i not in switched] and stored[0] == key


@pytest.mark.parametrize("store, switch", [(ids.ERRORS_REQUEST, ids.ERRORS_SHOW),
                                           (ids.PERF_ERRORS_REQUEST, ids.PERF_ERRORS_SHOW)])
def test_the_error_analysis_waits_for_its_switch_which_starts_off(served, demo, store, switch):
    client, app, key = served
    assert layout_values(app)[(switch, "value")] is False
    body = request_body(app, key, demo.classes, f"{store}.data")
    at = next(i for i, d in enumerate(body["inputs"]) if d["id"] == switch)
    for value, status in ((False, 204), (None, 204), ("yes", 204), (True, 200)):
        body["inputs"][at]["value"] = value
        assert client.post(DISPATCH, json=body).status_code == status, value


def test_a_gate_without_a_dataset_stores_nothing(served, demo):
    client, app, _ = served
    body = request_body(app, None, demo.classes, f"{ids.METRICS_REQUEST}.data")
    assert client.post(DISPATCH, json=body).status_code == 204
