"""Tab "Performance by metric": metric and bucket controls, the TPR/FNR chart and the finding."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from detlens.core.settings import BUCKETS_DEFAULT, BUCKETS_MAX, BUCKETS_MIN
from detlens.layouts import ids
from detlens.layouts.metrics_tab import GRAPH_CONFIG, running_badge



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
                {"label": "one line per class", "value": "by_class"}]),
        ]),
    ])


def build() -> html.Div:
    """Content of the Performance by metric tab."""
    return html.Div(className="pt-2", children=[
        dbc.Card(dbc.CardBody(controls()), className="shadow-sm"),
        dbc.Card(className="shadow-sm mt-3", children=dbc.CardBody([
            html.Div(className="d-flex align-items-center", children=[
                html.Div(id=ids.PERF_DESCRIPTION, className="text-muted"), running_badge(ids.PERF_RUNNING)]),
            html.Div(id=ids.PERF_ALERT, className="mt-2"),
            dbc.Alert(id=ids.PERF_FINDING, color="light", className="mt-2 mb-2 fw-semibold border"),
            dcc.Graph(id=ids.PERF_GRAPH, config=GRAPH_CONFIG),
        ])),
    ])
