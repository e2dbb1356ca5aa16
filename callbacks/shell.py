"""Callbacks of the page frame: preparation progress, dataset header, filter value labels."""

from __future__ import annotations

from dash import Input, Output, State, no_update

from detlens.callbacks import inputs
from detlens.callbacks.common import alert
from detlens.layouts import ids

SHOWN, HIDDEN = {"display": "block"}, {"display": "none"}


def poll_preparation(queries, n_intervals, source_id):
    """Show preparation progress; once ready, store the dataset key and fill the header and class filter."""
    failed = (None, True, HIDDEN, 0, "", "")
    if not isinstance(source_id, str) or len(source_id) > inputs.MAX_TEXT:
        return (*failed, alert("The page sent an invalid data source: reload the page.", "danger"), HIDDEN, "", "",
                [], [])
    status = queries.status(source_id)
    if status.state == "error":
        return (*failed, alert(status.text, "danger"), HIDDEN, "", "", [], [])
    if status.state != "ready":
        percent = round(100 * status.fraction)
        return (no_update, False, SHOWN, percent, f"{percent}%", status.text + "…", None, HIDDEN,
                no_update, no_update, no_update, no_update)
    try:
        summary = queries.summary(status.key)
    except ValueError as exc:
        return (*failed, alert(str(exc), "danger"), HIDDEN, "", "", [], [])
    counts = (f"{summary['images']:,} images · {summary['labels']:,} labels · "
              f"{summary['predictions']:,} predictions · {len(summary['classes'])} classes")
    notes = [alert(f"Note: {w}", "info") for w in summary["warnings"][:3]] or None
    options = [{"label": c, "value": c} for c in summary["classes"]]
    return (status.key, True, HIDDEN, 100, "", "", notes, SHOWN, summary["name"], counts, options,
            summary["classes"])


def show_iou(iou):
    """The exact IoU threshold next to its slider."""
    try:
        return f"IoU ≥ {inputs.iou(iou):.2f}"
    except inputs.InvalidInput:
        return "IoU: not a valid threshold"


def show_min_score(min_score):
    """The minimum confidence next to its slider ("all" at 0: every prediction is kept)."""
    try:
        score = inputs.min_score(min_score)
    except inputs.InvalidInput:
        return "score: not a valid minimum"
    return "all" if not score else f"score ≥ {score:.2f}"


def register(app, queries) -> None:
    """Wire the page frame's callbacks to ``app``, answering from ``queries``."""
    @app.callback(
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
    def _poll_preparation(n_intervals, source_id):
        return poll_preparation(queries, n_intervals, source_id)

    app.callback(Output(ids.IOU_VALUE, "children"), Input(ids.IOU, "value"))(show_iou)
    app.callback(Output(ids.MIN_SCORE_VALUE, "children"), Input(ids.MIN_SCORE, "value"))(show_min_score)
