"""The Explorer's queries, memoised in the shared cache like every other result.

The object table (one row per prediction and label, see :mod:`detlens.core.explorer`)
is never built whole for a view: :class:`~detlens.core.explorer.table.ObjectColumns`
reads the columns a filter and its order need from the dataset and the view's match
(the metric tables only for a metric), and every column of a page's rows only. A
filtered view keeps only the ordered row numbers, in the results cache. The browser
receives one page of rows at a time, never the table.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from detlens.app.cache import Entry, cache_key
from detlens.core.explorer import (BASE_COLUMNS, ExplorerFilter, filter_mask, histogram, outcome_counts, sort_objects,
                                   with_errors)
from detlens.core.explorer.filters import COMPARE_COLUMN
from detlens.core.explorer.table import ObjectColumns, TableColumns, as_columns
from detlens.core.settings import EXPLORER_HISTOGRAM_BINS, EXPLORER_MAX_OTHER_BOXES, EXPLORER_PAGE_SIZE
from detlens.core.vocabulary import ObjectKind

if TYPE_CHECKING:
    from detlens.app.queries import Queries, ViewParams


def object_box(row) -> dict:
    """One object-table row as a small dict: row, kind, class, outcome, reason, box [x, y, w, h] px, score."""
    return {"row": int(row.row), "kind": row.kind, "class": row["class"], "outcome": row.outcome,
            "reason": row.reason, "box": [float(row.x), float(row.y), float(row.w), float(row.h)],
            "score": None if np.isnan(row.score) else float(row.score)}


BOX_COLUMNS = ["row", "kind", "class", "outcome", "reason", "x", "y", "w", "h", "score"]  # what object_box reads


def image_boxes(table: pd.DataFrame, image_index: int, limit: int | None = None) -> list[dict]:
    """Every object of one image as small dicts (labels first, then predictions by score), at most ``limit``.

    Only the image's rows and the box columns are read (the table has a column per metric and, at 500k
    predictions, more than 500k rows).
    """
    return boxes_at(box_columns(table), np.flatnonzero(table["image_index"].to_numpy() == image_index), limit)


def box_columns(table: pd.DataFrame) -> dict[str, np.ndarray]:
    """The :data:`BOX_COLUMNS` of ``table`` as ``(N,)`` numpy arrays (text columns as object arrays, ``score``
    float64), read once for the many :func:`boxes_at` calls of a page."""
    columns = {c: table[c].to_numpy() for c in BOX_COLUMNS}
    columns["score"] = columns["score"].astype(np.float64, copy=False)
    return columns


def box_dicts(columns: dict[str, np.ndarray], at: np.ndarray) -> list[dict]:
    """:func:`object_box` of the rows at positions ``at`` (``(K,)`` int) of :func:`box_columns`, in that order."""
    values = [columns[c][at].tolist() for c in BOX_COLUMNS]
    return [{"row": int(row), "kind": kind, "class": name, "outcome": outcome, "reason": reason,
             "box": [float(x), float(y), float(w), float(h)], "score": None if math.isnan(score) else float(score)}
            for row, kind, name, outcome, reason, x, y, w, h, score in zip(*values)]


def boxes_at(columns: dict[str, np.ndarray], at: np.ndarray, limit: int | None = None) -> list[dict]:
    """:func:`image_boxes` of the rows at positions ``at`` (``(K,)`` int, the rows of one image) of
    :func:`box_columns`."""
    at = np.asarray(at, np.int64)
    kind, score = columns["kind"][at], columns["score"][at]
    # labels ("label" < "prediction") first, then by score, highest first; stable; NaN scores last
    return box_dicts(columns, at[np.lexsort((-score, kind != ObjectKind.LABEL.value))][:limit])


def rows_by_image(image_index: np.ndarray, images: np.ndarray) -> dict[int, np.ndarray]:
    """``{image: (K,) int64 positions of its rows}`` for each of ``images``, in one pass over ``image_index``
    (``(N,)`` int, each row's image)."""
    at = np.flatnonzero(np.isin(image_index, images))
    at = at[np.argsort(image_index[at], kind="stable")]  # grouped by image, rows in order within each
    keys, starts = np.unique(image_index[at], return_index=True)
    return {int(k): part for k, part in zip(keys, np.split(at, starts[1:]))}


def objects_by_image(image_index: np.ndarray, n_images: int) -> tuple[np.ndarray, np.ndarray]:
    """The rows grouped by image: ``(order, starts)``, image i's rows ``order[starts[i]:starts[i + 1]]`` in
    row order (``image_index``: ``(N,)`` int, each row's image in ``[0, n_images)``; ``order`` ``(N,)`` int64,
    ``starts`` ``(n_images + 1,)`` int64)."""
    image_index = np.asarray(image_index, np.int64)
    order = np.argsort(image_index, kind="stable")
    return order, np.searchsorted(image_index[order], np.arange(n_images + 1)).astype(np.int64)


class ExplorerQueries:
    """Object table, filtered views, pages and details of the Explorer, over the :class:`Queries` cache."""

    def __init__(self, queries: "Queries"):
        self.queries = queries
        self.cache = queries.cache

    def columns(self, view: "ViewParams") -> ObjectColumns:
        """The object table of the view, read column by column (see the module docstring); at a minimum
        confidence, or each class's own, the outcomes are those of the view's match."""
        view = view.all_classes().outcomes()
        q = self.queries
        dataset = q.dataset(view.key)
        if view.per_class or view.min_score is not None:
            # derived from the match without a minimum, which at 5M predictions copies its arrays in 0.3-0.5 s:
            # kept for the Explorer's next requests (each page, each detail) instead of derived for each
            match = self.cache.memo(cache_key(Entry.MATCH, view), lambda: q.match(view, dataset=dataset))
        else:
            match = q.match(view, dataset=dataset)
        return ObjectColumns(dataset, match, lambda: q.tables(view.key))

    def objects(self, view: "ViewParams") -> pd.DataFrame:
        """The whole :func:`detlens.core.explorer.object_table` of the view (compare mode's table starts from
        it; the Explorer itself reads :meth:`columns`)."""
        columns = self.columns(view)
        return columns.frame(columns.names)

    def metric_extent(self, key: str, column: str) -> tuple[float, float] | None:
        """``(min, max)`` of a metric column over all objects (threshold-independent), None without values."""
        from detlens.app.queries import ViewParams

        def compute():
            values = self.columns(ViewParams.of(key)).values(column).astype(np.float64)
            values = values[~np.isnan(values)]
            return (float(values.min()), float(values.max())) if values.size else None
        return self.cache.memo(cache_key(Entry.EXTENT, key, column), compute)

    def objects_by_image(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """:func:`objects_by_image` of the object table's rows (predictions, then labels) of dataset ``key``:
        threshold-independent, computed once, so a page reads its images' rows without a pass over millions."""
        def compute():
            ds = self.queries.dataset(key)
            return objects_by_image(np.concatenate([ds.predictions.image_index, ds.labels.image_index]),
                                    len(ds.images))
        return self.cache.memo(cache_key(Entry.OBJECTS_BY_IMAGE, key), compute)

    def _rows_of_images(self, view: "ViewParams", columns: "ObjectColumns | TableColumns",
                        images: np.ndarray) -> dict[int, np.ndarray]:
        """:func:`rows_by_image` of ``columns`` for ``images``, without a pass over the table when its rows are
        the dataset's objects (:meth:`objects_by_image`)."""
        if isinstance(columns, ObjectColumns):
            order, starts = self.objects_by_image(view.key)
            return {i: order[starts[i]:starts[i + 1]] for i in np.unique(images).tolist()}
        image_of = columns.values("image_index")  # another table (compare mode's): one pass over it
        return rows_by_image(image_of, np.asarray(images))

    def table_of(self, view: "ViewParams") -> Callable[[], ObjectColumns]:
        """``columns(view)`` made at most once, and only when first called: pass it to :meth:`filtered` and
        :meth:`page` answering one request (a grid reads the dataset and the match for both)."""
        return functools.cache(lambda: self.columns(view))

    def filtered(self, view: "ViewParams", flt: ExplorerFilter, sort_by: str, descending: bool,
                 table_of: Callable[[], "ObjectColumns | pd.DataFrame"] | None = None) -> dict:
        """The filtered, sorted rows: ``{"rows": (K,) int64 row numbers, "counts": outcome_counts,
        "histogram": Histogram.to_dict() of the filter's metric over the rows kept without its range}``.
        ``table_of``: see :meth:`table_of` (compare mode passes its own table).

        Raises:
            ValueError: unknown metric or sort column.
        """
        def compute() -> dict:
            columns = as_columns((table_of or self.table_of(view))())
            # only what the filter and the order read (an unknown metric or sort column is refused below)
            wanted = ["row", "kind", "class", "outcome", "reason", "score", flt.metric, sort_by,
                      COMPARE_COLUMN if flt.compare is not None else None]
            table = columns.frame([c for c in dict.fromkeys(wanted) if c is not None and columns.has(c)])
            if flt.needs_errors:  # each object's TIDE type and confusion cell at this view
                table = with_errors(table, self.queries.errors.object_errors(
                    view, tide=flt.error_types is not None, confusion=flt.confusion is not None))
            kept = table[filter_mask(table, flt, view.class_list)]
            rows = sort_objects(kept, sort_by, descending)["row"].to_numpy(np.int64)
            hist = None
            if flt.metric is not None:
                extent = self.metric_extent(view.key, flt.metric)
                around = table[filter_mask(table, flt, view.class_list, skip_metric=True)][flt.metric]
                hist = histogram(around.to_numpy(np.float64), *(extent or (np.nan, np.nan)),
                                 EXPLORER_HISTOGRAM_BINS).to_dict()
            return {"rows": rows, "counts": outcome_counts(kept), "histogram": hist}
        return self.cache.memo(cache_key(Entry.EXPLORER_VIEW, view, flt, sort_by, bool(descending)), compute)

    def page(self, view: "ViewParams", rows: np.ndarray, number: int, value_column: str | None,
             table_of: Callable[[], "ObjectColumns | pd.DataFrame"] | None = None) -> list[dict]:
        """Page ``number`` (from 1) of ``rows`` as small dicts for the thumbnail grid.

        Each: ``object_box`` fields plus ``image_index``, ``width``, ``height``,
        ``iou``, ``value`` (of ``value_column``, or None) and ``others`` (the
        image's other objects, at most ``EXPLORER_MAX_OTHER_BOXES``). ``table_of``: see :meth:`table_of`.
        Only the rows of the page's images are read.
        """
        columns = as_columns((table_of or self.table_of(view))())
        images = self.queries.images(view.key)
        start = (max(int(number), 1) - 1) * EXPLORER_PAGE_SIZE
        shown = np.asarray(rows[start:start + EXPLORER_PAGE_SIZE], np.int64)
        of_images = self._rows_of_images(view, columns, columns.values("image_index", shown))
        at = np.unique(np.concatenate([shown, *of_images.values()]))
        names = [*BOX_COLUMNS, "image_index", "iou"]
        if value_column is not None and columns.has(value_column) and value_column not in names:
            names.append(value_column)
        table = columns.frame(names, at)
        boxes = box_columns(table)  # each column read once for every card (a card reads about 40 rows)
        image_of, iou = table["image_index"].to_numpy(), table["iou"].to_numpy(np.float64)
        value = table[value_column].to_numpy(np.float64) if value_column in table.columns else None
        positions = np.searchsorted(at, shown)
        out = []
        for r, p, item in zip(shown.tolist(), positions.tolist(), box_dicts(boxes, positions)):
            i = int(image_of[p])
            near = np.searchsorted(at, of_images[i])
            others = [b for b in boxes_at(boxes, near, EXPLORER_MAX_OTHER_BOXES + 1) if b["row"] != r]
            v = math.nan if value is None else float(value[p])
            item.update(image_index=i, width=float(images["widths"][i]), height=float(images["heights"][i]),
                        iou=float(iou[p]), value=None if math.isnan(v) else v,
                        others=others[:EXPLORER_MAX_OTHER_BOXES])
            out.append(item)
        return out

    def detail(self, view: "ViewParams", row: int, table_of: Callable[[], "ObjectColumns | pd.DataFrame"] | None = None
               ) -> dict:
        """The selected object, every box of its image and every metric value of both (``table_of``: see
        :meth:`table_of`; compare mode passes its own table). Only the rows of the object's image are read.

        Returns:
            ``{"object": object_box + "image_index", "width", "height", "file_name", "boxes": [...],
            "object_metrics": {column: value}, "image_metrics": {"(F)" name: value}}`` (NaN as None).
        """
        columns = as_columns((table_of or self.table_of(view))())
        images = self.queries.images(view.key)
        i = int(columns.values("image_index", np.array([int(row)]))[0])
        at = self._rows_of_images(view, columns, np.array([i]))[i]
        table = columns.frame(columns.names, at)
        r = table.iloc[int(np.searchsorted(at, int(row)))]
        # metrics are the float columns after the base ones (compare mode adds text columns)
        metric_cols = [c for c in table.columns if c not in BASE_COLUMNS and pd.api.types.is_float_dtype(table[c])]
        frame = {c: r[c] for c in metric_cols if c.endswith(" (F)")}
        obj = {c: r[c] for c in ("score", "iou", *[c for c in metric_cols if not c.endswith(" (F)")])
               if not (r.kind == "label" and pd.isna(r[c]))}  # a label has no confidence
        item = object_box(r)
        item.update(image_index=i, object_id=int(r.object_id), image_id=int(r.image_id),
                    matched_id=int(r.matched_id))
        return {"object": item, "width": float(images["widths"][i]), "height": float(images["heights"][i]),
                "file_name": images["file_names"][i], "boxes": boxes_at(box_columns(table), np.arange(len(at))),
                "object_metrics": _json_numbers(obj), "image_metrics": _json_numbers(frame)}

    def selection(self, view: "ViewParams", flt: ExplorerFilter) -> pd.DataFrame:
        """The filtered objects' rows of the table, in row order (for the downloads)."""
        columns = self.columns(view)
        return columns.frame(columns.names, self.filtered(view, flt, "row", False)["rows"])


def _json_numbers(values: dict) -> dict:
    return {k: (None if pd.isna(v) else float(v)) for k, v in values.items()}
