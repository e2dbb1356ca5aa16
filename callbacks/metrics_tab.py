"""Callbacks of the Metrics tab: headline numbers, per-class charts, metric importance and correlation."""

from __future__ import annotations

from dash import Input, Output, callback, ctx
from dash.exceptions import PreventUpdate

from detlens.callbacks import figures
from detlens.callbacks.common import BACKGROUND_POLL_MS, alert, class_filter, data_store, error_alert, min_score_of
from detlens.layouts import ids
from detlens.layouts.metrics_tab import HIDDEN, VISIBLE

SIDE_TITLES = {"predictions": "predictions (TP vs FP)", "labels": "labels (detected vs missed)"}


def _number(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


@callback(
    Output(ids.MAP_VALUE, "children"),
    Output(ids.MAR_VALUE, "children"),
    Output(ids.TP_VALUE, "children"),
    Output(ids.FP_VALUE, "children"),
    Output(ids.FN_VALUE, "children"),
    Output(ids.AP_AR_GRAPH, "figure"),
    Output(ids.PR_GRAPH, "figure"),
    Output(ids.METRICS_ALERT, "children"),
    Input(ids.DATA_KEY, "data"),
    Input(ids.CLASSES, "value"),
    Input(ids.IOU, "value"),
    Input(ids.MIN_SCORE, "value"),
    Input(ids.TABS, "active_tab"),
    background=True,
    interval=BACKGROUND_POLL_MS,
    running=[(Output(ids.METRICS_RUNNING, "style"), VISIBLE, HIDDEN)],
)
def update_summary(key, classes, iou, min_score, active_tab):
    """mAP, mAR, TP/FP/FN, per-class AP/AR bars and precision-recall curves at the chosen settings.

    Figures are returned as plain dicts: they travel from the job process to the
    server pickled, and dicts unpickle without plotly's validation.
    """
    if not key or active_tab != ids.TAB_METRICS:
        raise PreventUpdate
    store = data_store()
    try:
        selected = class_filter(classes, store.summary(key)["classes"])
        doc = store.evaluation_doc(key, iou, selected, min_score_of(min_score))
    except Exception as exc:  # shown on the page, never as a stack trace
        empty = figures.empty_figure("No data to show").to_dict()
        return "–", "–", "–", "–", "–", empty, empty, error_alert(exc)
    counts = doc["counts"]
    note = None
    if counts["predictions"] == 0:
        note = alert("No predictions for the selected classes at this minimum confidence: AP and "
                     "recall are 0 and every label is a false negative.")
    elif counts["labels"] == 0:
        note = alert("The selected classes have no labels: AP and AR are undefined (n/a).")
    where = f"IoU {doc['iou_threshold']:.2f}"
    ap_fig = (figures.ap_ar_figure(doc, f"Per-class AP and AR · {where}") if counts["labels"]
              else figures.empty_figure("No labels in the selected classes"))
    pr_fig = (figures.pr_figure(doc, f"Precision-recall · {where}") if counts["labels"]
              else figures.empty_figure("No labels in the selected classes"))
    return (_number(doc["mAP"]), _number(doc["mAR"]), f"{counts['TP']:,}", f"{counts['FP']:,}",
            f"{counts['FN']:,}", ap_fig.to_dict(), pr_fig.to_dict(), note)


@callback(
    Output(ids.IMPORTANCE_GRAPH, "figure"),
    Output(ids.CORRELATION_GRAPH, "figure"),
    Output(ids.IMPORTANCE_ALERT, "children"),
    Input(ids.DATA_KEY, "data"),
    Input(ids.CLASSES, "value"),
    Input(ids.IOU, "value"),
    Input(ids.MIN_SCORE, "value"),
    Input(ids.SIDE, "value"),
    Input(ids.TABS, "active_tab"),
    background=True,
    interval=BACKGROUND_POLL_MS,
    running=[(Output(ids.IMPORTANCE_RUNNING, "style"), VISIBLE, HIDDEN)],
)
def update_importance(key, classes, iou, min_score, side, active_tab):
    """Metric importance and correlation of the chosen side, in the same order, most important first."""
    if not key or active_tab != ids.TAB_METRICS:
        raise PreventUpdate
    store = data_store()
    try:
        summary = store.summary(key)
        ranking = store.ranking(key, iou, class_filter(classes, summary["classes"]), min_score_of(min_score), side)
    except Exception as exc:
        empty = figures.empty_figure("No data to show").to_dict()
        return empty, empty, error_alert(exc)
    where = f"{SIDE_TITLES[side]} · IoU {float(iou):.2f}"
    if not ranking or all(d["importance"] is None for d in ranking):
        empty = figures.empty_figure("Not enough rows to rank the metrics").to_dict()
        noun = "predictions (TP and FP)" if side == "predictions" else "labels (detected and missed)"
        return empty, empty, alert(f"Too few {noun} in the selected classes to rank the metrics, or all of "
                                   f"them have the same outcome.")
    return (figures.importance_figure(ranking, summary["metrics"], f"Metric importance · {where}").to_dict(),
            figures.correlation_figure(ranking, summary["metrics"], f"Metric correlation · {where}").to_dict(), None)


def _triggered_id():
    try:
        return ctx.triggered_id
    except Exception:  # called as a plain function, outside a request
        return None


def clicked_metric(click_data: dict | None) -> str | None:
    """The metric name of a clicked horizontal bar (its y value), or None."""
    points = (click_data or {}).get("points") or []
    return points[0].get("y") if points else None


@callback(
    Output(ids.TABS, "active_tab", allow_duplicate=True),
    Output(ids.PERF_METRIC, "value", allow_duplicate=True),
    Input(ids.IMPORTANCE_GRAPH, "clickData"),
    Input(ids.CORRELATION_GRAPH, "clickData"),
    prevent_initial_call=True,
)
def open_metric(importance_click, correlation_click):
    """Clicking a metric's bar opens Performance by metric with that metric selected."""
    click = correlation_click if _triggered_id() == ids.CORRELATION_GRAPH else importance_click or correlation_click
    metric = clicked_metric(click)
    if not metric:
        raise PreventUpdate
    return ids.TAB_PERFORMANCE, metric
