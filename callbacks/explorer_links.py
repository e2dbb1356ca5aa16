"""Linked charts and the Explorer's filter: chart clicks, filter controls and chips all edit one filter.

The filter lives in the ``EXPLORER_FILTER`` store (``ExplorerFilter.to_dict()``);
the controls show it. A click on a chart replaces it with exactly the
objects behind the clicked mark and opens the Explorer:

* a bucket of Performance by metric: the metric's range ``[edge_i, edge_i+1)``
  (last bucket closed) and, for the TPR line or the predictions bar, the
  bucket's predictions (``TP`` + ``FP``); for the FNR line or the labels bar,
  its labels (``FN`` + ``detected``); a per-class line adds its class;
* a class's AP bar: its predictions (TP + FP); its AR bar: its labels (FN + detected);
* a point of a precision-recall curve: the class's predictions with confidence
  at least the point's score (the predictions counted up to that point).
"""

from __future__ import annotations

import math

from dash import ALL, Input, Output, State, no_update
from dash.exceptions import PreventUpdate

from detlens.callbacks import inputs
from detlens.callbacks.common import triggered
from detlens.core.explorer import ExplorerFilter, expand_fp, metric_column
from detlens.layouts import ids
from detlens.core.vocabulary import OutcomeGroup, Side

CHIP_PARTS = ("outcomes", "classes", "metric", "score")  # what ExplorerFilter.without resets


def filter_from_bucket(click: dict | None, perf_metric: str | None) -> ExplorerFilter | None:
    """The objects of a clicked performance-chart bucket, or None when the click is not on a bucket.

    Raises:
        InvalidInput: a click the chart cannot have sent.
    """
    data = (inputs.first_point(click) or {}).get("customdata")
    if not perf_metric or not isinstance(data, list) or len(data) < 8 or data[5] not in [s.rate for s in Side]:
        return None
    _, _, _, low, high, side, class_name, last = data[:8]
    class_name = inputs.text(class_name, "clicked class")
    return ExplorerFilter(outcomes=Side.of_rate(side).groups,
                          classes=(class_name,) if class_name else None, metric=metric_column(perf_metric),
                          low=inputs.optional_number(low, "bucket edge"),
                          high=inputs.optional_number(high, "bucket edge"), high_closed=bool(last))


def filter_from_class_bar(click: dict | None) -> ExplorerFilter | None:
    """A clicked AP bar (curve 0): the class's predictions; an AR bar (curve 1): its labels.

    The class is the bar's ``customdata[0]`` (horizontal bars: the full name), else its ``x``.
    """
    point = inputs.first_point(click)
    custom = (point or {}).get("customdata")
    name = custom[0] if isinstance(custom, list) and custom else (point or {}).get("x")
    if not name:
        return None
    outcomes = (Side.LABELS if point.get("curveNumber") == 1 else Side.PREDICTIONS).groups
    name = inputs.text(str(name) if isinstance(name, (int, float)) else name, "clicked class")
    return ExplorerFilter(outcomes=outcomes, classes=(name,))


def filter_from_pr_point(click: dict | None) -> ExplorerFilter | None:
    """A clicked precision-recall point: its class's predictions with confidence >= the point's score."""
    data = (inputs.first_point(click) or {}).get("customdata")
    if not isinstance(data, list) or len(data) < 2:
        return None
    return ExplorerFilter(outcomes=Side.PREDICTIONS.groups, classes=(inputs.text(data[0], "clicked class"),),
                          score_low=inputs.number(data[1], "clicked confidence", -math.inf, math.inf))


def filter_from_controls(flt: ExplorerFilter, trigger: str, outcomes: list[str] | None, metric: str | None,
                         value_range: list[float] | None, bounds: tuple[float, float, float] | None,
                         score: list[float] | None) -> ExplorerFilter | None:
    """The filter after the user moved one control, or None when nothing changes.

    Args:
        flt: the current filter.
        trigger: id of the control that changed.
        outcomes, metric, value_range, score: the controls' values.
        bounds: ``(min, max, step)`` of the metric range slider (None when disabled).
    """
    from dataclasses import replace

    if trigger == ids.EXPLORER_OUTCOMES:
        return replace(flt, outcomes=tuple(outcomes or ()))
    if trigger == ids.EXPLORER_METRIC:
        return None if metric == flt.metric else replace(flt.without("metric"), metric=metric or None)
    if trigger == ids.EXPLORER_RANGE:
        if not value_range or bounds is None or flt.metric is None:
            return None
        lo, hi, step = bounds
        tol = step / 2 if step else 0.0
        shown_lo = lo if flt.low is None else flt.low
        shown_hi = hi if flt.high is None else flt.high
        if abs(value_range[0] - shown_lo) <= tol and abs(value_range[1] - shown_hi) <= tol:
            return None  # the slider only echoed the filter (or snapped it to its step)
        low = None if value_range[0] <= lo + tol else float(value_range[0])
        high = None if value_range[1] >= hi - tol else float(value_range[1])
        return replace(flt, low=low, high=high, high_closed=True)
    if trigger == ids.EXPLORER_SCORE and score:
        low = None if score[0] <= 0 else float(score[0])
        high = None if score[1] >= 1 else float(score[1])
        return None if (low, high) == (flt.score_low, flt.score_high) else replace(flt, score_low=low, score_high=high)
    return None


