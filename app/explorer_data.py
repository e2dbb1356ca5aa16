"""Server-side data of the Explorer tab, memoised in the :class:`~detlens.app.datastore.DataStore`.

The object table (one row per prediction and label, see :mod:`detlens.core.explorer`)
is built once per dataset, IoU threshold and minimum confidence and kept in the
store's results cache; a view (filter + sort) keeps only the ordered row
numbers. The browser receives one page of rows at a time, never the table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from detlens.app.datastore import DataStore, normalise_params
from detlens.core.explorer import BASE_COLUMNS, ExplorerFilter, filter_mask, histogram, object_table, outcome_counts, sort_objects

PAGE_SIZE = 24
HISTOGRAM_BINS = 40
MAX_OTHER_BOXES = 40  # faint boxes drawn per thumbnail besides its object


def objects(store: DataStore, key: str, iou: float, min_score: float | None) -> pd.DataFrame:
    """The :func:`detlens.core.explorer.object_table` at these settings (computed once, then cached)."""
    iou, _, min_score = normalise_params(iou, None, min_score)
    return store.memo(f"{key}/objects/{iou:.2f}/{min_score}",
                      lambda: object_table(store.dataset(key), store.match(key, iou, min_score), store.tables(key)))


def metric_extent(store: DataStore, key: str, column: str) -> tuple[float, float] | None:
    """``(min, max)`` of a metric column over all objects (threshold-independent), None without values."""
    def compute():
        values = objects(store, key, 0.5, None)[column].to_numpy(np.float64)
        values = values[~np.isnan(values)]
        return (float(values.min()), float(values.max())) if values.size else None
    return store.memo(f"{key}/extent/{DataStore._params_key(column)}", compute)


def view(store: DataStore, key: str, iou: float, classes: list[str] | None, min_score: float | None,
         flt: ExplorerFilter, sort_by: str, descending: bool) -> dict:
    """The filtered, sorted rows: ``{"rows": (K,) int64 row numbers, "counts": outcome_counts,
    "histogram": Histogram.to_dict() of the filter's metric over the rows kept without its range}``.

    Raises:
        ValueError: unknown metric or sort column.
    """
    iou, classes, min_score = normalise_params(iou, classes, min_score)

    def compute() -> dict:
        table = objects(store, key, iou, min_score)
        kept = table[filter_mask(table, flt, classes)]
        rows = sort_objects(kept, sort_by, descending)["row"].to_numpy(np.int64)
        hist = None
        if flt.metric is not None:
            extent = metric_extent(store, key, flt.metric)
            around = table[filter_mask(table, flt, classes, skip_metric=True)][flt.metric].to_numpy(np.float64)
            hist = histogram(around, *(extent or (np.nan, np.nan)), HISTOGRAM_BINS).to_dict()
        return {"rows": rows, "counts": outcome_counts(kept), "histogram": hist}
    params = DataStore._params_key(iou, classes, min_score, flt.to_dict(), sort_by, bool(descending))
    return store.memo(f"{key}/explorer/{params}", compute)


def _box(row) -> dict:
    return {"row": int(row.row), "kind": row.kind, "class": row["class"], "outcome": row.outcome,
            "reason": row.reason, "box": [float(row.x), float(row.y), float(row.w), float(row.h)],
            "score": None if np.isnan(row.score) else float(row.score)}


def image_boxes(table: pd.DataFrame, image_index: int, limit: int | None = None) -> list[dict]:
    """Every object of one image as small dicts (labels first, then predictions by score), at most ``limit``."""
    rows = table[table["image_index"].to_numpy() == image_index]
    rows = rows.sort_values(["kind", "score"], ascending=[True, False], kind="stable")  # "label" < "prediction"
    if limit is not None:
        rows = rows.head(limit)
    return [_box(r) for _, r in rows.iterrows()]


def page(store: DataStore, key: str, iou: float, min_score: float | None, rows: np.ndarray,
         number: int, value_column: str | None) -> list[dict]:
    """One page of objects as small dicts for the thumbnail grid.

    Each: ``_box`` fields plus ``image_index``, ``width``, ``height``, ``iou``,
    ``value`` (of ``value_column``, or None) and ``others`` (the image's other
    objects, at most ``MAX_OTHER_BOXES``).
    """
    table = objects(store, key, iou, min_score)
    images = store.images(key)
    start = (max(int(number), 1) - 1) * PAGE_SIZE
    out = []
    for r in rows[start:start + PAGE_SIZE].tolist():
        row = table.iloc[r]
        i = int(row.image_index)
        item = _box(row)
        value = float(row[value_column]) if value_column in table.columns else float("nan")
        item.update(image_index=i, width=images["widths"][i], height=images["heights"][i],
                    iou=float(row.iou), value=None if np.isnan(value) else value,
                    others=[b for b in image_boxes(table, i, MAX_OTHER_BOXES + 1) if b["row"] != r][:MAX_OTHER_BOXES])
        out.append(item)
    return out


def detail(store: DataStore, key: str, iou: float, min_score: float | None, row: int) -> dict:
    """The selected object, every box of its image and every metric value of both.

    Returns:
        ``{"object": _box + "image_index", "width", "height", "file_name", "boxes": [...],
        "object_metrics": {column: value}, "image_metrics": {"(F)" name: value}}`` (NaN as None).
    """
    table = objects(store, key, iou, min_score)
    images = store.images(key)
    r = table.iloc[int(row)]
    i = int(r.image_index)
    metric_cols = [c for c in table.columns if c not in BASE_COLUMNS]
    frame = {c: r[c] for c in metric_cols if c.endswith(" (F)")}
    obj = {c: r[c] for c in ("score", "iou", *[c for c in metric_cols if not c.endswith(" (F)")])
           if not (r.kind == "label" and pd.isna(r[c]))}  # a label has no confidence
    clean = lambda d: {k: (None if pd.isna(v) else float(v)) for k, v in d.items()}  # noqa: E731
    item = _box(r)
    item.update(image_index=i, object_id=int(r.object_id), image_id=int(r.image_id), matched_id=int(r.matched_id))
    return {"object": item, "width": images["widths"][i], "height": images["heights"][i],
            "file_name": images["file_names"][i], "boxes": image_boxes(table, i),
            "object_metrics": clean(obj), "image_metrics": clean(frame)}

