"""The Explorer's object table: one row per object, its outcome and every metric.

Rules (tested in ``tests/test_explorer_core.py``):

Rows
    One row per prediction (``kind`` "prediction", rows ``0..P-1`` in file
    order) followed by one row per label (``kind`` "label", rows ``P..P+L-1``).
    A match therefore has two rows: the TP prediction and the label it found.

Columns
    ``kind, row, object_id, image_id, image_index, file_name, class, x, y, w, h,
    score, outcome, reason, matched_id, iou`` (as in
    :meth:`detlens.core.matching.MatchResult.prediction_table` and ``label_table``;
    ``score`` is NaN for labels, ``reason`` "" for them), then one column per
    metric: frame metrics under their ``(F)`` name (the image's value), object
    metrics under their *base* name (the ``(P)`` value on prediction rows, the
    ``(L)`` value on label rows), so "Object Area - Relative" sorts and filters
    both kinds. A metric with no twin (``Model Confidence``) is NaN on the
    other kind. ``kind``, ``class``, ``outcome`` and ``reason`` are pandas
    categoricals whose categories are in sorted order, so sorting by one sorts
    by its text (and filtering compares codes, not millions of strings).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from detlens.core.dataset import Dataset
from detlens.core.matching import OUTCOME_NAMES, REASON_NAMES, MatchResult
from detlens.core.metrics.registry import FRAME, LABEL, PREDICTION, base_of, level_of
from detlens.core.metrics.tables import MetricTables
from detlens.core.vocabulary import ObjectKind

BASE_COLUMNS = ("kind", "row", "object_id", "image_id", "image_index", "file_name", "class", "x", "y", "w", "h",
                "score", "outcome", "reason", "matched_id", "iou")


def metric_column(name: str) -> str:
    """The object-table column of a metric display name: ``(F)`` names as they are, object metrics by base name."""
    return name if level_of(name) == FRAME else base_of(name)


def metric_columns(tables: MetricTables | list[str]) -> list[str]:
    """Metric column names of the object table (of :class:`MetricTables` or a list of display names), in order."""
    out: list[str] = []
    for name in (tables.info if isinstance(tables, MetricTables) else tables):
        column = metric_column(name)
        if column not in out:
            out.append(column)
    return out


def _metric_values(tables: MetricTables, dataset: Dataset, column: str, level: str) -> np.ndarray:
    n = len(dataset.predictions) if level == PREDICTION else len(dataset.labels)
    name = column if column.endswith(" (F)") else f"{column} ({level})"
    if name not in tables.info:
        return np.full(n, np.nan)
    values = (tables.prediction_values if level == PREDICTION else tables.label_values)(name, dataset)
    return np.full(n, np.nan) if values is None else np.asarray(values, np.float64)


def object_table(dataset: Dataset, match: MatchResult, tables: MetricTables) -> pd.DataFrame:
    """Every prediction and label with its outcome and metrics (columns in the module docstring).

    Returns:
        DataFrame of ``P + L`` rows, index ``0..P-1+L`` equal to column ``row``;
        boxes ``x, y, w, h`` float64 pixels, ``score``/``iou``/metrics float64.
    """
    columns = ObjectColumns(dataset, match, lambda: tables)
    return columns.frame(columns.names)


# The text columns are categoricals: codes straight from the match and the dataset (no string per row), their
# categories in sorted order so that sorting by one sorts its text. (code -> category position, categories)
_OUTCOME_CODES = (np.argsort(np.argsort([str(n) for n in OUTCOME_NAMES])), sorted(str(n) for n in OUTCOME_NAMES))
_REASON_CODES = (np.argsort(np.argsort([str(n) for n in REASON_NAMES])), sorted(str(n) for n in REASON_NAMES))
_KINDS = sorted(k.value for k in ObjectKind)
TEXT_COLUMNS = ("kind", "class", "outcome", "reason")  # categoricals (see above)


class ObjectColumns:
    """The object table (rules in the module docstring) one column and some rows at a time.

    At millions of objects the whole table is gigabytes; the Explorer needs a few columns of every
    row to filter and sort, and every column of a page's rows only. Each value is taken from the
    dataset, the match and the metric tables when asked for; whole columns are kept once computed.

    Args:
        dataset: the dataset (``P`` predictions, ``L`` labels).
        match: its match at the view.
        tables_of: returns its :class:`MetricTables` (called once, only when a metric column or the
            list of every column is asked for).
    """

    def __init__(self, dataset: Dataset, match: MatchResult, tables_of: Callable[[], MetricTables]):
        self.dataset, self.match = dataset, match
        self._tables_of, self._tables = tables_of, None
        self._n_p = len(dataset.predictions)
        self._whole: dict[str, np.ndarray] = {}

    @property
    def tables(self) -> MetricTables:
        if self._tables is None:
            self._tables = self._tables_of()
        return self._tables

    @functools.cached_property
    def names(self) -> list[str]:
        """Every column, in the object table's order (read once: :meth:`has` asks it for every non-base name)."""
        return [*BASE_COLUMNS, *metric_columns(self.tables)]

    def has(self, name: str) -> bool:
        """True when ``name`` is a column (the metric tables are read only for a name not of the base ones)."""
        return name in BASE_COLUMNS or name in self.names

    def __len__(self) -> int:
        return self._n_p + len(self.dataset.labels)

    def values(self, name: str, rows: np.ndarray | None = None) -> "np.ndarray | pd.Categorical":
        """``(len(rows),)`` values of column ``name`` at object-table ``rows`` (``(K,)`` int; None: every row):
        a numpy array, or a ``pd.Categorical`` for the text columns (:data:`TEXT_COLUMNS`).

        Raises:
            KeyError: ``name`` is not a column.
        """
        if not self.has(name):
            raise KeyError(name)
        if rows is None:
            if name not in self._whole:
                self._whole[name] = self._text(name, self._at(name, slice(None), slice(None), None))
            return self._whole[name]
        if name in self._whole:
            return self._whole[name][rows]
        rows = np.asarray(rows, np.int64)
        is_pred = rows < self._n_p
        return self._text(name, self._at(name, rows[is_pred], rows[~is_pred] - self._n_p, is_pred))

    def _text(self, name: str, codes: np.ndarray):
        """A text column's codes as its categorical (other columns as they are)."""
        if name not in TEXT_COLUMNS:
            return codes
        if name == "class":
            names = [str(n) for n in self.dataset.category_names]
            categories = sorted(names)
            position = np.argsort(np.argsort(names, kind="stable"), kind="stable")
            return pd.Categorical.from_codes(position[codes], categories)
        return pd.Categorical.from_codes(codes, {"kind": _KINDS, "outcome": _OUTCOME_CODES[1],
                                                 "reason": _REASON_CODES[1]}[name])

    def frame(self, names: Sequence[str], rows: np.ndarray | None = None) -> pd.DataFrame:
        """A DataFrame of columns ``names`` at ``rows`` (None: every row), indexed by row number."""
        index = pd.RangeIndex(len(self)) if rows is None else pd.Index(np.asarray(rows, np.int64))
        out = pd.DataFrame({name: self.values(name, rows) for name in names}, index=index, copy=False)
        if len(out) == 0:  # no value to infer the text columns' type from: as a whole table has them
            out = out.astype({c: "str" for c in out.columns if out[c].dtype == object and c not in TEXT_COLUMNS})
        return out

    def _at(self, name: str, p: np.ndarray | slice, lab: np.ndarray | slice, is_pred: np.ndarray | None) -> np.ndarray:
        """The column at prediction rows ``p`` and label rows ``lab``, in row order (``is_pred`` places
        them; None: all predictions, then all labels)."""
        pv, lv = self._parts(name, p, lab)
        if is_pred is None:
            return np.concatenate([pv, lv])
        out = np.empty(is_pred.shape[0], np.result_type(pv, lv))
        out[is_pred], out[~is_pred] = pv, lv
        return out

    def _parts(self, name: str, p, lab) -> tuple[np.ndarray, np.ndarray]:
        ds, m = self.dataset, self.match
        preds, labels = ds.predictions, ds.labels
        n_p, n_l = (preds.ids[p].shape[0], labels.ids[lab].shape[0])
        if name == "kind":  # codes (see _text)
            return (np.full(n_p, _KINDS.index(ObjectKind.PREDICTION.value), np.int8),
                    np.full(n_l, _KINDS.index(ObjectKind.LABEL.value), np.int8))
        if name == "row":  # the rows themselves (no arange of millions to index for a page's few)
            return _positions(p, self._n_p), _positions(lab, len(ds.labels)) + self._n_p
        if name == "object_id":
            return preds.ids[p].astype(np.int64), labels.ids[lab].astype(np.int64)
        if name == "image_index":
            return preds.image_index[p].astype(np.int64), labels.image_index[lab].astype(np.int64)
        if name == "image_id":
            return ds.images.ids[preds.image_index[p]], ds.images.ids[labels.image_index[lab]]
        if name == "file_name":
            names = ds.images.file_names
            return names[preds.image_index[p]].astype(object), names[labels.image_index[lab]].astype(object)
        if name == "class":
            return preds.category_index[p], labels.category_index[lab]
        if name in ("x", "y", "w", "h"):
            k = "xywh".index(name)
            return preds.boxes[p, k].astype(np.float64), labels.boxes[lab, k].astype(np.float64)
        if name == "score":
            return preds.scores[p].astype(np.float64), np.full(n_l, np.nan)
        if name == "outcome":
            return _OUTCOME_CODES[0][m.pred_outcome[p]], _OUTCOME_CODES[0][m.label_outcome[lab]]
        if name == "reason":
            return _REASON_CODES[0][m.pred_reason[p]], np.full(n_l, _REASON_CODES[1].index(""), np.int64)
        if name == "matched_id":
            return (_ids_at(labels.ids, m.pred_label[p]), _ids_at(preds.ids, m.label_pred[lab]))
        if name == "iou":
            found = m.label_pred[lab]
            iou = np.zeros(found.shape[0])
            iou[found >= 0] = m.pred_iou[found[found >= 0]]
            return m.pred_iou[p].astype(np.float64), iou
        return (_metric_values(self.tables, ds, name, PREDICTION)[p], _metric_values(self.tables, ds, name, LABEL)[lab])


