"""Callbacks of the page frame: preparation progress, dataset header, filter value labels."""

from __future__ import annotations

from dash import Input, Output, State, callback, no_update

from detlens.callbacks.common import alert, data_store
from detlens.layouts import ids

SHOWN, HIDDEN = {"display": "block"}, {"display": "none"}


@callback(
    Output(ids.DATA_KEY, "data"),
    Output(ids.STATUS_INTERVAL, "disabled"),
    Output(ids.PROGRESS_BOX, "style"),
    Output(ids.PROGRESS_BAR, "value"),
    Output(ids.PROGRESS_BAR, "label"),
    Output(ids.PROGRESS_TEXT, "children"),
    Output(ids.SHELL_ALERT, "children"),
    Output(ids.CONTENT, "style"),
    Output(ids.DATASET_NAME, "children"),
    Output(ids.DATASET_COUNTS, "children"),
    Output(ids.CLASSES, "options"),
    Output(ids.CLASSES, "value"),
    Input(ids.STATUS_INTERVAL, "n_intervals"),
    State(ids.SOURCE, "data"),
)
def poll_preparation(n_intervals, source_id):
    """Show preparation progress; once ready, store the dataset key and fill the header and class filter."""
    store = data_store()
    status = store.status(source_id)
    if status["state"] == "error":
        return (None, True, HIDDEN, 0, "", "", alert(status["text"], "danger"), HIDDEN, "", "", [], [])
    if status["state"] != "ready":
        percent = round(100 * status["fraction"])
        return (no_update, False, SHOWN, percent, f"{percent}%", status["text"] + "…", None, HIDDEN,
                no_update, no_update, no_update, no_update)
    key = status["key"]
    try:
        summary = store.summary(key)
    except ValueError as exc:
        return (None, True, HIDDEN, 0, "", "", alert(str(exc), "danger"), HIDDEN, "", "", [], [])
    counts = (f"{summary['images']:,} images · {summary['labels']:,} labels · "
              f"{summary['predictions']:,} predictions · {len(summary['classes'])} classes")
    notes = [alert(f"Note: {w}", "info") for w in summary["warnings"][:3]] or None
    options = [{"label": c, "value": c} for c in summary["classes"]]
    return (key, True, HIDDEN, 100, "", "", notes, SHOWN, summary["name"], counts, options, summary["classes"])


@callback(Output(ids.IOU_VALUE, "children"), Input(ids.IOU, "value"))
def show_iou(iou):
    """The exact IoU threshold next to its slider."""
    return f"IoU ≥ {float(iou):.2f}"


@callback(Output(ids.MIN_SCORE_VALUE, "children"), Input(ids.MIN_SCORE, "value"))
def show_min_score(min_score):
    """The minimum confidence next to its slider ("all" at 0: every prediction is kept)."""
    return "all" if not min_score else f"score ≥ {float(min_score):.2f}"
