"""The page frame shared by every tab: header, progress, data filters and the tab bar."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from detlens.core.ap_rule import APRule, every_rule
from detlens.core.settings import (IOU_DEFAULT, IOU_MARKS, IOU_MAX, IOU_MIN, IOU_STEP, SCORE_MARKS, SCORE_MAX,
                                   SCORE_STEP, STATUS_POLL_MS, WORKSPACE_POLL_MS)
from detlens.layouts import compare, explorer_tab, ids, metrics_tab, min_score_mode, performance_tab

REQUEST_STORES = (ids.METRICS_REQUEST, ids.IMPORTANCE_REQUEST, ids.PERF_REQUEST, ids.EXPLORER_REQUEST,
                  ids.ERRORS_REQUEST, ids.PERF_ERRORS_REQUEST)


def pickers(state: dict | None = None) -> html.Div:
    """The workspace's dataset and run pickers and its reload button.

    ``state``: ``{"datasets": [name], "dataset": name, "runs": [{"name", "source"}], "run": name,
    "shown": bool, "reloadable": bool}`` (see :func:`detlens.callbacks.shell.picker_state`); the pickers are
    hidden unless ``shown`` (one dataset with one run), the reload button unless ``reloadable`` (a workspace file).
    """
    state = state or {"datasets": [], "dataset": None, "runs": [], "run": None, "shown": False, "reloadable": False}
    hidden = {"display": "none"}
    return html.Div(className="d-flex flex-wrap align-items-center gap-2",
                    style=None if state["shown"] else hidden, children=[
        dcc.Dropdown(id=ids.DATASET_PICKER, value=state["dataset"], clearable=False, searchable=False,
                     options=[{"label": n, "value": n} for n in state["datasets"]], style={"minWidth": "12rem"},
                     placeholder="Dataset"),
        dcc.Dropdown(id=ids.RUN_PICKER, value=state["run"], clearable=False, searchable=False,
                     options=[{"label": r["name"], "value": r["name"]} for r in state["runs"]],
                     style={"minWidth": "12rem"}, placeholder="Run"),
        compare.compare_picker(),  # compare mode's run B, shown when the dataset has another run
        dbc.Button("Reload workspace", id=ids.WORKSPACE_RELOAD, size="sm", color="secondary", outline=True,
                   style=None if state["reloadable"] else hidden),
    ])


def header(logout: bool = False, picker_state: dict | None = None) -> html.Div:
    """Product name, the workspace's dataset and run pickers (``picker_state``, see :func:`pickers`), dataset name
    and counts (filled in once the data are ready); a logout link when ``logout`` (the server requires login)."""
    return html.Div(className="d-flex flex-wrap align-items-baseline gap-3 py-3 mb-3 border-bottom", children=[
        html.Span("detlens", className="h4 m-0 fw-bold text-primary"),
        pickers(picker_state),
        html.Span(id=ids.DATASET_NAME, className="h5 m-0"),
        html.Span(id=ids.DATASET_COUNTS, className="text-muted"),
        *([html.A("Log out", href="/logout", className="ms-auto btn btn-sm btn-outline-secondary")]  # app/login.py
          if logout else []),
    ])


def progress_box() -> html.Div:
    """Preparation progress, shown until the dataset is ready."""
    return html.Div(id=ids.PROGRESS_BOX, className="my-4", children=[
        html.Div(id=ids.PROGRESS_TEXT, className="mb-2 text-muted", children="Starting…"),
        dbc.Progress(id=ids.PROGRESS_BAR, value=0, striped=True, animated=True, style={"height": "1.4rem"}),
    ])


def _labelled(label: str, value_id: str, control) -> html.Div:
    return html.Div([
        html.Div(className="d-flex justify-content-between mb-1", children=[
            dbc.Label(label, className="fw-semibold m-0"),
            dbc.Badge(id=value_id, color="primary", className="fs-6"),
        ]),
        control,
    ])


def rule_selector(rule: APRule) -> html.Div:
    """The AP rule dropdown (every :func:`~detlens.core.ap_rule.every_rule` by its title), ``rule`` selected."""
    return html.Div([
        dbc.Label("AP rule", html_for=ids.AP_RULE, className="fw-semibold"),
        dcc.Dropdown(id=ids.AP_RULE, value=rule.code, clearable=False, searchable=False, maxHeight=360,
                     options=[{"label": r.title, "value": r.code} for r in every_rule()]),
    ])


def filters(rule: APRule = APRule()) -> dbc.Card:
    """Class multi-select, IoU threshold slider, minimum-confidence slider and its mode, AP rule (``rule``
    selected), and under them the per-class thresholds in use (:mod:`detlens.layouts.min_score_mode`)."""
    iou_marks = {v: f"{v:.2f}".rstrip("0").rstrip(".") for v in IOU_MARKS}
    score_marks = {0: "all", **{v: f"{v:g}" for v in SCORE_MARKS}}
    return dbc.Card(dbc.CardBody([dbc.Row(className="g-4", children=[
        dbc.Col(md=3, children=[
            dbc.Label("Classes", html_for=ids.CLASSES, className="fw-semibold"),
            dcc.Dropdown(id=ids.CLASSES, multi=True, placeholder="Select classes", maxHeight=300),
        ]),
        dbc.Col(md=3, children=_labelled("IoU threshold", ids.IOU_VALUE, dcc.Slider(
            id=ids.IOU, min=IOU_MIN, max=IOU_MAX, step=IOU_STEP, value=IOU_DEFAULT, marks=iou_marks,
            updatemode="mouseup", allow_direct_input=False))),
        dbc.Col(md=3, children=_labelled("Minimum confidence", ids.MIN_SCORE_VALUE, html.Div([dcc.Slider(
            id=ids.MIN_SCORE, min=0, max=SCORE_MAX, step=SCORE_STEP, value=0, marks=score_marks,
            updatemode="mouseup", allow_direct_input=False), min_score_mode.mode_selector()]))),
        dbc.Col(md=3, children=rule_selector(rule)),
    ]), html.Div(id=ids.THRESHOLDS_TABLE)]), className="mb-3 shadow-sm")


def build(source_id: str, logout: bool = False, rule: APRule = APRule(), pickers: dict | None = None) -> dbc.Container:
    """The whole page for the data source ``source_id`` (``logout``: with a logout link; ``rule``: the AP rule
    selected at first, the server's default; ``pickers``: the workspace pickers' first state, see :func:`pickers`)."""
    return dbc.Container(fluid=True, className="px-4 pb-5", children=[
        dcc.Store(id=ids.SOURCE, data=source_id),
        dcc.Store(id=ids.RUNS, data=(pickers or {}).get("runs", [])),
        dcc.Store(id=ids.DATA_KEY),
        # the view in the address bar: a link reproduces it, back and forward move between views
        dcc.Location(id=ids.URL, refresh=False),
        dcc.Store(id=ids.URL_SHOWN),
        # what each background callback computes, written only while its tab is shown (see callbacks/common.py)
        *(dcc.Store(id=request) for request in REQUEST_STORES),
        dcc.Interval(id=ids.STATUS_INTERVAL, interval=STATUS_POLL_MS),
        # not the status poll's timer: the poll's source is this callback's output, and Dash holds a callback
        # back while another one writing its inputs runs, so sharing a timer starved the poll under load
        dcc.Interval(id=ids.WORKSPACE_INTERVAL, interval=WORKSPACE_POLL_MS,
                     disabled=not (pickers or {}).get("reloadable", False)),
        header(logout, pickers),
        html.Div(id=ids.WORKSPACE_ALERT),
        progress_box(),
        html.Div(id=ids.SHELL_ALERT),
        dbc.Button("Prepare the data again", id=ids.PREP_RETRY, color="primary", className="mb-3",
                   style={"display": "none"}),  # shown when the preparation process died
        html.Div(id=ids.CACHE_ALERT),
        html.Div(id=ids.URL_NOTICE),
        html.Div(id=ids.CONTENT, style={"display": "none"}, children=[
            filters(rule),
            dbc.Tabs(id=ids.TABS, active_tab=ids.TAB_METRICS, className="mb-3", children=[
                dbc.Tab([compare.metrics_part(), metrics_tab.build()], label="Metrics", tab_id=ids.TAB_METRICS,
                        id=ids.tab_pane(ids.TAB_METRICS)),
                dbc.Tab([performance_tab.build(), compare.performance_part()], label="Performance by metric",
                        tab_id=ids.TAB_PERFORMANCE, id=ids.tab_pane(ids.TAB_PERFORMANCE)),
                dbc.Tab([compare.explorer_part(), explorer_tab.build()], label="Explorer", tab_id=ids.TAB_EXPLORER,
                        id=ids.tab_pane(ids.TAB_EXPLORER)),
            ]),
        ]),
    ])