def outcome_values(flt: ExplorerFilter) -> list[str]:
    """The outcome checklist's value for a filter ("FP" shown as every FP reason)."""
    return [g.value for g in expand_fp(flt.outcomes)]


def update_filter(perf_click, class_click, pr_click, chip_clicks, outcomes, metric, value_range, score,
                  current, perf_metric, range_min, range_max, range_step, range_disabled):
    """One place that edits the Explorer filter: chart clicks, chip removals and the filter controls.

    Raises:
        InvalidInput: an input the page cannot have sent (the server answers 400).
    """
    trigger_id, trigger_value = triggered()
    flt = inputs.explorer_filter(current)
    outcomes = inputs.outcome_groups(outcomes)
    metric, perf_metric = inputs.text(metric, "metric"), inputs.text(perf_metric, "metric")
    value_range = inputs.number_pair(value_range, "metric range")
    score = inputs.number_pair(score, "confidence range")
    range_min, range_max, range_step = (inputs.optional_number(v, "slider bound")
                                        for v in (range_min, range_max, range_step))
    opened = None
    if trigger_id == ids.PERF_GRAPH:
        opened = filter_from_bucket(perf_click, perf_metric)
    elif trigger_id == ids.AP_AR_GRAPH:
        opened = filter_from_class_bar(class_click)
    elif trigger_id == ids.PR_GRAPH:
        opened = filter_from_pr_point(pr_click)
    if opened is not None:
        sort = (opened.metric, "asc") if opened.metric else ("score", "desc")
        return (opened.to_dict(), ids.TAB_EXPLORER, outcome_values(opened), opened.metric,
                [opened.score_low or 0, opened.score_high or 1], 1, *sort)
    if isinstance(trigger_id, dict) and trigger_id.get("type") == ids.EXPLORER_CHIP:
        if not trigger_value:
            raise PreventUpdate  # a chip was drawn, not clicked
        new = flt.without(inputs.choice(trigger_id.get("part"), CHIP_PARTS, "filter part"))
    else:
        bounds = None if range_disabled or None in (range_min, range_max) else (range_min, range_max, range_step or 0)
        new = filter_from_controls(flt, trigger_id, outcomes, metric, value_range, bounds, score)
    if new is None or new == flt:
        raise PreventUpdate
    return (new.to_dict(), no_update, outcome_values(new), new.metric,
            [new.score_low or 0, new.score_high or 1], 1, no_update, no_update)


def register(app, queries) -> None:
    """Wire this module's callbacks to ``app``, answering from ``queries``."""
    app.callback(
        Output(ids.EXPLORER_FILTER, "data"),
        Output(ids.TABS, "active_tab", allow_duplicate=True),
        Output(ids.EXPLORER_OUTCOMES, "value"),
        Output(ids.EXPLORER_METRIC, "value"),
        Output(ids.EXPLORER_SCORE, "value"),
        Output(ids.EXPLORER_PAGES, "active_page"),
        Output(ids.EXPLORER_SORT, "value"),
        Output(ids.EXPLORER_ORDER, "value"),
        Input(ids.PERF_GRAPH, "clickData"),
        Input(ids.AP_AR_GRAPH, "clickData"),
        Input(ids.PR_GRAPH, "clickData"),
        Input({"type": ids.EXPLORER_CHIP, "part": ALL}, "n_clicks"),
        Input(ids.EXPLORER_OUTCOMES, "value"),
        Input(ids.EXPLORER_METRIC, "value"),
        Input(ids.EXPLORER_RANGE, "value"),
        Input(ids.EXPLORER_SCORE, "value"),
        State(ids.EXPLORER_FILTER, "data"),
        State(ids.PERF_METRIC, "value"),
        State(ids.EXPLORER_RANGE, "min"),
        State(ids.EXPLORER_RANGE, "max"),
        State(ids.EXPLORER_RANGE, "step"),
        State(ids.EXPLORER_RANGE, "disabled"),
        prevent_initial_call=True,
    )(update_filter)
