"""Callbacks of the Metrics tab: headline numbers, per-class charts, metric importance and correlation."""

from __future__ import annotations

from dash import Input, Output, ctx
from dash.exceptions import PreventUpdate

from detlens.callbacks import figures, inputs
from detlens.callbacks.common import DEFAULT_MODE, DEFAULT_RULE, alert, background, error_alert, tab_gate, view_inputs
from detlens.core.ap_rule import APRule
from detlens.core.analysis import too_few_to_rank
from detlens.core.importance import MetricDependency
from detlens.core.metrics.registry import CONFIDENCE
from detlens.core.vocabulary import MinScoreMode, Side
from detlens.layouts import ids

MAP_DECIMALS = 4  # so a published "31.05%" reads as 0.3105


def map_text(x: float | None) -> str:
    """An mAP or mAR as the cards show it: ``MAP_DECIMALS`` decimals, ``"n/a"`` when undefined (None)."""
    return "n/a" if x is None else f"{x:.{MAP_DECIMALS}f}"


def update_summary(queries, key, classes, iou, min_score, active_tab, rule=DEFAULT_RULE, mode=DEFAULT_MODE):
    """mAP (with the name of its AP rule), mAP@[.50:.95], mAR, TP/FP/FN, per-class AP/AR bars and
    precision-recall curves at the chosen settings (``rule``: the AP rule selector's code; ``mode``: the
    minimum-confidence mode, whose per-class thresholds the card line and chart titles name).

    Figures are returned as plain dicts: they travel from the job process to the
    server pickled, and dicts unpickle without plotly's validation.
    """
    if not key or active_tab != ids.TAB_METRICS:
        raise PreventUpdate
    try:
        view = queries.view(*inputs.view(key, classes, iou, min_score, rule, mode))
        doc = queries.evaluation_doc(view)
        map_range = queries.map_coco_range(view)
    except Exception as exc:  # shown on the page, never as a stack trace
        empty = figures.empty_figure("No data to show").to_dict()
        return "–", "", "–", "–", "–", "–", "–", empty, empty, error_alert(exc)
    counts = doc["counts"]
    note = None
    if counts["predictions"] == 0:
        note = alert("No predictions for the selected classes at this minimum confidence: AP and "
                     "recall are 0 and every label is a false negative.")
    elif counts["labels"] == 0:
        note = alert("The selected classes have no labels: AP and AR are undefined (n/a).")
    where = " · ".join(filter(None, [f"IoU {doc['iou_threshold']:.2f}", MinScoreMode(view.min_score_mode).badge]))
    no_labels = figures.empty_figure("No labels in the selected classes").to_dict()
    ap_fig = figures.ap_ar_figure(doc, f"Per-class AP and AR · {where}") if counts["labels"] else no_labels
    pr_fig = figures.pr_figure(doc, f"Precision-recall · {where}") if counts["labels"] else no_labels
    used = APRule(doc["ap_method"], doc["match_method"], doc["pixel_plus_one"])
    return (map_text(doc["mAP"]), f"{used.title} · {where}", map_text(map_range), map_text(doc["mAR"]),
            f"{counts['TP']:,}", f"{counts['FP']:,}", f"{counts['FN']:,}", ap_fig, pr_fig, note)


