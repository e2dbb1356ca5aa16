"""Callbacks of compare mode: the "Compare with" picker, and run A against run B on each tab.

The ``COMPARE`` store holds ``{"key": B's dataset key, "a": A's name, "b": B's name}`` once the picked run
is prepared and has the same images, labels and classes as the shown run, else None (normal mode; the
alert next to the picker says why). Each compare chart is a background callback behind its tab's gate
whose first input is that store, so nothing runs outside compare mode; every other input is the page's view
(:func:`~detlens.callbacks.common.view_inputs`), checked as the single-run charts check it.
"""

from __future__ import annotations

from dataclasses import replace

from dash import Input, Output, State, no_update
from dash.exceptions import PreventUpdate

from detlens.callbacks import compare_figures, figures, inputs
from detlens.callbacks.common import alert, background, error_alert, tab_gate, triggered, view_inputs
from detlens.callbacks.metrics_tab import map_text
from detlens.callbacks.text import base_name, metric_unit
from detlens.core.metrics.registry import CONFIDENCE
from detlens.core.settings import BUCKET_METHODS, BUCKETS_MAX, BUCKETS_MIN
from detlens.core.vocabulary import CompareGroup, RunSide, Side
from detlens.layouts import ids
from detlens.layouts.compare import ALL_OBJECTS, HIDDEN, SHOWN, summary_table

COMPARE_FIELDS = ("key", "a", "b")
MAX_RUNS = 1_000  # runs the runs store may list
SUMMARY_ROWS = (("mAP", "mAP"), ("mAR", "mAR"), ("mAP@[.50:.95]", "mAP_50_95"))


def compare_doc(value: object) -> dict | None:
    """The ``COMPARE`` store checked: None, or ``{"key": dataset key, "a": name or None, "b": name}``.

    Raises:
        InvalidInput: anything else (the page cannot have sent it).
    """
    if value is None:
        return None
    if (isinstance(value, dict) and set(value) == set(COMPARE_FIELDS) and inputs.is_dataset_key(value["key"])
            and isinstance(value["b"], str)):
        inputs.text(value["a"], "run name")
        inputs.text(value["b"], "run name")
        return value
    raise inputs.InvalidInput("The page sent an invalid comparison: reload the page.")


def run_list(value: object) -> list[dict]:
    """The ``RUNS`` store checked: a list of ``{"name", "source"}`` (strings), or [] for None."""
    if value is None:
        return []
    if (isinstance(value, list) and len(value) <= MAX_RUNS
            and all(isinstance(r, dict) and isinstance(r.get("name"), str) and isinstance(r.get("source"), str)
                    for r in value)):
        return value
    raise inputs.InvalidInput("The page sent an invalid list of runs: reload the page.")


def picker_options(runs, run_name, picked) -> tuple[list[dict], str | None, dict]:
    """The "Compare with" choices: every run of the dataset but the shown one; the picked run kept while listed;
    the picker shown only when there is a run to pick."""
    runs = run_list(runs)
    options = [{"label": r["name"], "value": r["name"]} for r in runs if r["name"] != run_name]
    return options, picked if picked in {o["value"] for o in options} else None, SHOWN if options else HIDDEN


