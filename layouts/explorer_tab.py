"""Tab "Explorer": filters with removable chips, a paged grid of thumbnails, the detail modal and downloads."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from detlens.core.explorer import ExplorerFilter, expand_fp
from detlens.core.settings import EXPLORER_SORT_DEFAULT
from detlens.core.vocabulary import OutcomeGroup
from detlens.layouts import ids
from detlens.layouts.placeholders import computing_figure
from detlens.layouts.metrics_tab import running_badge

OUTCOME_OPTIONS = [{"label": group.label, "value": group.value} for group in OutcomeGroup.choices()]
# the default groups TP, FP, FN, with FP shown as its reasons
DEFAULT_OUTCOME_VALUES = [g.value for g in expand_fp(OutcomeGroup.defaults())]
GRAPH_CONFIG = {"displaylogo": False, "displayModeBar": False, "responsive": True}


def filters_card() -> dbc.Card:
    """Outcome checklist, metric with range slider over its histogram, confidence range."""
    return dbc.Card(className="shadow-sm", children=dbc.CardBody(dbc.Row(className="g-4", children=[
        dbc.Col(lg=4, children=[
            dbc.Label("Outcome", className="fw-semibold"),
            dbc.Checklist(id=ids.EXPLORER_OUTCOMES, options=OUTCOME_OPTIONS, value=DEFAULT_OUTCOME_VALUES,
                          inline=True, switch=False, className="explorer-outcomes"),
        ]),
        dbc.Col(lg=5, children=[
            html.Div(className="d-flex justify-content-between align-items-baseline", children=[
                dbc.Label("Metric range", html_for=ids.EXPLORER_METRIC, className="fw-semibold m-0"),
                html.Span(id=ids.EXPLORER_RANGE_TEXT, className="small text-muted"),
            ]),
            dcc.Dropdown(id=ids.EXPLORER_METRIC, placeholder="Any metric…", maxHeight=320, className="mb-1"),
            dcc.Graph(id=ids.EXPLORER_HISTOGRAM, config=GRAPH_CONFIG, style={"height": "70px"},
                      figure=computing_figure(70), className="explorer-histogram"),
            dcc.Store(id=ids.EXPLORER_HISTOGRAM_SHOWN),
            dcc.RangeSlider(id=ids.EXPLORER_RANGE, min=0, max=1, value=[0, 1], marks=None, allowCross=False,
                            updatemode="mouseup", disabled=True, allow_direct_input=False),
        ]),
        dbc.Col(lg=3, children=[
            html.Div(className="d-flex justify-content-between align-items-baseline", children=[
                dbc.Label("Confidence", className="fw-semibold m-0"),
                html.Span(id=ids.EXPLORER_SCORE_TEXT, className="small text-muted"),
            ]),
            dcc.RangeSlider(id=ids.EXPLORER_SCORE, min=0, max=1, step=0.01, value=[0, 1], allowCross=False,
                            marks={0: "0", 0.5: "0.5", 1: "1"}, updatemode="mouseup", allow_direct_input=False),
            html.Div("applies to predictions; labels have no confidence", className="small text-muted mt-2"),
        ]),
    ])))


def toolbar() -> html.Div:
    """Active filter chips, the count, sort order and downloads."""
    return html.Div(className="d-flex flex-wrap align-items-center gap-2 my-3", children=[
        html.Div(id=ids.EXPLORER_CHIPS, className="d-flex flex-wrap gap-2 align-items-center"),
        html.Span(id=ids.EXPLORER_COUNT, className="fw-semibold ms-1"),
        running_badge(ids.EXPLORER_RUNNING),
        html.Div(className="ms-auto d-flex align-items-center gap-2", children=[
            html.Span("Sort by", className="text-muted small"),
            dcc.Dropdown(id=ids.EXPLORER_SORT, value="score", clearable=False, style={"width": "240px"},
                         maxHeight=320),
            dbc.RadioItems(id=ids.EXPLORER_ORDER, value="desc", inline=True, className="small",
                           options=[{"label": "↑ asc", "value": "asc"}, {"label": "↓ desc", "value": "desc"}]),
            dbc.Button("CSV", id=ids.EXPLORER_CSV, color="secondary", outline=True, size="sm",
                       title="One row per filtered object: ids, file, class, box, score, outcome, every metric"),
            dbc.Button("COCO pair", id=ids.EXPLORER_COCO, color="secondary", outline=True, size="sm",
                       title="labels.json + predictions.json of the filtered objects' images (zip)"),
            dcc.Download(id=ids.EXPLORER_DOWNLOAD),
        ]),
    ])


def detail_modal() -> dbc.Modal:
    """The full image of a clicked thumbnail with all its boxes and metrics."""
    return dbc.Modal(id=ids.EXPLORER_MODAL, size="xl", is_open=False, scrollable=True, children=[
        dbc.ModalHeader(dbc.ModalTitle(id=ids.EXPLORER_DETAIL_TITLE)),
        dbc.ModalBody(id=ids.EXPLORER_DETAIL),
    ])


def build() -> html.Div:
    """Content of the Explorer tab."""
    return html.Div(className="pt-2", children=[
        dcc.Store(id=ids.EXPLORER_FILTER, data=ExplorerFilter().to_dict()),
        filters_card(),
        toolbar(),
        html.Div(id=ids.EXPLORER_ALERT),
        html.Div(id=ids.EXPLORER_GRID, className="explorer-grid"),
        html.Div(className="d-flex justify-content-center mt-3", children=dbc.Pagination(
            id=ids.EXPLORER_PAGES, max_value=1, active_page=1, fully_expanded=False, first_last=True,
            previous_next=True)),
        detail_modal(),
    ])