def update_importance(queries, key, classes, iou, min_score, side, active_tab, rule=DEFAULT_RULE, hide_confidence=False,
                      mode=DEFAULT_MODE):
    """Metric importance and correlation of the chosen side, in the same order, most important first.

    ``hide_confidence`` leaves Model Confidence (P) out (it ranks first by construction). When no
    metric's interval clears zero, a sentence says the set is too small to rank.
    """
    if not key or active_tab != ids.TAB_METRICS:
        raise PreventUpdate
    try:
        key, classes, iou, min_score, rule, mode = inputs.view(key, classes, iou, min_score, rule, mode)
        side = Side(inputs.choice(side, list(Side), "side"))
        summary = queries.summary(key)
        ranking = queries.ranking(queries.view(key, classes, iou, min_score, rule, mode), side)
    except Exception as exc:
        empty = figures.empty_figure("No data to show").to_dict()
        return empty, empty, error_alert(exc)
    where = f"{side.title} · IoU {iou:.2f}"
    if not ranking or all(d["importance"] is None for d in ranking):
        empty = figures.empty_figure("Not enough rows to rank the metrics").to_dict()
        first, second = side.outcome_words
        return empty, empty, alert(f"Too few {side.noun} ({first} and {second}) in the selected classes to rank "
                                   f"the metrics, or all of them have the same outcome.")
    note = too_few_to_rank([MetricDependency.from_dict(d) for d in ranking], side)
    if hide_confidence is True:
        ranking = [d for d in ranking if d["metric"] != CONFIDENCE]
    return (figures.importance_figure(ranking, summary["metrics"], f"Metric importance · {where}").to_dict(),
            figures.correlation_figure(ranking, summary["metrics"], f"Metric correlation · {where}").to_dict(),
            None if note is None else alert(note, "info"))


def clicked_metric(click_data: dict | None) -> str | None:
    """The metric name of a clicked horizontal bar (its y value), or None.

    Raises:
        InvalidInput: ``click_data`` is not a chart click, or its y value is not a metric name.
    """
    point = inputs.first_point(click_data)
    return None if point is None else inputs.text(point.get("y"), "clicked metric")


def open_metric(importance_click, correlation_click):
    """Clicking a metric's bar opens Performance by metric with that metric selected."""
    click = correlation_click if ctx.triggered_id == ids.CORRELATION_GRAPH else importance_click
    metric = clicked_metric(click)
    if not metric:
        raise PreventUpdate
    return ids.TAB_PERFORMANCE, metric


def register(app, queries) -> None:
    """Wire the Metrics tab's callbacks to ``app``, answering from ``queries``."""
    @app.callback(
        Output(ids.MAP_VALUE, "children"),
        Output(ids.MAP_RULE, "children"),
        Output(ids.MAP_RANGE_VALUE, "children"),
        Output(ids.MAR_VALUE, "children"),
        Output(ids.TP_VALUE, "children"),
        Output(ids.FP_VALUE, "children"),
        Output(ids.FN_VALUE, "children"),
        Output(ids.AP_AR_GRAPH, "figure"),
        Output(ids.PR_GRAPH, "figure"),
        Output(ids.METRICS_ALERT, "children"),
        tab_gate(app, ids.TAB_METRICS, ids.METRICS_REQUEST, view_inputs()),
        prevent_initial_call=True,
        **background(ids.METRICS_RUNNING),
    )
    def _update_summary(request):
        key, classes, iou, min_score, rule, mode = inputs.request(request, 6)
        return update_summary(queries, key, classes, iou, min_score, ids.TAB_METRICS, rule, mode)

    @app.callback(
        Output(ids.IMPORTANCE_GRAPH, "figure"),
        Output(ids.CORRELATION_GRAPH, "figure"),
        Output(ids.IMPORTANCE_ALERT, "children"),
        tab_gate(app, ids.TAB_METRICS, ids.IMPORTANCE_REQUEST,
                 [*view_inputs(), Input(ids.SIDE, "value"), Input(ids.HIDE_CONFIDENCE, "value")]),
        prevent_initial_call=True,
        **background(ids.IMPORTANCE_RUNNING),
    )
    def _update_importance(request):
        key, classes, iou, min_score, rule, mode, side, hide_confidence = inputs.request(request, 8)
        return update_importance(queries, key, classes, iou, min_score, side, ids.TAB_METRICS, rule, hide_confidence,
                                 mode)

    app.callback(
        Output(ids.TABS, "active_tab", allow_duplicate=True),
        Output(ids.PERF_METRIC, "value", allow_duplicate=True),
        Input(ids.IMPORTANCE_GRAPH, "clickData"),
        Input(ids.CORRELATION_GRAPH, "clickData"),
        prevent_initial_call=True,
    )(open_metric)
