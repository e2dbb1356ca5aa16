"""Callbacks of the Explorer's detail view and downloads: full image with every box, CSV, COCO pair."""

from __future__ import annotations

import io
import json
import zipfile

from dash import ALL, Input, Output, State, dcc
from dash.exceptions import PreventUpdate

from detlens.callbacks.common import alert, error_alert, triggered, view_inputs
from detlens.callbacks.explorer_tab import fmt_metric
from detlens.core.explorer import ExplorerFilter, coco_subset, to_csv
from detlens.layouts import ids
from detlens.layouts.explorer_cards import detail_view
from detlens.layouts.image_urls import full_url


def clicked_row(trigger_id, trigger_value) -> int | None:
    """The object row of the clicked thumbnail, or None when the grid was only redrawn (no click)."""
    if not isinstance(trigger_id, dict) or trigger_id.get("type") != ids.EXPLORER_THUMB or not trigger_value:
        return None
    return int(trigger_id["row"])


def open_detail(queries, clicks, key, classes, iou, min_score):
    """Clicking a thumbnail opens its full image with every label and prediction and every metric."""
    row = clicked_row(*triggered())
    if row is None or not key:
        raise PreventUpdate
    try:
        doc = queries.explorer.detail(queries.view(key, classes, iou, min_score), row)
        src = full_url(key, doc["object"]["image_index"]) if queries.has_images(key) else None
    except Exception as exc:
        return True, "Cannot show this object", error_alert(exc)
    return True, f"{doc['file_name']} · image id {doc['object']['image_id']}", detail_view(doc, src, fmt_metric)


def coco_zip(labels: dict, predictions: list) -> bytes:
    """``labels.json`` and ``predictions.json`` in one zip archive."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("labels.json", json.dumps(labels))
        archive.writestr("predictions.json", json.dumps(predictions))
    return buffer.getvalue()


def download(queries, csv_clicks, coco_clicks, key, classes, iou, min_score, filter_doc):
    """The filtered objects as CSV (one row per object), or their images' COCO labels and predictions (zip)."""
    which = triggered()[0]
    if not key or which not in (ids.EXPLORER_CSV, ids.EXPLORER_COCO):
        raise PreventUpdate
    try:
        rows = queries.explorer.selection(queries.view(key, classes, iou, min_score), ExplorerFilter.from_dict(filter_doc))
        dataset = queries.dataset(key)
    except Exception as exc:
        return None, error_alert(exc)
    if rows.empty:
        return None, alert("No objects match these filters: nothing to download.")
    if which == ids.EXPLORER_CSV:
        return dcc.send_string(to_csv(rows), "detlens-objects.csv"), None
    labels, predictions = coco_subset(dataset, rows)
    return dcc.send_bytes(coco_zip(labels, predictions), "detlens-subset-coco.zip"), None


def register(app, queries) -> None:
    """Wire this module's callbacks to ``app``, answering from ``queries``."""
    @app.callback(
        Output(ids.EXPLORER_MODAL, "is_open"),
        Output(ids.EXPLORER_DETAIL_TITLE, "children"),
        Output(ids.EXPLORER_DETAIL, "children"),
        Input({"type": ids.EXPLORER_THUMB, "row": ALL}, "n_clicks"),
        *view_inputs(State),
        prevent_initial_call=True,
    )
    def _open_detail(clicks, key, classes, iou, min_score):
        return open_detail(queries, clicks, key, classes, iou, min_score)

    @app.callback(
        Output(ids.EXPLORER_DOWNLOAD, "data"),
        Output(ids.EXPLORER_ALERT, "children", allow_duplicate=True),
        Input(ids.EXPLORER_CSV, "n_clicks"),
        Input(ids.EXPLORER_COCO, "n_clicks"),
        *view_inputs(State),
        State(ids.EXPLORER_FILTER, "data"),
        prevent_initial_call=True,
    )
    def _download(csv_clicks, coco_clicks, key, classes, iou, min_score, filter_doc):
        return download(queries, csv_clicks, coco_clicks, key, classes, iou, min_score, filter_doc)
