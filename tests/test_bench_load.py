"""The load benchmark's bookkeeping (benchmarks/bench_load.py, load_session.py): what counts as a lost update,
which failures a fault caused, how the renderer's requests are read. No server, no timing."""

from __future__ import annotations

import argparse

import pytest

from benchmarks.bench_load import Run, summarise
from benchmarks.load_capture import Capture
from benchmarks.load_session import Action, Call, Callback, Hit, Log, Session, id_text, layout_values, matches
from detlens.callbacks.common import GATES_NAMESPACE
from detlens.layouts import ids
from tests.gate_cases import NO_UPDATE, STORE_REQUEST, SWITCHED, switched_args


@pytest.mark.parametrize("outcome, expected, lost", [
    ("updated", True, False),
    ("no_update", True, True),  # the job's result was gone: the old bug
    ("timeout", True, True),
    ("network_error", True, True),
    ("http_error", True, True),
    ("superseded", True, False),  # the same session asked again
    ("abandoned", True, False),  # the page was reloaded
    ("no_update", False, False),  # a callback no chart of the visible tab waits for
    ("network_error", False, False),
])
def test_a_lost_update_is_an_expected_update_that_never_came(outcome, expected, lost):
    assert Call(0, "out", True, expected, 0.0, 1.0, outcome).lost is lost


@pytest.mark.parametrize("calls, latency", [
    ([Call(0, "a", True, True, 1.0, 2.5, "updated"), Call(0, "b", True, True, 1.0, 3.0, "updated")], 2.0),
    ([Call(0, "a", True, True, 1.0, 2.5, "updated"), Call(0, "b", True, False, 1.0, 9.0, "no_update")], 1.5),
    ([Call(0, "a", True, True, 1.0, 2.5, "updated"), Call(0, "b", True, True, 1.0, 9.0, "superseded")], 1.5),
    ([Call(0, "a", True, True, 1.0, 2.5, "updated"), Call(0, "b", True, True, 1.0, 9.0, "timeout")], None),
    ([Call(0, "a", False, False, 1.0, 1.2, "updated")], None),  # nothing a chart waited for
])
def test_a_step_takes_until_its_last_expected_update(calls, latency):
    action = Action(0, "iou", 1.0, calls)
    assert action.latency() == (None if latency is None else pytest.approx(latency))


@pytest.mark.parametrize("dependency, outputs, interval", [
    ({"output": "iou-value.children", "inputs": [{"id": "iou", "property": "value"}]},
     {("iou-value", "children")}, None),
    ({"output": "..explorer-filter.data...tabs.active_tab@d421..", "inputs": [], "background": None},
     {("explorer-filter", "data"), ("tabs", "active_tab")}, None),
    ({"output": "..map-value.children...ap-ar-graph.figure..", "inputs": [{"id": "data-key", "property": "data"}],
      "background": {"interval": 100}}, {("map-value", "children"), ("ap-ar-graph", "figure")}, 0.1),
])
def test_callbacks_are_read_from_dash_dependencies(dependency, outputs, interval):
    callback = Callback.of(dependency)
    assert callback.outputs == outputs
    assert callback.interval_s == interval
    assert callback.inputs == tuple((d["id"], d["property"]) for d in dependency["inputs"])


def test_layout_values_are_every_prop_of_components_with_string_ids():
    layout = {"props": {"id": "page", "children": [
        {"props": {"id": "iou", "value": 0.5, "min": 0.05}, "type": "Slider"},
        {"props": {"children": {"props": {"id": "tabs", "active_tab": "tab-metrics"}}}},
        {"props": {"id": {"type": "chip", "part": "x"}, "n_clicks": 0}},
    ]}}
    assert layout_values(layout) == {("page", "id"): "page", ("iou", "id"): "iou", ("iou", "value"): 0.5,
                                     ("iou", "min"): 0.05, ("tabs", "id"): "tabs",
                                     ("tabs", "active_tab"): "tab-metrics"}


@pytest.mark.parametrize("pattern, component_id, hit", [
    ({"type": "explorer-thumb", "row": ["ALL"]}, {"type": "explorer-thumb", "row": 7}, True),
    ({"type": "explorer-thumb", "row": ["ALL"]}, {"type": "explorer-chip", "row": 7}, False),
    ({"type": "explorer-thumb", "row": ["ALL"]}, {"type": "explorer-thumb"}, False),
])
def test_pattern_matching_ids(pattern, component_id, hit):
    assert matches(pattern, component_id) is hit