def resolve_compare(queries, picked, runs, run_name, key_a, shown=None) -> tuple:
    """``(COMPARE store, alert, poll off)`` for the picked run B.

    The store is None while nothing is picked, A is not ready, B is preparing (the alert shows its
    progress) or B is not on A's dataset (the alert says why, in one line); an unchanged store is
    ``no_update``. The third value disables the compare poll: it runs only while B is being prepared
    (A's readiness arrives as the dataset key, an input of its own).
    """
    picked, run_name = inputs.text(picked, "run name"), inputs.text(run_name, "run name")
    key_a = inputs.dataset_key(key_a)
    shown = compare_doc(shown)
    source = {r["name"]: r["source"] for r in run_list(runs)}.get(picked)
    doc, note, preparing = None, None, False
    if picked and key_a and source is None:
        note = alert(f"There is no run {picked!r} in this dataset.", "warning")
    elif picked and key_a:
        status = queries.supervisor.status(source)
        if status.state != "ready":
            preparing = status.state not in ("error", "died")
            note = alert(f"Run {picked} is being prepared ({round(100 * status.fraction)}%): compare mode starts "
                         "when it is ready." if status.state not in ("error", "died") else
                         f"Run {picked} cannot be prepared: {status.text}", "info")
        else:
            problem = queries.compare.same_dataset(key_a, status.key)
            if problem:
                note = alert(f"Cannot compare with {picked}: {problem}.", "warning")
            else:
                doc = {"key": status.key, "a": run_name, "b": picked}
    return (no_update if doc == shown else doc), note, not preparing


def show_parts(compare) -> tuple:
    """The compare parts of the Metrics, Performance and Explorer tabs: shown in compare mode only."""
    try:
        on = compare_doc(compare) is not None
    except inputs.InvalidInput:
        on = False
    return (SHOWN if on else HIDDEN,) * 3


def compare_of(queries, view, compare):
    """The :class:`~detlens.app.compare_queries.CompareView` of the shown run's view and the ``COMPARE`` store."""
    doc = compare_doc(compare)
    return queries.compare.view(view, doc["key"], (doc["a"] or RunSide.A.value, doc["b"]))


def compare_view(queries, compare, view_values):
    """:func:`compare_of` the page's view controls (checked as every chart checks them)."""
    return compare_of(queries, queries.view(*inputs.view(*view_values)), compare)


def summary_rows(doc: dict) -> list[dict]:
    """The delta card's rows as text: mAP, mAR, mAP@[.50:.95] of A and B, B - A and the interval."""
    def signed(x):
        return "n/a" if x is None else f"{x:+.{4}f}"
    return [{"name": name, "a": map_text(doc[field]["A"]), "b": map_text(doc[field]["B"]),
             "delta": signed(doc[field]["delta"]),
             "ci": "n/a" if doc[field]["ci"][0] is None else f"[{signed(doc[field]['ci'][0])}, "
                                                              f"{signed(doc[field]['ci'][1])}]"}
            for name, field in SUMMARY_ROWS]


def update_compare_summary(queries, compare, view_values: list) -> tuple:
    """The delta card (both runs' mAP, mAR, mAP@[.50:.95], B - A, 95% interval) and the per-class differences."""
    if compare is None:
        raise PreventUpdate
    try:
        cv = compare_view(queries, compare, view_values)
        doc = queries.compare.summary(cv)
    except Exception as exc:
        return None, figures.empty_figure("No comparison to show").to_dict(), error_alert(exc)
    note = alert(f"Intervals: {doc['bootstrap']['resamples']:,} paired resamples of the images "
                 f"(seed {doc['bootstrap']['seed']}); B - A is significant where its interval excludes 0.", "light")
    title = f"Per-class AP and AR: B - A · IoU {doc['iou_threshold']:.2f}"
    fig = (compare_figures.class_delta_figure(doc, title) if any(c["AP"]["delta"] is not None
                                                                   for c in doc["per_class"].values())
           else figures.empty_figure("No class with labels in the selection"))
    return summary_table(summary_rows(doc), cv.names), fig.to_dict(), note


def update_compare_importance(queries, compare, view_values: list, side, hide_confidence) -> tuple:
    """Metric importance of run A and of run B side by side (the side and switch of the importance card)."""
    if compare is None:
        raise PreventUpdate
    try:
        side = Side(inputs.choice(side, list(Side), "side"))
        cv = compare_view(queries, compare, view_values)
        metrics = queries.summary(cv.key)["metrics"]
        rankings = queries.compare.rankings(cv, side)
    except Exception as exc:
        empty = figures.empty_figure(str(error_alert(exc).children)).to_dict()
        return empty, empty
    out = []
    for name, ranking in zip(cv.names, rankings):
        if hide_confidence is True:
            ranking = [d for d in ranking if d["metric"] != CONFIDENCE]
        out.append(figures.importance_figure(ranking, metrics, f"Importance · {name} · {side.title}").to_dict()
                   if ranking else figures.empty_figure(f"Not enough rows to rank the metrics of {name}").to_dict())
    return tuple(out)


