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
  at least the point's score (the predictions counted up to that point);
* a ΔAP bar of the Errors card: the false positives of that TIDE type (the
  missed labels for ``Miss``); the FP oracle: every false positive, FN: every
  false-negative label;
* a confusion cell or pair (label class X, predicted class Y): exactly the
  objects counted in that cell (:mod:`detlens.core.explorer.errors`): the
  predictions of Y paired with a label of X; the background row: the
  predictions of Y paired with no label; the background column: the labels of
  X no prediction was paired with;
* a segment of the errors-per-bucket bars: the bucket's false positives (or
  missed labels) of that TIDE type, by the same metric range as a TPR/FNR bucket.
"""

from __future__ import annotations

import math

from dash import ALL, Input, Output, State, no_update
from dash.exceptions import PreventUpdate

from detlens.callbacks import inputs
from detlens.callbacks.common import triggered
from detlens.core.explorer import ExplorerFilter, expand_fp, metric_column
from detlens.layouts import ids
from detlens.core.vocabulary import ErrorType, OutcomeGroup, Side, TideOracle

CHIP_PARTS = ("outcomes", "classes", "metric", "score", "errors")  # what ExplorerFilter.without resets
# what a click opening the Explorer sets (see opened()), and the filter controls' callback too
OPENED = ((ids.EXPLORER_FILTER, "data"), (ids.TABS, "active_tab"), (ids.EXPLORER_OUTCOMES, "value"),
          (ids.EXPLORER_METRIC, "value"), (ids.EXPLORER_SCORE, "value"), (ids.EXPLORER_PAGES, "active_page"),
          (ids.EXPLORER_SORT, "value"), (ids.EXPLORER_ORDER, "value"))


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


def error_groups(error: ErrorType) -> tuple[OutcomeGroup, ...]:
    """The outcome group of an error type's objects: every false positive, or the missed labels for ``Miss``."""
    return (OutcomeGroup.FN,) if error is ErrorType.MISS else (OutcomeGroup.FP,)


def error_type(value: object) -> ErrorType:
    """A clicked TIDE error type.

    Raises:
        InvalidInput: not one of :class:`~detlens.core.vocabulary.ErrorType`.
    """
    return ErrorType(inputs.choice(value, [e.value for e in ErrorType], "clicked error type"))


def filter_from_tide_bar(click: dict | None) -> ExplorerFilter | None:
    """A clicked ΔAP bar (``customdata[0]``: the error type or oracle): that type's objects."""
    data = (inputs.first_point(click) or {}).get("customdata")
    if not isinstance(data, list) or not data:
        return None
    name = inputs.choice(data[0], [e.value for e in ErrorType] + [o.value for o in TideOracle], "clicked error type")
    if name in (TideOracle.FP, TideOracle.FN):
        return ExplorerFilter(outcomes=(OutcomeGroup(name),))
    error = ErrorType(name)
    return ExplorerFilter(outcomes=error_groups(error), error_types=(error,))


def filter_from_confusion(click: dict | None) -> ExplorerFilter | None:
    """A clicked confusion cell or pair (``customdata``: label class, predicted class): the cell's objects."""
    data = (inputs.first_point(click) or {}).get("customdata")
    if not isinstance(data, list) or len(data) < 2:
        return None
    cell = (inputs.text(data[0], "clicked class"), inputs.text(data[1], "clicked class"))
    if None in cell:
        return None
    # every group: a cell holds true and false positives, missed and ignored objects alike
    return ExplorerFilter(outcomes=OutcomeGroup.choices(), confusion=cell)


def filter_from_error_segment(click: dict | None, perf_metric: str | None) -> ExplorerFilter | None:
    """A clicked segment of the errors-per-bucket bars: the bucket's objects of that error type."""
    data = (inputs.first_point(click) or {}).get("customdata")
    if not isinstance(data, list) or len(data) < 4:
        return None
    error = error_type(data[0])
    low, high = (inputs.optional_number(v, "bucket edge") for v in data[1:3])
    if not perf_metric:
        return None
    return ExplorerFilter(outcomes=error_groups(error), error_types=(error,), metric=metric_column(perf_metric),
                          low=low, high=high, high_closed=bool(data[3]))


def opened(flt: ExplorerFilter) -> tuple:
    """What a click opening the Explorer on ``flt`` sets: the filter, the tab, the outcome checklist, the metric,
    the confidence range, page 1, the sort column and order."""
    sort = (flt.metric, "asc") if flt.metric else ("score", "desc")
    return (flt.to_dict(), ids.TAB_EXPLORER, outcome_values(flt), flt.metric,
            [flt.score_low or 0, flt.score_high or 1], 1, *sort)


def open_errors(tide_click, confusion_click, segment_click, perf_metric):
    """A click on the error analysis (ΔAP bar, confusion cell, per-bucket segment) opens its objects.

    Raises:
        InvalidInput: a click the charts cannot have sent (the server answers 400).
    """
    trigger_id, _ = triggered()
    perf_metric = inputs.text(perf_metric, "metric")
    flt = None
    if trigger_id == ids.TIDE_GRAPH:
        flt = filter_from_tide_bar(tide_click)
    elif trigger_id == ids.CONFUSION_GRAPH:
        flt = filter_from_confusion(confusion_click)
    elif trigger_id == ids.PERF_ERRORS_GRAPH:
        flt = filter_from_error_segment(segment_click, perf_metric)
    if flt is None:
        raise PreventUpdate
    return opened(flt)


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
    clicked = None
    if trigger_id == ids.PERF_GRAPH:
        clicked = filter_from_bucket(perf_click, perf_metric)
    elif trigger_id == ids.AP_AR_GRAPH:
        clicked = filter_from_class_bar(class_click)
    elif trigger_id == ids.PR_GRAPH:
        clicked = filter_from_pr_point(pr_click)
    if clicked is not None:
        return opened(clicked)
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
        *(Output(component, prop, allow_duplicate=component == ids.TABS) for component, prop in OPENED),
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
    app.callback(
        *(Output(component, prop, allow_duplicate=True) for component, prop in OPENED),
        Input(ids.TIDE_GRAPH, "clickData"),
        Input(ids.CONFUSION_GRAPH, "clickData"),
        Input(ids.PERF_ERRORS_GRAPH, "clickData"),
        State(ids.PERF_METRIC, "value"),
        prevent_initial_call=True,
    )(open_errors)
