"""Callbacks of the Explorer tab: metric and sort choices, the range slider, chips, counts and the grid."""

from __future__ import annotations

import hashlib
import math

import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import Input, Output, State, html, no_update
from dash.exceptions import PreventUpdate

from detlens.callbacks import inputs
from detlens.callbacks.common import DEFAULT_MODE, DEFAULT_RULE, alert, background, error_alert, tab_gate, view_inputs
from detlens.callbacks.compare_mode import explorer_of
from detlens.callbacks.figures import FONT, TEMPLATE
from detlens.callbacks.text import format_value, metric_unit
from detlens.core.explorer import ExplorerFilter, metric_columns
from detlens.core.settings import EXPLORER_PAGE_SIZE, EXPLORER_RANGE_STEPS
from detlens.core.vocabulary import OutcomeGroup
from detlens.layouts import ids
from detlens.layouts.explorer_cards import thumbnail_card
from detlens.layouts.image_urls import thumb_url

MAX_PAGE = 10**9  # larger page numbers are not a page of any table
SORT_EXTRA = [{"label": "Confidence", "value": "score"}, {"label": "IoU", "value": "iou"}]


def fmt_metric(column: str, value: float | None) -> str:
    """A metric value with its unit, for captions and tables."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if column in ("score", "iou"):
        return f"{value:.3f}"
    return format_value(value, metric_unit(column))


def fill_explorer_choices(queries, key):
    """Metric columns of the object table (frame metrics by name, object metrics by base name) and sort keys."""
    key = inputs.dataset_key(key)
    if not key:
        raise PreventUpdate
    columns = metric_columns(list(queries.summary(key)["metrics"]))
    options = [{"label": c, "value": c} for c in columns]
    return options, SORT_EXTRA + options


def range_text(flt: ExplorerFilter) -> str:
    """The metric range in words: "[0.05, 0.24)" or "≥ 0.3" or "" when none."""
    if flt.metric is None or (flt.low is None and flt.high is None):
        return "" if flt.metric is None else "any value"
    lo = "" if flt.low is None else fmt_metric(flt.metric, flt.low)
    hi = "" if flt.high is None else fmt_metric(flt.metric, flt.high)
    if flt.high is None:
        return f"≥ {lo}"
    if flt.low is None:
        return f"{'≤' if flt.high_closed else '<'} {hi}"
    return f"[{lo}, {hi}{']' if flt.high_closed else ')'}"


def score_text(flt: ExplorerFilter) -> str:
    """The confidence range in words ("all", "≥ 0.42", "0.20 – 0.80")."""
    if flt.score_low is None and flt.score_high is None:
        return "all"
    if flt.score_high is None:
        return f"≥ {flt.score_low:.3f}"
    return f"{flt.score_low or 0:.2f} – {flt.score_high:.2f}"


def show_range(queries, filter_doc, key):
    """The range slider spans the metric's values over all objects and shows the filter's range.

    A filter or key the page cannot have sent disables the slider (the chips say why).
    """
    try:
        flt, key = inputs.explorer_filter(filter_doc), inputs.dataset_key(key)
    except inputs.InvalidInput:
        return 0, 1, None, [0, 1], True, "", ""
    extent = None
    if key and flt.metric:
        try:
            extent = queries.explorer.metric_extent(key, flt.metric)
        except (ValueError, KeyError):
            extent = None
    if extent is None:
        return 0, 1, None, [0, 1], True, range_text(flt), score_text(flt)
    lo, hi = min(extent[0], flt.low if flt.low is not None else extent[0]), \
        max(extent[1], flt.high if flt.high is not None else extent[1])
    step = (hi - lo) / EXPLORER_RANGE_STEPS or None
    value = [lo if flt.low is None else flt.low, hi if flt.high is None else flt.high]
    return lo, hi, step, value, False, range_text(flt), score_text(flt)


def errors_text(flt: ExplorerFilter) -> str:
    """The error part of a filter in words: "TIDE error: Cls", "Confusion: labelled cat, predicted dog"."""
    parts = []
    if flt.error_types is not None:
        parts.append(f"TIDE error: {', '.join(e.value for e in flt.error_types) or 'none'}")
    if flt.confusion is not None:
        parts.append(f"Confusion: labelled {flt.confusion[0]}, predicted {flt.confusion[1]}")
    return " · ".join(parts)


def chips_of(flt: ExplorerFilter) -> list:
    """One removable badge per active part of the filter (outcome, classes, metric range, confidence)."""
    chips = []
    if set(flt.outcomes) != set(OutcomeGroup.defaults()):
        words = ", ".join(OutcomeGroup(o).label for o in flt.outcomes) or "none"
        chips.append(("outcomes", f"Outcome: {words}", "success"))
    if flt.classes is not None:
        chips.append(("classes", f"Class: {', '.join(flt.classes)}", "primary"))
    if flt.metric is not None:
        chips.append(("metric", f"{flt.metric}: {range_text(flt)}", "info"))
    if flt.score_low is not None or flt.score_high is not None:
        chips.append(("score", f"Confidence {score_text(flt)}", "warning"))
    if flt.needs_errors:
        chips.append(("errors", errors_text(flt), "danger"))
    return [dbc.Badge([text, html.Span(" ×", className="ms-1 fw-bold")], id={"type": ids.EXPLORER_CHIP, "part": part}, color=color, pill=True,
                      className="explorer-chip", n_clicks=0, title="Remove this filter")
            for part, text, color in chips]


def show_chips(filter_doc):
    """The active filters as removable chips (a warning instead when the filter is not valid)."""
    try:
        return chips_of(inputs.explorer_filter(filter_doc))
    except inputs.InvalidInput as exc:
        return [alert(str(exc))]


def histogram_figure(hist: dict | None, flt: ExplorerFilter) -> dict:
    """Small bars of the metric's distribution; bars inside the filter's range are coloured."""
    fig = go.Figure()
    if hist and hist["counts"]:
        edges, counts = hist["edges"], hist["counts"]
        centres = [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:])]
        lo = -math.inf if flt.low is None else flt.low
        hi = math.inf if flt.high is None else flt.high
        colors = ["#1c7ed6" if lo <= c <= hi else "#ced4da" for c in centres]
        fig.add_trace(go.Bar(x=centres, y=counts, width=[b - a for a, b in zip(edges[:-1], edges[1:])],
                             marker_color=colors, hovertemplate="%{x:.3g}: %{y:,}<extra></extra>"))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_layout(template=TEMPLATE, height=70, margin=dict(l=8, r=8, t=2, b=2), font=FONT, bargap=0.05,
                      showlegend=False, paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)")
    return fig.to_dict()


def count_text(counts: dict) -> str:
    """"312 objects · 200 TP · 80 FP · 32 FN" (detected and ignored when present)."""
    parts = [f"{counts['objects']:,} object{'s' if counts['objects'] != 1 else ''}"]
    shown = (OutcomeGroup.TP, OutcomeGroup.FP, OutcomeGroup.FN, OutcomeGroup.DETECTED, OutcomeGroup.IGNORED)
    parts += [f"{counts[k]:,} {k}" for k in shown if counts[k]]
    return " · ".join(parts)


def histogram_digest(target, flt: ExplorerFilter) -> str:
    """Which objects a histogram shows: the view (or compare view) and the filter, not the order or the page."""
    return hashlib.sha256(repr((target, flt)).encode()).hexdigest()[:24]


def update_grid(queries, key, classes, iou, min_score, filter_doc, sort_by, order, active_page, active_tab,
                rule=DEFAULT_RULE, mode=DEFAULT_MODE, compare=None, histogram_shown=None):
    """The count, the histogram and one page of thumbnails of the filtered, sorted objects (``compare``: the
    ``COMPARE`` store; in compare mode both runs\' objects, :mod:`detlens.callbacks.compare_mode`).

    ``histogram_shown``: the :func:`histogram_digest` of the histogram the page shows; when it is this one
    (another page or order of the same objects), the histogram is not sent again and the browser does not
    redraw it. Returns cards, count text, page count, histogram figure, its digest, alert.
    """
    if not key or active_tab != ids.TAB_EXPLORER:
        raise PreventUpdate
    flt = ExplorerFilter()
    try:
        flt = inputs.explorer_filter(filter_doc)
        view = queries.view(*inputs.view(key, classes, iou, min_score, rule, mode))
        sort_by = inputs.text(sort_by, "sort column")
        active_page = inputs.whole_number(active_page or 1, "page number", 1, MAX_PAGE)
        explorer, target = explorer_of(queries, view, compare)
        table_of = explorer.table_of(target)  # read once for the rows and the page
        shown = explorer.filtered(target, flt, sort_by or "score", order != "asc", table_of)
        pages = max(1, math.ceil(len(shown["rows"]) / EXPLORER_PAGE_SIZE))
        value_column = flt.metric if sort_by in ("score", "iou", None) else sort_by
        items = explorer.page(target, shown["rows"], min(active_page, pages), value_column, table_of)
        has_images = queries.has_images(view.key)
    except Exception as exc:
        return [], "", 1, histogram_figure(None, flt), None, error_alert(exc)
    cards = [thumbnail_card(item, thumb_url(key, item["image_index"]) if has_images else None, value_column,
                            fmt_metric(value_column, item["value"]) if value_column else None) for item in items]
    note = None if items else alert("No objects match these filters. Remove a chip above to widen them.", "light")
    digest = histogram_digest(target, flt)
    if digest == histogram_shown:
        return cards, count_text(shown["counts"]), pages, no_update, no_update, note
    return cards, count_text(shown["counts"]), pages, histogram_figure(shown["histogram"], flt), digest, note


def register(app, queries) -> None:
    """Wire this module's callbacks to ``app``, answering from ``queries``."""
    @app.callback(
        Output(ids.EXPLORER_METRIC, "options"),
        Output(ids.EXPLORER_SORT, "options"),
        Input(ids.DATA_KEY, "data"),
    )
    def _fill_explorer_choices(key):
        return fill_explorer_choices(queries, key)

    @app.callback(
        Output(ids.EXPLORER_RANGE, "min"),
        Output(ids.EXPLORER_RANGE, "max"),
        Output(ids.EXPLORER_RANGE, "step"),
        Output(ids.EXPLORER_RANGE, "value"),
        Output(ids.EXPLORER_RANGE, "disabled"),
        Output(ids.EXPLORER_RANGE_TEXT, "children"),
        Output(ids.EXPLORER_SCORE_TEXT, "children"),
        Input(ids.EXPLORER_FILTER, "data"),
        Input(ids.DATA_KEY, "data"),
    )
    def _show_range(filter_doc, key):
        return show_range(queries, filter_doc, key)

    app.callback(Output(ids.EXPLORER_CHIPS, "children"), Input(ids.EXPLORER_FILTER, "data"))(show_chips)

    @app.callback(
        Output(ids.EXPLORER_GRID, "children"),
        Output(ids.EXPLORER_COUNT, "children"),
        Output(ids.EXPLORER_PAGES, "max_value"),
        Output(ids.EXPLORER_HISTOGRAM, "figure"),
        Output(ids.EXPLORER_HISTOGRAM_SHOWN, "data"),
        Output(ids.EXPLORER_ALERT, "children"),
        tab_gate(app, ids.TAB_EXPLORER, ids.EXPLORER_REQUEST, [
            *view_inputs(), Input(ids.EXPLORER_FILTER, "data"), Input(ids.EXPLORER_SORT, "value"),
            Input(ids.EXPLORER_ORDER, "value"), Input(ids.EXPLORER_PAGES, "active_page"), Input(ids.COMPARE, "data")]),
        State(ids.EXPLORER_HISTOGRAM_SHOWN, "data"),
        prevent_initial_call=True,
        **background(ids.EXPLORER_RUNNING),
    )
    def _update_grid(request, histogram_shown):
        (key, classes, iou, min_score, rule, mode, filter_doc, sort_by, order,
         active_page, compare) = inputs.request(request, 11)
        return update_grid(queries, key, classes, iou, min_score, filter_doc, sort_by, order, active_page,
                           ids.TAB_EXPLORER, rule, mode, compare=compare, histogram_shown=histogram_shown)
