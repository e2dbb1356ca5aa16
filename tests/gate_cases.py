"""What a tab gate decides (assets/tab_gates.js), as a table: the browser test runs the page's own functions on
it, the load benchmark's test its emulation of them (benchmarks/load_session.py)."""

from __future__ import annotations

from detlens.layouts import ids

NO_UPDATE = "no update"
KEY = "0123456789abcdef01234567"
COMPARE = {"key": KEY, "a": "A", "b": "B"}

# storeRequest(request values..., active tab, the gate's tab) -> stored request
STORE_REQUEST = [
    ([KEY, ["cat"], 0.5, ids.TAB_METRICS, ids.TAB_METRICS], [KEY, ["cat"], 0.5]),
    ([KEY, ["cat"], 0.5, ids.TAB_EXPLORER, ids.TAB_METRICS], NO_UPDATE),  # another tab is shown
    ([KEY, None, ids.TAB_METRICS, ids.TAB_METRICS], [KEY, None]),  # an unset value is sent as null
    ([None, ["cat"], ids.TAB_METRICS, ids.TAB_METRICS], NO_UPDATE),  # no dataset yet
    (["", ["cat"], ids.TAB_METRICS, ids.TAB_METRICS], NO_UPDATE),
    ([COMPARE, KEY, ids.TAB_PERFORMANCE, ids.TAB_PERFORMANCE], [COMPARE, KEY]),  # compare mode on
    ([{}, KEY, ids.TAB_PERFORMANCE, ids.TAB_PERFORMANCE], NO_UPDATE),  # compare mode off
    ([None, KEY, ids.TAB_PERFORMANCE, ids.TAB_PERFORMANCE], NO_UPDATE),
    ([KEY, ids.TAB_METRICS, None], NO_UPDATE),  # a gate whose tab is not known
]

# storeRequestWhenShown(key, IoU, switch, active tab, the gate's tab Metrics) -> stored request
SWITCHED = [(switch, active, [KEY, 0.5] if switch is True and active == ids.TAB_METRICS else NO_UPDATE)
            for switch in (True, False, None, "yes", 1) for active in (ids.TAB_METRICS, ids.TAB_PERFORMANCE)]


def switched_args(switch, active) -> list:
    """The arguments of ``storeRequestWhenShown`` for a :data:`SWITCHED` case."""
    return [KEY, 0.5, switch, active, ids.TAB_METRICS]