def update_compare_performance(queries, compare, view_values: list, metric, n_buckets, method) -> tuple:
    """Both runs' TPR and FNR per shared bucket of ``metric``, the differences with intervals, the finding."""
    if compare is None:
        raise PreventUpdate
    try:
        compare_doc(compare)
        metric = inputs.text(metric, "metric")
        n_buckets = inputs.whole_number(n_buckets, "number of buckets", BUCKETS_MIN, BUCKETS_MAX)
        method = inputs.choice(method, BUCKET_METHODS, "bucket method")
        if not metric:
            raise PreventUpdate
        cv = compare_view(queries, compare, view_values)
        doc = queries.compare.by_metric(cv, metric, n_buckets, method)
    except PreventUpdate:
        raise
    except Exception as exc:
        return figures.empty_figure("No comparison to show").to_dict(), "", error_alert(exc)
    if not doc["by_metric"]:
        return figures.empty_figure(f"No objects with a value of {base_name(metric)}").to_dict(), "", None
    x_title = f"{base_name(metric)} ({metric_unit(metric)})"
    title = f"{base_name(metric)}: {cv.names[0]} (solid) against {cv.names[1]} (dashed) · IoU {doc['iou_threshold']:.2f}"
    return compare_figures.performance_compare_figure(doc, x_title, title).to_dict(), doc["finding"], None


def set_compare_group(value, compare, current) -> tuple:
    """The Explorer's compare radio and the filter's compare group, kept in step.

    The radio edits the group (none outside compare mode); a filter set elsewhere (a chart click, a link)
    moves the radio; leaving compare mode clears the group. A link's group waits for compare mode: it is
    kept while the picked run is still being resolved.

    Returns:
        ``(filter store, radio value, first page)``; ``no_update`` where nothing changes.
    """
    trigger = triggered()[0]
    flt = inputs.explorer_filter(current)
    on = compare_doc(compare) is not None
    value = inputs.choice(value, [ALL_OBJECTS, *(g.value for g in CompareGroup)], "compare group")
    shown = flt.compare.value if on and flt.compare is not None else ALL_OBJECTS
    radio = no_update if shown == value else shown
    if trigger == ids.COMPARE and not on and flt.compare is not None:
        return replace(flt, compare=None).to_dict(), ALL_OBJECTS, 1
    if trigger != ids.EXPLORER_COMPARE or not on:
        return no_update, radio, no_update
    group = None if value == ALL_OBJECTS else CompareGroup(value)
    if group == flt.compare:
        return no_update, no_update, no_update
    return replace(flt, compare=group).to_dict(), no_update, 1


