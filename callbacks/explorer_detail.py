"""Callbacks of the Explorer's detail view and downloads: full image with every box, CSV, COCO pair."""

from __future__ import annotations

import io
import json
import zipfile

from dash import ALL, Input, Output, State, callback, ctx, dcc
from dash.exceptions import PreventUpdate

from detlens.app import explorer_data
from detlens.app.images import full_url
from detlens.callbacks.common import alert, class_filter, data_store, error_alert, min_score_of
from detlens.callbacks.explorer_tab import fmt_metric
from detlens.core.explorer import ExplorerFilter, coco_subset, to_csv
from detlens.layouts import ids
from detlens.layouts.explorer_cards import detail_view


def clicked_row(trigger_id, trigger_value) -> int | None:
    """The object row of the clicked thumbnail, or None when the grid was only redrawn (no click)."""
    if not isinstance(trigger_id, dict) or trigger_id.get("type") != ids.EXPLORER_THUMB or not trigger_value:
        return None
    return int(trigger_id["row"])


def _trigger() -> tuple[object, object]:
    """(id, new value) of what triggered the running callback; (None, None) outside a request."""
    try:
        return ctx.triggered_id, (ctx.triggered[0]["value"] if ctx.triggered else None)
    except Exception:
        return None, None


@callback(
    Output(ids.EXPLORER_MODAL, "is_open"),
    Output(ids.EXPLORER_DETAIL_TITLE, "children"),
    Output(ids.EXPLORER_DETAIL, "children"),
    Input({"type": ids.EXPLORER_THUMB, "row": ALL}, "n_clicks"),
    State(ids.DATA_KEY, "data"),
    State(ids.IOU, "value"),
    State(ids.MIN_SCORE, "value"),
    prevent_initial_call=True,
)
def open_detail(clicks, key, iou, min_score):
    """Clicking a thumbnail opens its full image with every label and prediction and every metric."""
    row = clicked_row(*_trigger())
    if row is None or not key:
        raise PreventUpdate
    store = data_store()
    try:
        doc = explorer_data.detail(store, key, iou, min_score_of(min_score), row)
        src = full_url(key, doc["object"]["image_index"]) if store.images(key)["dir"] is not None else None
    except Exception as exc:
        return True, "Cannot show this object", error_alert(exc)
    return True, f"{doc['file_name']} · image id {doc['object']['image_id']}", detail_view(doc, src, fmt_metric)


def _filtered(key, classes, iou, min_score, filter_doc):
    """(dataset, filtered object rows in the grid's order) for the downloads."""
    store = data_store()
    flt = ExplorerFilter.from_dict(filter_doc)
    selected = class_filter(classes, store.summary(key)["classes"])
    table = explorer_data.objects(store, key, iou, min_score_of(min_score))
    view = explorer_data.view(store, key, iou, selected, min_score_of(min_score), flt, "row", False)
    return store.dataset(key), table.iloc[view["rows"]]


def coco_zip(labels: dict, predictions: list) -> bytes:
    """``labels.json`` and ``predictions.json`` in one zip archive."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("labels.json", json.dumps(labels))
        archive.writestr("predictions.json", json.dumps(predictions))
    return buffer.getvalue()


@callback(
    Output(ids.EXPLORER_DOWNLOAD, "data"),
    Output(ids.EXPLORER_ALERT, "children", allow_duplicate=True),
    Input(ids.EXPLORER_CSV, "n_clicks"),
    Input(ids.EXPLORER_COCO, "n_clicks"),
    State(ids.DATA_KEY, "data"),
    State(ids.CLASSES, "value"),
    State(ids.IOU, "value"),
    State(ids.MIN_SCORE, "value"),
    State(ids.EXPLORER_FILTER, "data"),
    prevent_initial_call=True,
)
def download(csv_clicks, coco_clicks, key, classes, iou, min_score, filter_doc):
    """The filtered objects as CSV (one row per object), or their images' COCO labels and predictions (zip)."""
    which = _trigger()[0]
    if not key or which not in (ids.EXPLORER_CSV, ids.EXPLORER_COCO):
        raise PreventUpdate
    try:
        dataset, rows = _filtered(key, classes, iou, min_score, filter_doc)
    except Exception as exc:
        return None, error_alert(exc)
    if rows.empty:
        return None, alert("No objects match these filters: nothing to download.")
    if which == ids.EXPLORER_CSV:
        return dcc.send_string(to_csv(rows), "detlens-objects.csv"), None
    labels, predictions = coco_subset(dataset, rows)
    return dcc.send_bytes(coco_zip(labels, predictions), "detlens-subset-coco.zip"), None
