"""Calling a callback as Dash would after one input changed: Dash's own ``context_value`` pattern."""

from __future__ import annotations

import json
from contextvars import copy_context

from dash._callback_context import context_value
from dash._utils import AttributeDict


def call_triggered(fn, trigger_id, value, *args, prop: str = "n_clicks"):
    """``fn(*args)`` inside a callback context whose triggering input is ``trigger_id.prop`` = ``value``.

    ``trigger_id`` is a component id: a string, or a dict for pattern-matching ids.
    """
    component = json.dumps(trigger_id, sort_keys=True, separators=(",", ":")) if isinstance(trigger_id, dict) \
        else trigger_id

    def run():
        context_value.set(AttributeDict(triggered_inputs=[{"prop_id": f"{component}.{prop}", "value": value}]))
        return fn(*args)
    return copy_context().run(run)
