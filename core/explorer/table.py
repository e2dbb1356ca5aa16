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

import numpy as np
import pandas as pd

from detlens.core.dataset import Dataset
from detlens.core.matching import MatchResult
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
    preds, labels = dataset.predictions, dataset.labels
    n_p, n_l = len(preds), len(labels)
    names = dataset.images.file_names
    columns = {
        "kind": np.array([ObjectKind.PREDICTION.value] * n_p + [ObjectKind.LABEL.value] * n_l, dtype=object),
        "row": np.arange(n_p + n_l, dtype=np.int64),
        "object_id": np.concatenate([preds.ids, labels.ids]).astype(np.int64),
        "image_id": dataset.images.ids[np.concatenate([preds.image_index, labels.image_index])],
        "image_index": np.concatenate([preds.image_index, labels.image_index]).astype(np.int64),
        "file_name": np.concatenate([names[preds.image_index], names[labels.image_index]]).astype(object),
        "class": dataset.category_names[np.concatenate([preds.category_index, labels.category_index])].astype(object),
    }
    boxes = np.concatenate([preds.boxes, labels.boxes]).reshape(-1, 4)
    for k, name in enumerate("xywh"):
        columns[name] = boxes[:, k]
    columns["score"] = np.concatenate([preds.scores, np.full(n_l, np.nan)])
    columns.update(outcome_columns(dataset, match))
    for column in metric_columns(tables):
        columns[column] = np.concatenate([_metric_values(tables, dataset, column, PREDICTION),
                                          _metric_values(tables, dataset, column, LABEL)])
    return pd.DataFrame(columns, copy=False)  # the arrays are this table's own: no copy into blocks


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