def test_dict_ids_are_written_as_the_renderer_writes_them():
    assert id_text({"type": "explorer-thumb", "row": 7}) == '{"row":7,"type":"explorer-thumb"}'
    assert id_text("iou") == "iou"


def log_of(calls: list[Call], hits: list[Hit]) -> Log:
    log = Log()
    log.calls, log.hits = calls, hits
    log.actions = [Action(0, "iou", 0.0, calls)]
    return log


ARGS = argparse.Namespace(sessions=1, seconds=10.0)


@pytest.mark.parametrize("fault, calls, lost, lost_at_fault", [
    # a poll in flight on the killed web worker fails: counted apart
    ({"kind": "web-worker", "t": 5.0}, [Call(0, "a", True, True, 4.0, 5.5, "network_error")], 0, 1),
    # a network error before the kill is not the fault's
    ({"kind": "web-worker", "t": 5.0}, [Call(0, "a", True, True, 1.0, 2.0, "network_error")], 1, 0),
    # a final 204 at the time of the kill is still a lost update
    ({"kind": "web-worker", "t": 5.0}, [Call(0, "a", True, True, 4.0, 5.5, "no_update")], 1, 0),
    # a job the killed Celery worker was running never ends: counted apart
    ({"kind": "celery-worker", "t": 5.0, "tasks": ["t1"]},
     [Call(0, "a", True, True, 4.0, 64.0, "timeout", job="t1"),
      Call(0, "b", True, True, 4.0, 64.0, "timeout", job="t2")], 1, 1),
    ({}, [Call(0, "a", True, True, 4.0, 5.5, "no_update"), Call(0, "b", True, True, 4.0, 5.5, "updated")], 1, 0),
])
def test_failures_caused_by_a_fault_are_counted_apart(fault, calls, lost, lost_at_fault):
    run = Run("demo", "celery" if fault.get("kind") == "celery-worker" else "diskcache", fault.get("kind", "none"))
    hits = [Hit(0, c.t0, c.t1, "poll", None if c.outcome == "network_error" else 200,
                "ConnectionError" if c.outcome == "network_error" else None) for c in calls]
    result = summarise(run, log_of(calls, hits), dict(fault), ARGS, Capture())
    assert (result["lost_updates"], result["lost_at_fault"]) == (lost, lost_at_fault)
    errors = sum(c.outcome == "network_error" for c in calls)
    assert result["errors"] + result["errors_at_fault"] == errors


def gate_session(args: list, function: str) -> tuple[Session, Callback]:
    """A session whose state holds ``args`` (request values..., active tab, the gate's tab) and a gate over them."""
    *values, active, tab = args
    inputs = tuple((f"input-{i}", "value") for i in range(len(values))) + ((ids.TABS, "active_tab"),)
    callback = Callback("gate.data", frozenset({("gate", "data")}), inputs, None, (("pane", "tab_id"),), function)
    session = Session(0, "http://127.0.0.1:1", Capture(), Log(), seed=0)
    session.state = dict(zip(inputs, [*values, active])) | {("pane", "tab_id"): tab}
    return session, callback


@pytest.mark.parametrize("args, expected", STORE_REQUEST, ids=repr)
def test_the_sessions_run_a_gate_as_the_browser_does(args, expected):
    session, callback = gate_session(args, "storeRequest")
    changed = session.run_gate(callback)
    assert (session.state.get(("gate", "data")) if changed else NO_UPDATE) == expected


@pytest.mark.parametrize("switch, active, expected", SWITCHED, ids=repr)
def test_the_sessions_run_a_switched_gate_as_the_browser_does(switch, active, expected):
    session, callback = gate_session(switched_args(switch, active), "storeRequestWhenShown")
    changed = session.run_gate(callback)
    assert (session.state.get(("gate", "data")) if changed else NO_UPDATE) == expected


def test_gates_are_read_from_dash_dependencies():
    dependency = {"output": "metrics-request.data", "inputs": [{"id": "data-key", "property": "data"}],
                  "state": [{"id": "tab-metrics-pane", "property": "tab_id"}],
                  "clientside_function": {"namespace": GATES_NAMESPACE, "function_name": "storeRequest"}}
    callback = Callback.of(dependency)
    assert callback.gate == "storeRequest" and callback.state == (("tab-metrics-pane", "tab_id"),)
    other = dependency | {"clientside_function": {"namespace": "_dashprivate_clientside_funcs", "function_name": "f"}}
    assert Callback.of(other).gate is None
