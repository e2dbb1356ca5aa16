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
    other kind.
"""

from __future__ import annotations

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
    columns = ObjectColumns(dataset, match, lambda: tables, list(tables.info))
    return columns.frame(columns.names)


_OUTCOMES = np.asarray([str(n) for n in OUTCOME_NAMES], dtype=object)
_REASONS = np.asarray([str(n) for n in REASON_NAMES], dtype=object)


class ObjectColumns:
    """The object table (rules in the module docstring) one column and some rows at a time.

    At millions of objects the whole table is gigabytes; the Explorer needs a few columns of every
    row to filter and sort, and every column of a page's rows only. Each value is taken from the
    dataset, the match and the metric tables when asked for; whole columns are kept once computed.

    Args:
        dataset: the dataset (``P`` predictions, ``L`` labels).
        match: its match at the view.
        tables_of: returns its :class:`MetricTables` (called once, only when a metric column is read).
        metrics: the metric display names of those tables, in their order (gives :attr:`names`).
    """

    def __init__(self, dataset: Dataset, match: MatchResult, tables_of: Callable[[], MetricTables],
                 metrics: Sequence[str]):
        self.dataset, self.match = dataset, match
        self._tables_of, self._tables = tables_of, None
        self.names = [*BASE_COLUMNS, *metric_columns(list(metrics))]
        self._n_p = len(dataset.predictions)
        self._whole: dict[str, np.ndarray] = {}

    def __len__(self) -> int:
        return self._n_p + len(self.dataset.labels)

    def values(self, name: str, rows: np.ndarray | None = None) -> np.ndarray:
        """``(len(rows),)`` values of column ``name`` at object-table ``rows`` (``(K,)`` int; None: every row).

        Raises:
            KeyError: ``name`` is not a column.
        """
        if name not in self.names:
            raise KeyError(name)
        if rows is None:
            if name not in self._whole:
                self._whole[name] = self._at(name, slice(None), slice(None), None)
            return self._whole[name]
        if name in self._whole:
            return self._whole[name][rows]
        rows = np.asarray(rows, np.int64)
        is_pred = rows < self._n_p
        return self._at(name, rows[is_pred], rows[~is_pred] - self._n_p, is_pred)

    def frame(self, names: Sequence[str], rows: np.ndarray | None = None) -> pd.DataFrame:
        """A DataFrame of columns ``names`` at ``rows`` (None: every row), indexed by row number."""
        index = pd.RangeIndex(len(self)) if rows is None else pd.Index(np.asarray(rows, np.int64))
        out = pd.DataFrame({name: self.values(name, rows) for name in names}, index=index, copy=False)
        if len(out) == 0:  # no value to infer the text columns' type from: as a whole table has them
            out = out.astype({c: "str" for c in out.columns if out[c].dtype == object})
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
        if name == "kind":
            return np.full(n_p, ObjectKind.PREDICTION.value, object), np.full(n_l, ObjectKind.LABEL.value, object)
        if name == "row":
            return np.arange(self._n_p, dtype=np.int64)[p], np.arange(self._n_p, len(self), dtype=np.int64)[lab]
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
            names = ds.category_names
            return names[preds.category_index[p]].astype(object), names[labels.category_index[lab]].astype(object)
        if name in ("x", "y", "w", "h"):
            k = "xywh".index(name)
            return preds.boxes[p, k].astype(np.float64), labels.boxes[lab, k].astype(np.float64)
        if name == "score":
            return preds.scores[p].astype(np.float64), np.full(n_l, np.nan)
        if name == "outcome":
            return _OUTCOMES[m.pred_outcome[p]], _OUTCOMES[m.label_outcome[lab]]
        if name == "reason":
            return _REASONS[m.pred_reason[p]], np.full(n_l, "", object)
        if name == "matched_id":
            return (_ids_at(labels.ids, m.pred_label[p]), _ids_at(preds.ids, m.label_pred[lab]))
        if name == "iou":
            found = m.label_pred[lab]
            iou = np.zeros(found.shape[0])
            iou[found >= 0] = m.pred_iou[found[found >= 0]]
            return m.pred_iou[p].astype(np.float64), iou
        if self._tables is None:
            self._tables = self._tables_of()
        return (_metric_values(self._tables, ds, name, PREDICTION)[p],
                _metric_values(self._tables, ds, name, LABEL)[lab])


class TableColumns:
    """:class:`ObjectColumns`' reading interface over a built table (compare mode's, with its own columns)."""

    def __init__(self, table: pd.DataFrame):
        self.table = table
        self.names = list(table.columns)

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


def _ids_at(ids: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``ids[rows]`` as int64, -1 where ``rows`` is -1."""
    out = np.full(rows.shape[0], -1, np.int64)
    hit = rows >= 0
    out[hit] = ids[rows[hit]]
    return out


def outcome_columns(dataset: Dataset, match: MatchResult) -> dict[str, np.ndarray]:
    """The columns of the object table that depend on the match: ``outcome, reason, matched_id, iou``,
    each ``(P + L,)`` (object arrays of str; int64 ids, -1 for none; float64 IoU)."""
    p_table, l_table = match.prediction_table(dataset), match.label_table(dataset)
    return {
        "outcome": np.concatenate([p_table["outcome"].to_numpy(), l_table["outcome"].to_numpy()]).astype(object),
        "reason": np.concatenate([p_table["reason"].to_numpy(), np.full(len(l_table), "", object)]).astype(object),
        "matched_id": np.concatenate([p_table["matched_label_id"].to_numpy(),
                                      l_table["matched_prediction_id"].to_numpy()]).astype(np.int64),
        "iou": np.concatenate([p_table["iou"].to_numpy(), l_table["iou"].to_numpy()]).astype(np.float64),
    }


def with_outcomes(table: pd.DataFrame, dataset: Dataset, match: MatchResult) -> pd.DataFrame:
    """``table`` (an :func:`object_table` of the same dataset) with the outcome columns of ``match``:
    equal to ``object_table(dataset, match, tables)``, without building the other columns again.
    ``table`` itself is not changed."""
    out = table.copy(deep=False)
    for column, values in outcome_columns(dataset, match).items():
        out[column] = values
    return out
