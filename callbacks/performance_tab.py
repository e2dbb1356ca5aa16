"""Callbacks of the Performance by metric tab: metric choices, the TPR/FNR chart and its finding.

The per-class view draws one panel per class (small multiples sharing the
axes): the classes the user picked, or the ``PERF_PANELS_DEFAULT`` largest
(by predictions + labels with a value); each panel states its own finding.
"""

from __future__ import annotations

from dash import Input, Output
from dash.exceptions import PreventUpdate

from detlens.callbacks import figures, inputs
from detlens.callbacks.common import DEFAULT_MODE, DEFAULT_RULE, alert, background, error_alert, tab_gate, view_inputs
from detlens.callbacks.text import LEVEL_TITLES, base_name, finding_sentence, metric_unit
from detlens.core.metrics.registry import FRAME, LABEL, PREDICTION
from detlens.core.settings import (BUCKET_METHODS, BUCKETS_MAX, BUCKETS_MIN, DEFAULT_METRIC, PERF_MIN_COUNT_DEFAULT,
                                   PERF_MIN_COUNT_MAX, PERF_PANELS_DEFAULT, PERF_PANELS_MAX)
from detlens.layouts import ids
from detlens.layouts.performance_tab import PANEL_BOX_STYLES

METHOD_WORDS = {"quantile": "quantile buckets", "equal_width": "equal-width buckets"}
LAYOUTS = ("overlay", "stacked")  # TPR and FNR in one panel, or one above the other


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


def class_size(curves: dict) -> int:
    """Predictions + labels with a value of one class (``table["per_class"][name]``)."""
    return sum(c["count"] for c in (curves["TPR"], curves["FNR"]) if c)


def panel_classes_of(table: dict, picked: list[str] | None) -> tuple[list[str], list[str]]:
    """``(drawn, present)``: the classes drawn as panels, and every class of ``table`` largest first.

    Drawn: the picked classes that are present, in the order picked, or the
    ``PERF_PANELS_DEFAULT`` largest when none is picked; at most ``PERF_PANELS_MAX``.
    """
    present = sorted(table["per_class"], key=lambda n: (-class_size(table["per_class"][n]), n))
    chosen = [n for n in (picked or []) if n in table["per_class"]] if picked else present[:PERF_PANELS_DEFAULT]
    return chosen[:PERF_PANELS_MAX], present


def panels_text(drawn: list[str], present: list[str], picked: list[str] | None) -> str:
    """"k of n classes" and how they were chosen (the largest, or picked; capped at ``PERF_PANELS_MAX``)."""
    how = "picked" if picked else "the largest"
    cap = f"; at most {PERF_PANELS_MAX} panels" if picked and len(picked) > PERF_PANELS_MAX else ""
    return f"{len(drawn)} of {len(present)} classes shown ({how}{cap})"


def panel_options(table: dict, present: list[str]) -> list[dict]:
    """Multi-select options, largest class first: the name cut with "…" and its object count; full name on hover."""
    return [{"label": f"{figures.ellipsize(n)} ({class_size(table['per_class'][n]):,})", "value": n, "title": n}
            for n in present]


def class_panels(table: dict, drawn: list[str], metric: str, unit: str, min_count: int) -> list:
    """One :class:`~detlens.callbacks.figures.Panel` per drawn class with its own finding sentence."""
    return [figures.Panel(n, table["per_class"][n],
                          finding_sentence({"edges": table["edges"], **table["per_class"][n]}, metric, unit, min_count))
            for n in drawn]


def show_panel_picker(decompose) -> dict:
    """The panel picker shows in the per-class view only."""
    return PANEL_BOX_STYLES[decompose == "by_class"]


