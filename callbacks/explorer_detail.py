"""Callbacks of the Explorer's detail view and downloads: full image with every box, CSV, COCO pair."""

from __future__ import annotations

import io
import json
import zipfile

from dash import ALL, Input, Output, State, dcc
from dash.exceptions import PreventUpdate

from detlens.callbacks import inputs
from detlens.callbacks.common import DEFAULT_MODE, DEFAULT_RULE, alert, background, error_alert, triggered, view_inputs
from detlens.callbacks.compare_mode import explorer_of
from detlens.callbacks.explorer_tab import fmt_metric
from detlens.core.explorer import coco_subset, to_csv
from detlens.core.settings import EXPORT_MAX_ROWS
from detlens.layouts import ids
from detlens.layouts.explorer_cards import detail_view
from detlens.layouts.image_urls import full_url

MAX_ROW = 2**53  # a thumbnail's row beyond this is not a row of any table


def clicked_row(trigger_id, trigger_value) -> int | None:
    """The object row of the clicked thumbnail, or None when the grid was only redrawn (no click).

    Raises:
        InvalidInput: the thumbnail's row is not a whole number from 0 (the server answers 400).
    """
    if not isinstance(trigger_id, dict) or trigger_id.get("type") != ids.EXPLORER_THUMB or not trigger_value:
        return None
    return inputs.whole_number(trigger_id.get("row"), "object row", 0, MAX_ROW)


def open_detail(queries, clicks, key, classes, iou, min_score, rule=DEFAULT_RULE, mode=DEFAULT_MODE, compare=None):
    """Clicking a thumbnail opens its full image with every label and prediction and every metric (in
    compare mode, ``compare`` the ``COMPARE`` store: both runs\' boxes)."""
    row = clicked_row(*triggered())
    if row is None or not key:
        raise PreventUpdate
    try:
        view = queries.view(*inputs.view(key, classes, iou, min_score, rule, mode))
        explorer, target = explorer_of(queries, view, compare)
        doc = explorer.detail(target, row)
        src = full_url(view.key, doc["object"]["image_index"]) if queries.has_images(view.key) else None
    except IndexError:  # a row beyond the object table
        return True, "Cannot show this object", alert("There is no object with this row number: reload the page.")
    except Exception as exc:
        return True, "Cannot show this object", error_alert(exc)
    return True, f"{doc['file_name']} · image id {doc['object']['image_id']}", detail_view(doc, src, fmt_metric)


def coco_zip(labels: dict, predictions: list, predictions_b: list | None = None) -> bytes:
    """``labels.json`` and ``predictions.json`` in one zip archive; with ``predictions_b`` (compare mode)
    ``predictions_A.json`` and ``predictions_B.json`` instead."""
    buffer = io.BytesIO()
    runs = {"predictions.json": predictions} if predictions_b is None else {
        "predictions_A.json": predictions, "predictions_B.json": predictions_b}
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("labels.json", json.dumps(labels))
        for name, results in runs.items():
            archive.writestr(name, json.dumps(results))
    return buffer.getvalue()


def download(queries, csv_clicks, coco_clicks, key, classes, iou, min_score, filter_doc,
             max_rows: int = EXPORT_MAX_ROWS, rule=DEFAULT_RULE, mode=DEFAULT_MODE, compare=None):
    """The filtered objects as CSV (one row per object), or their images' COCO labels and predictions (zip).

    In compare mode (``compare``: the ``COMPARE`` store) the rows are both runs' (with their ``run`` and
    ``change`` columns) and the zip holds each run's predictions of the rows' images.

    Registered as a background callback, so the export is built in a job's
    process, not the web server's. More than ``max_rows`` filtered objects are
    refused with an alert asking for narrower filters.
    """
    which = triggered()[0]
    if not key or which not in (ids.EXPLORER_CSV, ids.EXPLORER_COCO):
        raise PreventUpdate
    try:
        view = queries.view(*inputs.view(key, classes, iou, min_score, rule, mode))
        flt = inputs.explorer_filter(filter_doc)
        explorer, target = explorer_of(queries, view, compare)
        count = len(explorer.filtered(target, flt, "row", False)["rows"])
        if count == 0:
            return None, alert("No objects match these filters: nothing to download.")
        if count > max_rows:
            return None, alert(f"These filters keep {count:,} objects, more than the {max_rows:,} an export may "
                               "hold: narrow them (outcome, class, metric or confidence range) and download again.")
        rows = explorer.selection(target, flt)
        if which == ids.EXPLORER_CSV:
            return dcc.send_string(to_csv(rows), "detlens-objects.csv"), None
        labels, predictions = coco_subset(queries.dataset(view.key), rows)
        predictions_b = None if target is view else coco_subset(queries.dataset(target.b.key), rows)[1]
    except Exception as exc:
        return None, error_alert(exc)
    return dcc.send_bytes(coco_zip(labels, predictions, predictions_b), "detlens-subset-coco.zip"), None


def register(app, queries) -> None:
    """Wire this module's callbacks to ``app``, answering from ``queries``."""
    @app.callback(
        Output(ids.EXPLORER_MODAL, "is_open"),
        Output(ids.EXPLORER_DETAIL_TITLE, "children"),
        Output(ids.EXPLORER_DETAIL, "children"),
        Input({"type": ids.EXPLORER_THUMB, "row": ALL}, "n_clicks"),
        *view_inputs(State),
        State(ids.COMPARE, "data"),
        prevent_initial_call=True,
    )
    def _open_detail(clicks, key, classes, iou, min_score, rule, mode, compare):
        return open_detail(queries, clicks, key, classes, iou, min_score, rule, mode, compare=compare)

    @app.callback(
        Output(ids.EXPLORER_DOWNLOAD, "data"),
        Output(ids.EXPLORER_ALERT, "children", allow_duplicate=True),
        Input(ids.EXPLORER_CSV, "n_clicks"),
        Input(ids.EXPLORER_COCO, "n_clicks"),
        *view_inputs(State),
        State(ids.EXPLORER_FILTER, "data"),
        State(ids.COMPARE, "data"),
        prevent_initial_call=True,
        **background(ids.EXPLORER_RUNNING),
    )
    def _download(csv_clicks, coco_clicks, key, classes, iou, min_score, rule, mode, filter_doc, compare):
        return download(queries, csv_clicks, coco_clicks, key, classes, iou, min_score, filter_doc, rule=rule,
                        mode=mode, compare=compare)
