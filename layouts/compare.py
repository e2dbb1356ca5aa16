"""Compare mode's parts of the page: the "Compare with" picker, and a part per tab shown only in compare mode.

Each part holds its tab gate's request store (:func:`detlens.callbacks.common.tab_gate`), so the shell lists
none of them.
"""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from detlens.core.settings import STATUS_POLL_MS
from detlens.core.vocabulary import CompareGroup
from detlens.layouts import ids
from detlens.layouts.metrics_tab import GRAPH_CONFIG, running_badge
from detlens.layouts.placeholders import computing_figure

SHOWN, HIDDEN = {}, {"display": "none"}
ALL_OBJECTS = "all"  # the Explorer's compare radio without a group
COMPARE_OPTIONS = [{"label": "all objects", "value": ALL_OBJECTS}] + [
    {"label": group.label, "value": group.value} for group in CompareGroup]
NO_RUN_TEXT = "none (one run)"


def compare_picker() -> html.Div:
    """The "Compare with" run picker (cleared: normal mode), the compare store and why compare mode is off."""
    return html.Div(id=ids.COMPARE_PICKER_BOX, className="d-flex align-items-center gap-2", style=HIDDEN,
                    children=[
        dcc.Store(id=ids.COMPARE),
        dcc.Interval(id=ids.COMPARE_INTERVAL, interval=STATUS_POLL_MS, disabled=True),
        dbc.Label("Compare with", html_for=ids.COMPARE_PICKER, className="fw-semibold m-0 small"),
        dcc.Dropdown(id=ids.COMPARE_PICKER, options=[], value=None, clearable=True, searchable=False,
                     placeholder=NO_RUN_TEXT, style={"minWidth": "12rem"}),
        html.Div(id=ids.COMPARE_ALERT, className="small"),
    ])


def summary_table(rows: list[dict], names: tuple[str, str]) -> dbc.Table:
    """The delta card's table: per statistic, both runs, B - A and its interval.

    Args:
        rows: ``{"name", "a", "b", "delta", "ci"}`` with the values already as text.
        names: the runs' names.
    """
    head = html.Thead(html.Tr([html.Th(""), html.Th(f"A · {names[0]}"), html.Th(f"B · {names[1]}"),
                               html.Th("B - A"), html.Th("95% CI")]))
    body = html.Tbody([html.Tr(className="compare-row", **{"data-stat": r["name"]}, children=[
        html.Th(r["name"]), html.Td(r["a"]), html.Td(r["b"]), html.Td(r["delta"], className="fw-bold compare-delta"),
        html.Td(r["ci"], className="compare-ci")]) for r in rows])
    return dbc.Table([head, body], bordered=False, hover=True, size="sm", className="mb-0")


def card_header(title: str, hint: str | None, running_id: str) -> dbc.CardHeader:
    """A compare card's header: its title, a muted hint and the "updating" badge of its callback."""
    return dbc.CardHeader(className="d-flex align-items-center", children=[
        html.Span(title, className="fw-semibold"),
        *([html.Span(hint, className="small text-muted ms-2")] if hint else []),
        running_badge(running_id)])


def metrics_part() -> html.Div:
    """The Metrics tab in compare mode: the delta card, per-class differences, both runs' importance."""
    return html.Div(id=ids.COMPARE_METRICS_BOX, style=HIDDEN, className="mt-3", children=[
        dcc.Store(id=ids.COMPARE_METRICS_REQUEST),
        dcc.Store(id=ids.COMPARE_IMPORTANCE_REQUEST),
        dbc.Card(className="shadow-sm border-primary", children=[
            card_header("Run A against run B", "differences B - A with 95% paired-bootstrap intervals over images",
                        ids.COMPARE_METRICS_RUNNING),
            dbc.CardBody([
                html.Div(id=ids.COMPARE_METRICS_ALERT),
                dbc.Row([
                    dbc.Col(html.Div(id=ids.COMPARE_SUMMARY), lg=5),
                    dbc.Col(dcc.Graph(id=ids.COMPARE_CLASS_GRAPH, config=GRAPH_CONFIG, figure=computing_figure(320)),
                            lg=7),
                ]),
            ]),
        ]),
        dbc.Card(className="shadow-sm mt-3", children=[
            card_header("Which metrics matter, run by run",
                        "(the side and the Model Confidence switch of the card below)", ids.COMPARE_IMPORTANCE_RUNNING),
            dbc.CardBody(dbc.Row([
                dbc.Col(dcc.Graph(id=ids.COMPARE_IMPORTANCE_A, config=GRAPH_CONFIG, figure=computing_figure()), lg=6),
                dbc.Col(dcc.Graph(id=ids.COMPARE_IMPORTANCE_B, config=GRAPH_CONFIG, figure=computing_figure()), lg=6),
            ])),
        ]),
    ])


def performance_part() -> html.Div:
    """Performance by metric in compare mode: both runs per bucket, the differences and the finding."""
    return html.Div(id=ids.COMPARE_PERF_BOX, style=HIDDEN, className="mt-3", children=[
        dcc.Store(id=ids.COMPARE_PERF_REQUEST),
        dbc.Card(className="shadow-sm border-primary", children=[
            card_header("Run A against run B, all selected classes together", None, ids.COMPARE_PERF_RUNNING),
            dbc.CardBody([
                html.Div(id=ids.COMPARE_PERF_ALERT),
                dbc.Alert(id=ids.COMPARE_PERF_FINDING, color="light", className="mb-2 fw-semibold border"),
                dcc.Graph(id=ids.COMPARE_PERF_GRAPH, config=GRAPH_CONFIG, figure=computing_figure(660)),
            ]),
        ]),
    ])


def explorer_part() -> html.Div:
    """The Explorer's compare filter (shown in compare mode): all objects, or one compare group."""
    return html.Div(id=ids.EXPLORER_COMPARE_BOX, style=HIDDEN, className="mt-2", children=[
        dbc.Label("Compare", className="fw-semibold me-3"),
        dbc.RadioItems(id=ids.EXPLORER_COMPARE, options=COMPARE_OPTIONS, value=ALL_OBJECTS, inline=True,
                       className="d-inline-block"),
        html.Span("fixed: wrong in A, right in B · broken: the reverse · B's predictions have a double border "
                  "(faint ones: light-blue dashes)", className="small text-muted ms-2"),
    ])
