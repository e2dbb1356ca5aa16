"""Tab "Performance by metric": metric and bucket controls, the TPR/FNR chart (pooled or one panel per class)
and the finding."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from detlens.core.settings import (BUCKETS_DEFAULT, BUCKETS_MAX, BUCKETS_MIN, PERF_MIN_COUNT_DEFAULT,
                                   PERF_MIN_COUNT_MAX, PERF_PANELS_DEFAULT)
from detlens.layouts import ids
from detlens.layouts.metrics_tab import GRAPH_CONFIG, on_demand_header, running_badge
from detlens.layouts.placeholders import computing_figure

PANEL_BOX_STYLES = {False: {"display": "none"}, True: {}}  # the panel picker, by "per-class view shown"



def controls() -> dbc.Row:
    """Metric (grouped by level), number of buckets, bucket method, aggregate or by class."""
    return dbc.Row(className="g-3 align-items-end", children=[
        dbc.Col(lg=5, children=[
            dbc.Label("Metric", html_for=ids.PERF_METRIC, className="fw-semibold"),
            dcc.Dropdown(id=ids.PERF_METRIC, clearable=False, placeholder="Choose a metric", maxHeight=400),
        ]),
        dbc.Col(lg=2, xs=6, children=[
            dbc.Label("Buckets", html_for=ids.PERF_BUCKETS, className="fw-semibold"),
            dbc.Input(id=ids.PERF_BUCKETS, type="number", min=BUCKETS_MIN, max=BUCKETS_MAX, step=1,
                      value=BUCKETS_DEFAULT, debounce=True),
        ]),
        dbc.Col(lg=2, xs=6, children=[
            dbc.Label("Bucket edges", className="fw-semibold d-block"),
            dbc.RadioItems(id=ids.PERF_METHOD, value="quantile", options=[
                {"label": "quantiles", "value": "quantile"}, {"label": "equal width", "value": "equal_width"}]),
        ]),
        dbc.Col(lg=3, children=[
            dbc.Label("Show", className="fw-semibold d-block"),
            dbc.RadioItems(id=ids.PERF_DECOMPOSE, value="aggregate", options=[
                {"label": "all selected classes together", "value": "aggregate"},
                {"label": "one panel per class", "value": "by_class"}]),
        ]),
    ])


def panel_controls() -> dbc.Row:
    """TPR/FNR layout, minimum count per bucket, and (per-class view) the classes drawn as panels."""
    return dbc.Row(className="g-3 align-items-end mt-1", children=[
        dbc.Col(lg=3, children=[
            dbc.Label("TPR and FNR", className="fw-semibold d-block"),
            dbc.RadioItems(id=ids.PERF_LAYOUT, value="overlay", inline=True, options=[
                {"label": "one panel", "value": "overlay"}, {"label": "stacked", "value": "stacked"}]),
        ]),
        dbc.Col(lg=2, xs=6, children=[
            dbc.Label("Minimum objects per bucket", html_for=ids.PERF_MIN_COUNT, className="fw-semibold"),
            dbc.Input(id=ids.PERF_MIN_COUNT, type="number", min=1, max=PERF_MIN_COUNT_MAX, step=1,
                      value=PERF_MIN_COUNT_DEFAULT, debounce=True),
            html.Div("fewer: grey, not used for findings", className="small text-muted"),
        ]),
        dbc.Col(lg=7, id=ids.PERF_PANEL_BOX, style=PANEL_BOX_STYLES[False], children=[
            html.Div(className="d-flex justify-content-between align-items-baseline", children=[
                dbc.Label("Classes drawn as panels", html_for=ids.PERF_PANEL_CLASSES, className="fw-semibold m-0"),
                html.Span(id=ids.PERF_PANELS_TEXT, className="small text-muted"),
            ]),
            dcc.Dropdown(id=ids.PERF_PANEL_CLASSES, multi=True, maxHeight=320,
                         placeholder=f"the {PERF_PANELS_DEFAULT} largest classes"),
        ]),
    ])


def build() -> html.Div:
    """Content of the Performance by metric tab."""
    return html.Div(className="pt-2", children=[
        dbc.Card(dbc.CardBody([controls(), panel_controls()]), className="shadow-sm"),
        dbc.Card(className="shadow-sm mt-3", children=dbc.CardBody([
            html.Div(className="d-flex align-items-center", children=[
                html.Div(id=ids.PERF_DESCRIPTION, className="text-muted"), running_badge(ids.PERF_RUNNING)]),
            html.Div(id=ids.PERF_ALERT, className="mt-2"),
            dbc.Alert(id=ids.PERF_FINDING, color="light", className="mt-2 mb-2 fw-semibold border"),
            dcc.Graph(id=ids.PERF_GRAPH, config=GRAPH_CONFIG, figure=computing_figure(460)),
        ])),
        dbc.Card(className="shadow-sm mt-3", children=[
            on_demand_header("Errors per bucket", ids.PERF_ERRORS_SHOW, ids.PERF_ERRORS_RUNNING,
                             "TIDE error types in each bucket of this metric"),
            dbc.Collapse(id=ids.PERF_ERRORS_BODY, is_open=False, children=dbc.CardBody([
                html.Div(id=ids.PERF_ERRORS_ALERT),
                dcc.Graph(id=ids.PERF_ERRORS_GRAPH, config=GRAPH_CONFIG, figure=computing_figure(420)),
                html.Div("TIDE error types of the bucket's false positives (by their own value) and missed labels "
                         "(by theirs); hover a segment for the AP gained by fixing only those errors, click it to "
                         "open them in the Explorer.", className="small text-muted"),
            ])),
        ]),
    ])
