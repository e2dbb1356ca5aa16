"""Callback requests as Dash's renderer sends them, for tests that talk to a real app through Flask's test client.

Requests are built from ``app.callback_map`` and the page's layout; a
background callback answers a job handle first, and :func:`call` then polls
with it as the renderer does until the job's answer comes back.
"""

from __future__ import annotations

import json
import time
from urllib.parse import quote

from detlens.app.cache import SharedCache
from detlens.app.config import ServeConfig
from detlens.app.preparation import prepare
from detlens.app.queries import Queries
from detlens.app.server import create_app
from detlens.app.source import DataSource
from detlens.layouts import ids

DISPATCH = "/_dash-update-component"
JOB_DEADLINE_S = 120  # a background job not done by then fails the test (never a speed target)


def prepared_app(source: DataSource, cache_dir):
    """``(app, dataset key)``: the real dashboard of ``source`` over a fresh cache folder, prepared first."""
    key = prepare(Queries(SharedCache(cache_dir)), source)
    return create_app(ServeConfig(cache_dir=cache_dir, source=source)), key


def layout_values(app) -> dict[tuple[str, str], object]:
    """``{(component id, prop): value}`` of every component of the page as first served."""
    values = {}
    for component in [app.layout, *app.layout._traverse()]:
        if not hasattr(component, "to_plotly_json"):  # a text child
            continue
        props = component.to_plotly_json()["props"]
        if isinstance(props.get("id"), str):
            values.update({(props["id"], k): v for k, v in props.items()})
    return values


def tab_of(output: str) -> str:
    """The tab whose callbacks compute ``output`` (callbacks of hidden tabs do not update)."""
    if "perf-" in output:
        return ids.TAB_PERFORMANCE
    return ids.TAB_EXPLORER if "explorer-" in output else ids.TAB_METRICS


def outputs_of(output: str) -> list[dict] | dict:
    """The ``outputs`` field of a request for callback ``output`` (as in ``app.callback_map``)."""
    parts = output[2:-2].split("...") if output.startswith("..") else [output]
    specs = [dict(zip(("id", "property"), part.rsplit(".", 1))) for part in parts]
    return specs if output.startswith("..") else specs[0]


def gate_of(app, output: str) -> dict | None:
    """The gate callback (``callbacks.common.tab_gate``) whose request store is the one input of ``output``."""
    inputs = app.callback_map[output]["inputs"]
    if len(inputs) != 1 or not inputs[0]["id"].endswith("-request"):
        return None
    return app.callback_map[f"{inputs[0]['id']}.data"]


def request_inputs(app, output: str) -> list[dict]:
    """The inputs and states the page sends for ``output``, in order; for a gated background callback, those
    of its gate (without the active tab and a switch that opens the part): the values its request store holds."""
    gate = gate_of(app, output)
    if gate is not None:
        return [d for d in gate["inputs"] if d["id"] not in (ids.TABS, *ids.GATE_SWITCHES)]
    callback = app.callback_map[output]
    return callback["inputs"] + callback["state"]


def request_body(app, key, classes, output: str, replace: dict | None = None) -> dict:
    """A renderer-like request for callback ``output`` with the page's values.

    ``replace``: ``{index: value}`` over :func:`request_inputs` (for a gated callback, the positions of its
    request), and ``{"request": value}`` to replace a gated callback's whole request. The changed input is
    the first replaced one that is an Input, else the first Input.
    """
    callback, replace = app.callback_map[output], dict(replace or {})
    base = layout_values(app)
    base.update({(ids.DATA_KEY, "data"): key, (ids.CLASSES, "value"): list(classes),
                 (ids.TABS, "active_tab"): tab_of(output)})
    args = []
    for dep in request_inputs(app, output):
        value = [] if dep["id"].startswith("{") else base.get((dep["id"], dep["property"]))  # ALL pattern: no match
        args.append({"id": json.loads(dep["id"]) if dep["id"].startswith("{") else dep["id"],
                     "property": dep["property"], "value": value})
    whole = replace.pop("request", None)
    for index, value in replace.items():
        args[index] = dict(args[index], value=value)
    if gate_of(app, output) is not None:
        store = callback["inputs"][0]
        value = whole if whole is not None else [a["value"] for a in args]
        args = [{"id": store["id"], "property": "data", "value": value}] + [  # and its own states, as served
            {"id": d["id"], "property": d["property"], "value": base.get((d["id"], d["property"]))}
            for d in callback["state"]]
        replace = {}
    n_inputs = len(callback["inputs"])
    changed = next((i for i in sorted(replace) if i < n_inputs), 0)
    dep = callback["inputs"][changed]
    return {"output": output, "outputs": outputs_of(output), "inputs": args[:n_inputs], "state": args[n_inputs:],
            "changedPropIds": [f"{dep['id']}.{dep['property']}"]}


def call(client, body):
    """POST a callback request; for a background callback, poll its job as the renderer does until it answers
    (an answer given in the web process comes with the job's handles: no poll)."""
    response = client.post(DISPATCH, json=body)
    handle = response.get_json(silent=True) if response.status_code == 200 else None
    if not (isinstance(handle, dict) and "cacheKey" in handle) or "response" in handle:
        return response
    return poll(client, body, handle)


def poll(client, body, handle: dict):
    """Poll the job of ``handle`` (a first response's ``cacheKey`` and ``job``) as the renderer does, until the
    response that ends it (an answer, a 204, an error)."""
    query = f"?cacheKey={quote(handle['cacheKey'])}&job={quote(handle['job'])}"
    deadline = time.monotonic() + JOB_DEADLINE_S
    while True:
        response = client.post(DISPATCH + query, json=body)
        answer = response.get_json(silent=True) if response.status_code == 200 else None
        if not (isinstance(answer, dict) and "response" not in answer):
            return response
        assert time.monotonic() < deadline, f"background job of {body['output']} did not answer"
        time.sleep(0.05)
