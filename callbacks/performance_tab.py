"""Callbacks of the Performance by metric tab: metric choices, the TPR/FNR chart and its finding."""

from __future__ import annotations

from dash import Input, Output
from dash.exceptions import PreventUpdate

from detlens.callbacks import figures, inputs
from detlens.callbacks.common import alert, background, error_alert, view_inputs
from detlens.callbacks.text import LEVEL_TITLES, base_name, finding_sentence, metric_unit
from detlens.core.metrics.registry import FRAME, LABEL, PREDICTION
from detlens.core.settings import BUCKET_METHODS, BUCKETS_MAX, BUCKETS_MIN, DEFAULT_METRIC
from detlens.layouts import ids

METHOD_WORDS = {"quantile": "quantile buckets", "equal_width": "equal-width buckets"}


def metric_options_of(metrics: dict) -> list[dict]:
    """Dropdown options grouped by level: a disabled heading per level, then its metrics."""
    options = []
    for level in (FRAME, PREDICTION, LABEL):
        names = [n for n, m in metrics.items() if m["level"] == level]
        if names:
            options.append({"label": f"— {LEVEL_TITLES[level]} —", "value": f"__heading_{level}",
                            "disabled": True})
            options += [{"label": n, "value": n} for n in names]
    return options


def fill_metric_choices(queries, key):
    """The metrics of the dataset, grouped by level; object area (labels) selected first."""
    key = inputs.dataset_key(key)
    if not key:
        raise PreventUpdate
    metrics = queries.summary(key)["metrics"]
    return metric_options_of(metrics), DEFAULT_METRIC if DEFAULT_METRIC in metrics else next(iter(metrics), None)


def _x_title(metric: str, metrics: dict, method: str) -> str:
    info = metrics.get(metric, {})
    shown = metric if info.get("level") == FRAME else base_name(metric)
    return f"{shown} ({info.get('unit') or metric_unit(metric)}), {METHOD_WORDS.get(method, method)}"


def update_performance(queries, key, classes, iou, min_score, metric, n_buckets, method, decompose, active_tab):
    """TPR of predictions and FNR of labels per bucket of the chosen metric, with a one-sentence finding."""
    if not key or not metric or active_tab != ids.TAB_PERFORMANCE:
        raise PreventUpdate
    empty = figures.empty_figure("No data to show", 460).to_dict()
    try:
        key, classes, iou, min_score = inputs.view(key, classes, iou, min_score)
        n_buckets = inputs.whole_number(n_buckets, "number of buckets", BUCKETS_MIN, BUCKETS_MAX)
        method = inputs.choice(method, BUCKET_METHODS, "bucket method")
        metric = inputs.text(metric, "metric")
        summary = queries.summary(key)
        metrics = summary["metrics"]
        if metric not in metrics:
            raise ValueError(f"Unknown metric {metric!r}.")
        description = metrics[metric]["description"]
        table = queries.buckets(queries.view(key, classes, iou, min_score), metric, n_buckets, method)
    except Exception as exc:
        return empty, "", "No finding.", error_alert(exc)
    if len(table["edges"]) < 2:
        return (empty, description, "No finding.",
                alert(f"{metric} has no values for the predictions or labels of the selected classes."))
    custom, unit = bool(metrics[metric]["custom"]), metrics[metric]["unit"]
    shown = metric if metrics[metric]["level"] == FRAME else base_name(metric)
    title = f"{shown}: TPR and FNR per bucket · IoU {iou:.2f}"
    fig = figures.performance_figure(table, _x_title(metric, metrics, method), title, decompose == "by_class")
    return fig.to_dict(), f"{metric}: {description}", finding_sentence(table, metric, "" if custom else unit), None


def register(app, queries) -> None:
    """Wire this module's callbacks to ``app``, answering from ``queries``."""
    @app.callback(
        Output(ids.PERF_METRIC, "options"),
        Output(ids.PERF_METRIC, "value"),
        Input(ids.DATA_KEY, "data"),
    )
    def _fill_metric_choices(key):
        return fill_metric_choices(queries, key)

    @app.callback(
        Output(ids.PERF_GRAPH, "figure"),
        Output(ids.PERF_DESCRIPTION, "children"),
        Output(ids.PERF_FINDING, "children"),
        Output(ids.PERF_ALERT, "children"),
        *view_inputs(),
        Input(ids.PERF_METRIC, "value"),
        Input(ids.PERF_BUCKETS, "value"),
        Input(ids.PERF_METHOD, "value"),
        Input(ids.PERF_DECOMPOSE, "value"),
        Input(ids.TABS, "active_tab"),
        **background(ids.PERF_RUNNING),
    )
    def _update_performance(key, classes, iou, min_score, metric, n_buckets, method, decompose, active_tab):
        return update_performance(queries, key, classes, iou, min_score, metric, n_buckets, method, decompose, active_tab)
