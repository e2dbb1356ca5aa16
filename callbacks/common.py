"""What every callback module shares: background-callback options and page alerts."""

from __future__ import annotations

import logging
import re

import dash_bootstrap_components as dbc

from detlens.core.ap_rule import APRule
from detlens.core.settings import BACKGROUND_POLL_MS
from detlens.core.vocabulary import MinScoreMode
from detlens.layouts import ids
from detlens.layouts.metrics_tab import HIDDEN, VISIBLE

LOG = logging.getLogger("detlens.dashboard")
MAX_ALERT_CHARS = 400
DEFAULT_RULE = APRule().code  # the AP rule of a callback function called without one (tests, scripts)
DEFAULT_MODE = MinScoreMode.GLOBAL.value  # likewise, the minimum-confidence mode
# an absolute path of two or more parts ("/a/b", "~/a/b", "C:\\a\\b"), not "TP / FP" nor "px/s"
SERVER_PATH = re.compile(r"""(?<![\w.)\]])(?:~|[A-Za-z]:)?(?:[/\\][^\s/\\'"]+){2,}""")


# Background callbacks whose every number is a memoised result, each named by one of its output ids: the
# diskcache manager answers them in the web process when every result is cached, without a job
# (app/jobs.py). The exports are not among them: their work is not a cached result.
ANSWERED_FROM_CACHE = frozenset({
    ids.MAP_VALUE, ids.IMPORTANCE_GRAPH, ids.PERF_GRAPH, ids.EXPLORER_GRID, ids.TIDE_GRAPH,
    ids.PERF_ERRORS_GRAPH, ids.COMPARE_SUMMARY, ids.COMPARE_IMPORTANCE_A, ids.COMPARE_PERF_GRAPH})


def background(running_id: str) -> dict:
    """Keyword arguments of a background callback whose ``running_id`` badge shows while it runs."""
    from dash import Output

    return dict(background=True, interval=BACKGROUND_POLL_MS, running=[(Output(running_id, "style"), VISIBLE, HIDDEN)])


GATES_NAMESPACE = "detlens_gates"  # assets/tab_gates.js


def tab_gate(app, tab: str, request_id: str, inputs: list, shown_by: str | None = None):
    """Gate a background callback behind its tab: returns the one ``Input`` the background callback takes.

    Registers a clientside callback (``assets/tab_gates.js``) that copies the
    values of ``inputs`` (the first one the dataset key, or the compare store)
    into the store ``request_id`` only while ``tab`` is the active tab and that
    first value is set. The renderer calls every tab's callbacks on an input
    change; a hidden tab's background callback would otherwise start a job (a
    forked process, or a Celery task, and its polls) only to answer "no update".
    The gate decides in the browser, so a hidden tab costs no request at all and
    the visible tab's job is asked for without a round trip first; opening the
    tab writes the store and the job runs then. The background callback unpacks
    the list with :func:`detlens.callbacks.inputs.request`, which checks it like
    any input (a crafted request can send anything).

    ``shown_by``: the id of a switch (``value`` True or False) that must be on too: a part of the
    tab the user opens on demand. The switch's value is not part of the request.
    """
    from dash import ClientsideFunction, Input, Output, State

    switch = [Input(shown_by, "value")] if shown_by else []
    function = "storeRequestWhenShown" if shown_by else "storeRequest"
    app.clientside_callback(ClientsideFunction(GATES_NAMESPACE, function), Output(request_id, "data"),
                            *inputs, *switch, Input(ids.TABS, "active_tab"), State(ids.tab_pane(tab), "tab_id"))
    return Input(request_id, "data")


def view_inputs(kind=None) -> list:
    """The controls every result depends on, in this order: dataset key, classes, IoU, minimum confidence,
    AP rule (:attr:`APRule.code <detlens.core.ap_rule.APRule.code>`), minimum-confidence mode
    (:class:`~detlens.core.vocabulary.MinScoreMode`); :func:`detlens.callbacks.inputs.view` checks them in
    the same order.

    ``kind``: ``dash.Input`` (the default) or ``dash.State``.
    """
    from dash import Input

    kind = kind or Input
    return [kind(ids.DATA_KEY, "data"), kind(ids.CLASSES, "value"), kind(ids.IOU, "value"),
            kind(ids.MIN_SCORE, "value"), kind(ids.AP_RULE, "value"), kind(ids.MIN_SCORE_MODE, "value")]


def page_text(message: str) -> str:
    """``message`` as the page may show it: server paths cut to their file name, at most ``MAX_ALERT_CHARS``.

    ``/home/me/.cache/detlens/demo/labels.json: ...`` becomes ``labels.json: ...``:
    the page names the file, never where the server keeps it.
    """
    text = SERVER_PATH.sub(lambda m: re.split(r"[/\\]", m.group(0))[-1], str(message))
    return text if len(text) <= MAX_ALERT_CHARS else text[:MAX_ALERT_CHARS - 1] + "…"


def alert(message: str, color: str = "warning") -> dbc.Alert:
    """A readable message box for the page (never a stack trace, never a server path: see :func:`page_text`)."""
    return dbc.Alert(page_text(message), color=color, className="mb-2")


def error_alert(exc: Exception) -> dbc.Alert:
    """An alert for an exception: the user's input problems as they are, others logged and summarised."""
    if isinstance(exc, (ValueError, OSError, KeyError)):
        return alert(str(exc).strip("'\""), "warning")
    LOG.exception("dashboard callback failed")
    return alert(f"Something went wrong while computing this view ({type(exc).__name__}: {exc}).", "danger")


def triggered() -> tuple[object, object]:
    """``(id, new value)`` of the input that triggered the running callback (Dash's ``ctx``)."""
    from dash import ctx

    return ctx.triggered_id, (ctx.triggered[0]["value"] if ctx.triggered else None)
