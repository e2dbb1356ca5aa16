"""Tab "Metrics": mAP/mAR cards, per-class AP/AR and precision-recall, metric importance and correlation, errors."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from detlens.core.vocabulary import Side
from detlens.layouts import ids
from detlens.layouts.placeholders import computing_figure

# not plotly's responsive mode: a figure sets its height, and in that mode dcc.Graph's resize deletes it and
# plotly sizes the plot by its container's height in percent, which collapsed to 0 under load (the charts drawn
# over the next card). The width still follows the column (plotly's autosize when the figure is drawn or resized).
GRAPH_CONFIG = {"displaylogo": False, "responsive": False}
HIDDEN = {"visibility": "hidden"}
VISIBLE = {"visibility": "visible"}
LEVEL_LEGEND = ("Levels: (P) prediction metric · (L) label metric · (F) frame (image) metric, "
                "given to every prediction and label of its image. Hover a bar for the metric's "
                "description; click it to open Performance by metric.")


def running_badge(component_id: str) -> html.Span:
    """A small "updating" spinner, made visible by a callback's ``running`` state."""
    return html.Span(id=component_id, style=HIDDEN, className="text-muted small ms-2", children=[
        dbc.Spinner(size="sm", spinner_class_name="me-1"), "updating…"])


def stat_card(title: str, value_id: str, hint: str, hint_id: str | None = None) -> dbc.Col:
    """One headline number with its title and a one-line hint (``hint_id``: a hint a callback rewrites)."""
    return dbc.Col(dbc.Card(dbc.CardBody([
        html.Div(title, className="text-muted small fw-semibold"),
        html.Div(id=value_id, className="fs-3 fw-bold", children="–"),
        html.Div(hint, className="small text-muted", **({"id": hint_id} if hint_id else {})),
    ]), className="h-100 shadow-sm"), xs=6, md=4, xl=True)


def importance_card() -> dbc.Card:
    """Importance and correlation bar charts with the side switch and the level legend."""
    return dbc.Card(className="shadow-sm mt-3", children=[
        dbc.CardHeader(className="d-flex flex-wrap align-items-center gap-3", children=[
            html.Span("Which metrics matter", className="fw-semibold"),
            dbc.RadioItems(id=ids.SIDE, inline=True, value=Side.PREDICTIONS.value, className="ms-auto", options=[
                {"label": side.title[0].upper() + side.title[1:], "value": side.value} for side in Side
            ]),
            dbc.Switch(id=ids.HIDE_CONFIDENCE, value=False, className="m-0",
                       label="hide Model Confidence (it ranks first by construction)"),
            running_badge(ids.IMPORTANCE_RUNNING),
        ]),
        dbc.CardBody([
            html.Div(id=ids.IMPORTANCE_ALERT),
            dbc.Row([
                dbc.Col(dcc.Graph(id=ids.IMPORTANCE_GRAPH, config=GRAPH_CONFIG, figure=computing_figure()), lg=6),
                dbc.Col(dcc.Graph(id=ids.CORRELATION_GRAPH, config=GRAPH_CONFIG, figure=computing_figure()), lg=6),
            ]),
            html.Div(LEVEL_LEGEND, className="small text-muted"),
        ]),
    ])


ERRORS_LEGEND = ("TIDE (Bolya et al. 2020, as hotcoco): ΔAP is the AP gained by fixing one error type alone; "
                 "FP and FN fix every false positive or every missed label. Confusion: rows are labels, columns "
                 "predictions, colour the share of the row. Click a bar or a cell to open its objects in the Explorer.")


def on_demand_header(title: str, switch_id: str, running_id: str, hint: str) -> dbc.CardHeader:
    """A card header with a switch that opens the card's body (computed only while open) and its running badge."""
    return dbc.CardHeader(className="d-flex align-items-center gap-3", children=[
        html.Span(title, className="fw-semibold"),
        dbc.Switch(id=switch_id, value=False, label="Show", className="m-0 small"),
        html.Span(hint, className="small text-muted"),
        running_badge(running_id)])


def errors_card() -> dbc.Card:
    """TIDE ΔAP per error type, the confusion heatmap (or most confused pairs) and the reliability diagram,
    computed and shown once its switch is on (TIDE takes seconds at millions of predictions)."""
    return dbc.Card(className="shadow-sm mt-3", children=[
        on_demand_header("Errors", ids.ERRORS_SHOW, ids.ERRORS_RUNNING,
                         "TIDE error types, confusion matrix and calibration, at this view"),
        dbc.Collapse(id=ids.ERRORS_BODY, is_open=False, children=dbc.CardBody([
            html.Div(id=ids.ERRORS_ALERT),
            dbc.Row([
                dbc.Col(dcc.Graph(id=ids.TIDE_GRAPH, config=GRAPH_CONFIG, figure=computing_figure()), lg=6),
                dbc.Col(dcc.Graph(id=ids.RELIABILITY_GRAPH, config=GRAPH_CONFIG, figure=computing_figure()), lg=6),
            ]),
            dcc.Graph(id=ids.CONFUSION_GRAPH, config=GRAPH_CONFIG, figure=computing_figure(420)),
            html.Div(ERRORS_LEGEND, className="small text-muted"),
        ])),
    ])


def build() -> html.Div:
    """Content of the Metrics tab."""
    return html.Div(className="pt-2", children=[
        dbc.Row(className="g-3 align-items-stretch", children=[
            stat_card("mAP", ids.MAP_VALUE, "mean AP over the selected classes", ids.MAP_RULE),
            stat_card("mAP@[.50:.95]", ids.MAP_RANGE_VALUE, "mean of mAP over IoU 0.50, 0.55, …, 0.95"),
            stat_card("mAR", ids.MAR_VALUE, "mean recall over the selected classes"),
            stat_card("True positives", ids.TP_VALUE, "matched predictions"),
            stat_card("False positives", ids.FP_VALUE, "unmatched predictions"),
            stat_card("False negatives", ids.FN_VALUE, "missed labels"),
            dbc.Col(running_badge(ids.METRICS_RUNNING), width="auto", className="d-flex align-items-center"),
        ]),
        html.Div(id=ids.METRICS_ALERT, className="mt-3"),
        dbc.Card(className="shadow-sm mt-3", children=dbc.CardBody(dbc.Row([
            dbc.Col(html.Div(dcc.Graph(id=ids.AP_AR_GRAPH, config=GRAPH_CONFIG, figure=computing_figure(360)),
                             className="ap-ar-scroll", style={"maxHeight": "640px", "overflowY": "auto"}), lg=7),
            dbc.Col(dcc.Graph(id=ids.PR_GRAPH, config=GRAPH_CONFIG, figure=computing_figure(360)), lg=5),
        ]))),
        importance_card(),
        errors_card(),
    ])