def update_performance(queries, key, classes, iou, min_score, metric, n_buckets, method, decompose, active_tab,
                       rule=DEFAULT_RULE, panel_classes=None, min_count=PERF_MIN_COUNT_DEFAULT, layout=LAYOUTS[0],
                       mode=DEFAULT_MODE):
    """TPR of predictions and FNR of labels per bucket of the chosen metric, with a one-sentence finding.

    Returns ``(figure dict, description, finding, alert, panel options, "k of n classes" text)``.
    In the per-class view (``decompose == "by_class"``) the figure has one
    panel per class of ``panel_classes`` (None: the largest), each with its
    own finding; the finding box then says where the findings are.
    """
    if not key or not metric or active_tab != ids.TAB_PERFORMANCE:
        raise PreventUpdate
    empty = figures.empty_figure("No data to show", 460).to_dict()
    try:
        key, classes, iou, min_score, rule, mode = inputs.view(key, classes, iou, min_score, rule, mode)
        n_buckets = inputs.whole_number(n_buckets, "number of buckets", BUCKETS_MIN, BUCKETS_MAX)
        method = inputs.choice(method, BUCKET_METHODS, "bucket method")
        min_count = inputs.whole_number(min_count, "minimum objects per bucket", 1, PERF_MIN_COUNT_MAX)
        stacked = inputs.choice(layout, LAYOUTS, "TPR and FNR layout") == "stacked"
        picked = inputs.names(panel_classes, "classes drawn as panels")
        metric = inputs.text(metric, "metric")
        summary = queries.summary(key)
        metrics = summary["metrics"]
        if metric not in metrics:
            raise ValueError(f"Unknown metric {metric!r}.")
        description = metrics[metric]["description"]
        table = queries.buckets(queries.view(key, classes, iou, min_score, rule, mode), metric, n_buckets, method)
    except Exception as exc:
        return empty, "", "No finding.", error_alert(exc), [], ""
    if len(table["edges"]) < 2:
        return (empty, description, "No finding.",
                alert(f"{metric} has no values for the predictions or labels of the selected classes."), [], "")
    unit = "" if metrics[metric]["custom"] else metrics[metric]["unit"]
    shown = metric if metrics[metric]["level"] == FRAME else base_name(metric)
    title = f"{shown}: TPR and FNR per bucket · IoU {iou:.2f}"
    drawn, present = panel_classes_of(table, picked)
    text = panels_text(drawn, present, picked)
    if decompose == "by_class":
        fig = figures.performance_figure(table, _x_title(metric, metrics, method), f"{title} · {text}", True,
                                         panels=class_panels(table, drawn, metric, unit, min_count),
                                         min_count=min_count, stacked=stacked)
        finding = (f"One panel per class, each with its own averages (dashed) and finding; buckets with fewer "
                   f"than {min_count} objects are grey and not used for findings.")
    else:
        fig = figures.performance_figure(table, _x_title(metric, metrics, method), title, min_count=min_count,
                                         stacked=stacked)
        finding = finding_sentence(table, metric, unit, min_count)
    return (fig.to_dict(), f"{metric}: {description}", finding, None, panel_options(table, present), text)


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
        Output(ids.PERF_PANEL_CLASSES, "options"),
        Output(ids.PERF_PANELS_TEXT, "children"),
        tab_gate(app, ids.TAB_PERFORMANCE, ids.PERF_REQUEST, [
            *view_inputs(), Input(ids.PERF_METRIC, "value"), Input(ids.PERF_BUCKETS, "value"),
            Input(ids.PERF_METHOD, "value"), Input(ids.PERF_DECOMPOSE, "value"), Input(ids.PERF_PANEL_CLASSES, "value"),
            Input(ids.PERF_MIN_COUNT, "value"), Input(ids.PERF_LAYOUT, "value")]),
        prevent_initial_call=True,
        **background(ids.PERF_RUNNING),
    )
    def _update_performance(request):
        (key, classes, iou, min_score, rule, mode, metric, n_buckets, method, decompose, panel_classes, min_count,
         layout) = inputs.request(request, 13)
        return update_performance(queries, key, classes, iou, min_score, metric, n_buckets, method, decompose,
                                  ids.TAB_PERFORMANCE, rule, panel_classes, min_count, layout, mode)

    app.callback(Output(ids.PERF_PANEL_BOX, "style"), Input(ids.PERF_DECOMPOSE, "value"))(show_panel_picker)
