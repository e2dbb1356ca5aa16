"""Callbacks of the error analysis: the Metrics tab's "Errors" card and Performance by metric's errors per bucket.

Both are background callbacks behind their tab's gate (:func:`~detlens.callbacks.common.tab_gate`);
the numbers come from :class:`~detlens.app.error_queries.ErrorQueries` (``queries.errors``).
Clicking a mark opens its objects in the Explorer (:mod:`detlens.callbacks.explorer_links`).
"""

from __future__ import annotations

from dash import Input, Output
from dash.exceptions import PreventUpdate

from detlens.callbacks import error_figures, figures, inputs
from detlens.callbacks.common import DEFAULT_RULE, alert, background, error_alert, tab_gate, view_inputs
from detlens.callbacks.performance_tab import METHOD_WORDS
from detlens.callbacks.text import base_name
from detlens.core.metrics.registry import FRAME
from detlens.core.settings import BUCKET_METHODS, BUCKETS_MAX, BUCKETS_MIN, CONFUSION_HEATMAP_MAX_CLASSES
from detlens.layouts import ids


def _part(compute, empty_message: str, height: int = 340):
    """``(figure dict, None)`` of ``compute()``, or an empty figure and an alert saying why it failed (the
    other parts of the card still show)."""
    try:
        return compute().to_dict(), None
    except Exception as exc:  # shown on the page, never as a stack trace
        return figures.empty_figure(empty_message, height).to_dict(), error_alert(exc)


def confusion_part(doc: dict, where: str):
    """The heatmap with up to ``CONFUSION_HEATMAP_MAX_CLASSES`` selected classes, else the most confused pairs."""
    k = len(doc["classes"]) - 1
    if k <= CONFUSION_HEATMAP_MAX_CLASSES:
        return error_figures.confusion_figure(doc, f"Confusion matrix · {where}")
    if not doc["top"]:
        return figures.empty_figure("No confusion between the selected classes", 300)
    return error_figures.top_pairs_figure(
        doc, f"Most confused pairs (label → prediction) of {k} classes · {where}")


def update_errors(queries, key, classes, iou, min_score, active_tab, rule=DEFAULT_RULE, *more_view):
    """TIDE ΔAP bars, the confusion heatmap (or top pairs) and the reliability diagram of the view.

    ``more_view``: the view controls after the AP rule (:func:`~detlens.callbacks.common.view_inputs`), as
    :func:`detlens.callbacks.inputs.view` takes them.

    Returns ``(tide figure, confusion figure, reliability figure, alert)``; a part that cannot be computed
    at this view (TIDE under VOC matching, calibration of logits) is an empty figure, and the alert says why.
    """
    if not key or active_tab != ids.TAB_METRICS:
        raise PreventUpdate
    try:
        view = queries.view(*inputs.view(key, classes, iou, min_score, rule, *more_view))
    except Exception as exc:
        empty = figures.empty_figure("No data to show").to_dict()
        return empty, empty, empty, error_alert(exc)
    where = f"IoU {view.iou:.2f}"
    errors = queries.errors
    tide_fig, tide_problem = _part(lambda: error_figures.tide_figure(
        errors.tide(view), f"TIDE: ΔAP per error type · {where}"), "No TIDE breakdown")
    confusion_fig, confusion_problem = _part(lambda: confusion_part(errors.confusion_doc(view), where),
                                             "No confusion matrix", 420)

    def reliability():
        cal = errors.calibration(view)
        return error_figures.reliability_figure(
            cal, f"Reliability · ECE {cal['ece']:.3f} · MCE {cal['mce']:.3f} · {where}")
    reliability_fig, calibration_problem = _part(reliability, "No reliability diagram")
    problems = [p for p in (tide_problem, confusion_problem, calibration_problem) if p is not None]
    return tide_fig, confusion_fig, reliability_fig, problems or None


def update_bucket_errors(queries, key, classes, iou, min_score, metric, n_buckets, method, active_tab,
                         rule=DEFAULT_RULE, *more_view):
    """Stacked counts of each TIDE error type per bucket of the metric (the buckets of the TPR/FNR chart).

    Returns ``(figure dict, alert)``; ``more_view`` as for :func:`update_errors`.
    """
    if not key or not metric or active_tab != ids.TAB_PERFORMANCE:
        raise PreventUpdate
    empty = figures.empty_figure("No data to show", 420).to_dict()
    try:
        checked = inputs.view(key, classes, iou, min_score, rule, *more_view)
        n_buckets = inputs.whole_number(n_buckets, "number of buckets", BUCKETS_MIN, BUCKETS_MAX)
        method = inputs.choice(method, BUCKET_METHODS, "bucket method")
        metric = inputs.text(metric, "metric")
        metrics = queries.summary(checked[0])["metrics"]
        if metric not in metrics:
            raise ValueError(f"Unknown metric {metric!r}.")
        view = queries.view(*checked)
        doc = queries.errors.tide_by_metric(view, metric, n_buckets, method)
    except Exception as exc:
        return empty, error_alert(exc)
    if not doc["buckets"]:
        return empty, alert(f"{metric} has no values for the predictions or labels of the selected classes.")
    shown = metric if metrics[metric]["level"] == FRAME else base_name(metric)
    x_title = f"{shown}, {METHOD_WORDS.get(method, method)}"
    return (error_figures.bucket_errors_figure(doc, x_title, f"{shown}: TIDE errors per bucket · IoU {view.iou:.2f}")
            .to_dict(), None)


def register(app, queries) -> None:
    """Wire the error analysis' callbacks to ``app``, answering from ``queries``."""
    for switch, body in ((ids.ERRORS_SHOW, ids.ERRORS_BODY), (ids.PERF_ERRORS_SHOW, ids.PERF_ERRORS_BODY)):
        # in the browser: opening a card needs no request (its gate starts the job)
        app.clientside_callback("(on) => on === true", Output(body, "is_open"), Input(switch, "value"))
    @app.callback(
        Output(ids.TIDE_GRAPH, "figure"),
        Output(ids.CONFUSION_GRAPH, "figure"),
        Output(ids.RELIABILITY_GRAPH, "figure"),
        Output(ids.ERRORS_ALERT, "children"),
        tab_gate(app, ids.TAB_METRICS, ids.ERRORS_REQUEST, view_inputs(), shown_by=ids.ERRORS_SHOW),
        prevent_initial_call=True,
        **background(ids.ERRORS_RUNNING),
    )
    def _update_errors(request):
        key, classes, iou, min_score, rule, *more_view = inputs.request(request, len(view_inputs()))
        return update_errors(queries, key, classes, iou, min_score, ids.TAB_METRICS, rule, *more_view)

    @app.callback(
        Output(ids.PERF_ERRORS_GRAPH, "figure"),
        Output(ids.PERF_ERRORS_ALERT, "children"),
        tab_gate(app, ids.TAB_PERFORMANCE, ids.PERF_ERRORS_REQUEST, [
            *view_inputs(), Input(ids.PERF_METRIC, "value"), Input(ids.PERF_BUCKETS, "value"),
            Input(ids.PERF_METHOD, "value")], shown_by=ids.PERF_ERRORS_SHOW),
        prevent_initial_call=True,
        **background(ids.PERF_ERRORS_RUNNING),
    )
    def _update_bucket_errors(request):
        *view_values, metric, n_buckets, method = inputs.request(request, len(view_inputs()) + 3)
        key, classes, iou, min_score, rule, *more_view = view_values
        return update_bucket_errors(queries, key, classes, iou, min_score, metric, n_buckets, method,
                                    ids.TAB_PERFORMANCE, rule, *more_view)