class TableColumns:
    """:class:`ObjectColumns`' reading interface over a built table (compare mode's, with its own columns)."""

    def __init__(self, table: pd.DataFrame):
        self.table = table
        self.names = list(table.columns)

    def has(self, name: str) -> bool:
        """True when ``name`` is a column."""
        return name in self.table.columns

    def __len__(self) -> int:
        return len(self.table)

    def values(self, name: str, rows: np.ndarray | None = None) -> np.ndarray:
        """As :meth:`ObjectColumns.values`."""
        column = self.table[name].to_numpy()
        return column if rows is None else column[rows]

    def frame(self, names: Sequence[str], rows: np.ndarray | None = None) -> pd.DataFrame:
        """As :meth:`ObjectColumns.frame` (the table's index is its row number)."""
        return self.table[list(names)] if rows is None else self.table.iloc[np.asarray(rows, np.int64)][list(names)]


def as_columns(table: "pd.DataFrame | ObjectColumns | TableColumns") -> "ObjectColumns | TableColumns":
    """``table`` as an :class:`ObjectColumns`-like reader (a DataFrame wrapped in :class:`TableColumns`)."""
    return TableColumns(table) if isinstance(table, pd.DataFrame) else table


def _positions(at: "np.ndarray | slice", n: int) -> np.ndarray:
    """The positions ``at`` (``(K,)`` int, or a slice) of a column of ``n`` values, as int64."""
    return np.arange(n, dtype=np.int64)[at] if isinstance(at, slice) else np.asarray(at, np.int64)


def _ids_at(ids: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``ids[rows]`` as int64, -1 where ``rows`` is -1."""
    out = np.full(rows.shape[0], -1, np.int64)
    hit = rows >= 0
    out[hit] = ids[rows[hit]]
    return out