def register(app, queries) -> None:
    """Wire compare mode's callbacks to ``app``, answering from ``queries``."""
    n_view = len(view_inputs())

    # the dataset key as a trigger too: the runs store and the run picker are the shell's outputs, answered
    # "no update" at first, and a callback waiting only on those never runs on the page's first load
    @app.callback(Output(ids.COMPARE_PICKER, "options"), Output(ids.COMPARE_PICKER, "value"),
                  Output(ids.COMPARE_PICKER_BOX, "style"),
                  Input(ids.RUNS, "data"), Input(ids.RUN_PICKER, "value"), Input(ids.DATA_KEY, "data"),
                  State(ids.COMPARE_PICKER, "value"))
    def _picker_options(runs, run_name, key, picked):
        return picker_options(runs, run_name, picked)

    # its own timer, on only while run B is prepared: a poll of every open page's status timer cost a
    # request per page and second
    @app.callback(Output(ids.COMPARE, "data"), Output(ids.COMPARE_ALERT, "children"),
                  Output(ids.COMPARE_INTERVAL, "disabled"),
                  Input(ids.COMPARE_PICKER, "value"), Input(ids.DATA_KEY, "data"),
                  Input(ids.COMPARE_INTERVAL, "n_intervals"), State(ids.RUNS, "data"), State(ids.RUN_PICKER, "value"),
                  State(ids.COMPARE, "data"))
    def _resolve_compare(picked, key_a, n_intervals, runs, run_name, shown):
        return resolve_compare(queries, picked, runs, run_name, key_a, shown)

    app.callback(Output(ids.COMPARE_METRICS_BOX, "style"), Output(ids.COMPARE_PERF_BOX, "style"),
                 Output(ids.EXPLORER_COMPARE_BOX, "style"), Input(ids.COMPARE, "data"))(show_parts)

    @app.callback(
        Output(ids.COMPARE_SUMMARY, "children"), Output(ids.COMPARE_CLASS_GRAPH, "figure"),
        Output(ids.COMPARE_METRICS_ALERT, "children"),
        tab_gate(app, ids.TAB_METRICS, ids.COMPARE_METRICS_REQUEST, [Input(ids.COMPARE, "data"), *view_inputs()]),
        prevent_initial_call=True, **background(ids.COMPARE_METRICS_RUNNING))
    def _update_compare_summary(request):
        compare, *view_values = inputs.request(request, 1 + n_view)
        return update_compare_summary(queries, compare, view_values)

    @app.callback(
        Output(ids.COMPARE_IMPORTANCE_A, "figure"), Output(ids.COMPARE_IMPORTANCE_B, "figure"),
        tab_gate(app, ids.TAB_METRICS, ids.COMPARE_IMPORTANCE_REQUEST, [
            Input(ids.COMPARE, "data"), *view_inputs(), Input(ids.SIDE, "value"), Input(ids.HIDE_CONFIDENCE, "value")]),
        prevent_initial_call=True, **background(ids.COMPARE_IMPORTANCE_RUNNING))
    def _update_compare_importance(request):
        compare, *rest = inputs.request(request, 3 + n_view)
        return update_compare_importance(queries, compare, rest[:n_view], *rest[n_view:])

    @app.callback(
        Output(ids.COMPARE_PERF_GRAPH, "figure"), Output(ids.COMPARE_PERF_FINDING, "children"),
        Output(ids.COMPARE_PERF_ALERT, "children"),
        tab_gate(app, ids.TAB_PERFORMANCE, ids.COMPARE_PERF_REQUEST, [
            Input(ids.COMPARE, "data"), *view_inputs(), Input(ids.PERF_METRIC, "value"),
            Input(ids.PERF_BUCKETS, "value"), Input(ids.PERF_METHOD, "value")]),
        prevent_initial_call=True, **background(ids.COMPARE_PERF_RUNNING))
    def _update_compare_performance(request):
        compare, *rest = inputs.request(request, 4 + n_view)
        return update_compare_performance(queries, compare, rest[:n_view], *rest[n_view:])

    app.callback(Output(ids.EXPLORER_FILTER, "data", allow_duplicate=True),
                 Output(ids.EXPLORER_COMPARE, "value"),
                 Output(ids.EXPLORER_PAGES, "active_page", allow_duplicate=True),
                 Input(ids.EXPLORER_COMPARE, "value"), Input(ids.COMPARE, "data"), Input(ids.EXPLORER_FILTER, "data"),
                 prevent_initial_call=True)(set_compare_group)


def explorer_of(queries, view, compare):
    """``(explorer, target)`` the Explorer's callbacks ask: the single run's (:class:`ExplorerQueries
    <detlens.app.explorer_queries.ExplorerQueries>`, the view), or in compare mode compare mode's
    (:class:`CompareQueries <detlens.app.compare_queries.CompareQueries>`, the compare view)."""
    if compare_doc(compare) is None:
        return queries.explorer, view
    return queries.compare, compare_of(queries, view, compare)
