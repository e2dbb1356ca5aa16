"""The Explorer's object table: one row per object, its outcome and every metric, filtered and sorted.

Rules (tested in ``tests/test_explorer_core.py``):

Rows
    One row per prediction (``kind`` "prediction", rows ``0..P-1`` in file
    order) followed by one row per label (``kind`` "label", rows ``P..P+L-1``).
    A match therefore has two rows: the TP prediction and the label it found.
    Which rows a filter keeps is decided by its *outcome groups*:

    ======================  ==========================================
    group                   rows
    ======================  ==========================================
    ``TP``                  predictions that are true positives
    ``FP``                  every false-positive prediction
    ``FP:<reason>``         false positives of one reason (``FP:duplicate``, ...)
    ``FN``                  missed labels
    ``detected``            labels that were found (the label side of a TP)
    ``ignored``             ignored predictions and labels (crowd, max_dets, min score)
    ======================  ==========================================

    The default groups (``TP``, ``FP``, ``FN``) show each object once: a match
    by its prediction. ``TP`` + ``FP`` are the rows of a TPR bucket of
    :func:`detlens.core.analysis.performance_by_metric`; ``FN`` + ``detected`` the rows
    of an FNR bucket.

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

Ranges
    A metric range ``[low, high)`` keeps values ``low <= v < high``, or
    ``low <= v <= high`` when ``high_closed``: exactly
    :func:`detlens.core.buckets.assign_buckets` for bucket edges. NaN never passes a
    metric range. The confidence range is closed and applies to predictions
    only (labels have no confidence and pass it).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from detlens.core.dataset import Dataset
from detlens.core.matching import MatchResult
from detlens.core.metrics.registry import FRAME, LABEL, PREDICTION, base_of, level_of
from detlens.core.metrics.tables import MetricTables

FP_REASONS = ("duplicate", "wrong_class", "low_iou", "background")
OUTCOME_GROUPS = ("TP", *(f"FP:{r}" for r in FP_REASONS), "FN", "detected", "ignored")
DEFAULT_OUTCOMES = ("TP", "FP", "FN")
BASE_COLUMNS = ("kind", "row", "object_id", "image_id", "image_index", "file_name", "class", "x", "y", "w", "h",
                "score", "outcome", "reason", "matched_id", "iou")


@dataclass(frozen=True)
class ExplorerFilter:
    """Which objects the Explorer shows.

    Attributes:
        outcomes: outcome groups (see the module docstring); empty keeps nothing.
        classes: class names to keep, or None for all (applied on top of the page's class filter).
        metric: metric column name the range applies to, or None.
        low, high: metric range bounds (None = unbounded on that side).
        high_closed: True keeps ``v == high`` (the last bucket, a slider range).
        score_low, score_high: confidence range of predictions, closed (None = unbounded).
    """

    outcomes: tuple[str, ...] = DEFAULT_OUTCOMES
    classes: tuple[str, ...] | None = None
    metric: str | None = None
    low: float | None = None
    high: float | None = None
    high_closed: bool = True
    score_low: float | None = None
    score_high: float | None = None

    def to_dict(self) -> dict:
        """Small JSON for a ``dcc.Store``."""
        return {"outcomes": list(self.outcomes), "classes": None if self.classes is None else list(self.classes),
                "metric": self.metric, "low": self.low, "high": self.high, "high_closed": self.high_closed,
                "score_low": self.score_low, "score_high": self.score_high}

    @staticmethod
    def from_dict(doc: dict | None) -> "ExplorerFilter":
        """The filter of :meth:`to_dict` (None or {} gives the default filter)."""
        doc = doc or {}
        classes = doc.get("classes")
        num = {k: None if doc.get(k) is None else float(doc[k]) for k in ("low", "high", "score_low", "score_high")}
        return ExplorerFilter(outcomes=tuple(doc.get("outcomes", DEFAULT_OUTCOMES)),
                              classes=None if classes is None else tuple(str(c) for c in classes),
                              metric=doc.get("metric"), high_closed=bool(doc.get("high_closed", True)), **num)

    def without(self, part: str) -> "ExplorerFilter":
        """This filter with one part reset: "outcomes", "classes", "metric" (and its range) or "score"."""
        resets = {"outcomes": dict(outcomes=DEFAULT_OUTCOMES), "classes": dict(classes=None),
                  "metric": dict(metric=None, low=None, high=None, high_closed=True),
                  "score": dict(score_low=None, score_high=None)}
        return replace(self, **resets[part])


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
        DataFrame of ``P + L`` rows, index ``0..P+L-1`` equal to column ``row``;
        boxes ``x, y, w, h`` float64 pixels, ``score``/``iou``/metrics float64.
    """
    preds, labels = dataset.predictions, dataset.labels
    p_table, l_table = match.prediction_table(dataset), match.label_table(dataset)
    n_p, n_l = len(preds), len(labels)
    names = dataset.images.file_names
    columns = {
        "kind": np.array(["prediction"] * n_p + ["label"] * n_l, dtype=object),
        "row": np.arange(n_p + n_l, dtype=np.int64),
        "object_id": np.concatenate([preds.ids, labels.ids]).astype(np.int64),
        "image_id": np.concatenate([p_table["image_id"].to_numpy(), l_table["image_id"].to_numpy()]),
        "image_index": np.concatenate([preds.image_index, labels.image_index]).astype(np.int64),
        "file_name": np.concatenate([names[preds.image_index], names[labels.image_index]]).astype(object),
        "class": np.concatenate([p_table["class"].to_numpy(), l_table["class"].to_numpy()]).astype(object),
    }
    boxes = np.concatenate([preds.boxes, labels.boxes]).reshape(-1, 4)
    for k, name in enumerate("xywh"):
        columns[name] = boxes[:, k]
    columns["score"] = np.concatenate([preds.scores, np.full(n_l, np.nan)])
    columns["outcome"] = np.concatenate([p_table["outcome"].to_numpy(), l_table["outcome"].to_numpy()]).astype(object)
    columns["reason"] = np.concatenate([p_table["reason"].to_numpy(), np.full(n_l, "", object)]).astype(object)
    columns["matched_id"] = np.concatenate([p_table["matched_label_id"].to_numpy(),
                                            l_table["matched_prediction_id"].to_numpy()]).astype(np.int64)
    columns["iou"] = np.concatenate([p_table["iou"].to_numpy(), l_table["iou"].to_numpy()]).astype(np.float64)
    for column in metric_columns(tables):
        columns[column] = np.concatenate([_metric_values(tables, dataset, column, PREDICTION),
                                          _metric_values(tables, dataset, column, LABEL)])
    return pd.DataFrame(columns)


def outcome_groups(table: pd.DataFrame) -> np.ndarray:
    """``(N,)`` object array: each row's outcome group ("TP", "FP:duplicate", "FN", "detected", "ignored")."""
    outcome, reason = table["outcome"].to_numpy(), table["reason"].to_numpy()
    is_label = table["kind"].to_numpy() == "label"
    group = outcome.astype(object).copy()
    fp = outcome == "FP"
    group[fp] = "FP:" + reason[fp].astype(str)
    group[is_label & (outcome == "TP")] = "detected"
    return group


def outcome_mask(table: pd.DataFrame, outcomes: tuple[str, ...] | list[str]) -> np.ndarray:
    """``(N,)`` bool: rows in any of the outcome groups (``FP`` = every false positive)."""
    group = outcome_groups(table)
    wanted = set(outcomes)
    keep = np.isin(group, list(wanted - {"FP"}))
    if "FP" in wanted or set(f"FP:{r}" for r in FP_REASONS) <= wanted:
        keep |= table["outcome"].to_numpy() == "FP"
    return keep


def range_mask(values: np.ndarray, low: float | None, high: float | None, high_closed: bool = True) -> np.ndarray:
    """``(N,)`` bool: ``low <= v < high`` (``<= high`` when ``high_closed``); NaN fails; None = unbounded."""
    v = np.asarray(values, np.float64)
    keep = ~np.isnan(v)
    if low is not None:
        keep &= v >= low
    if high is not None:
        keep &= (v <= high) if high_closed else (v < high)
    return keep


def filter_mask(table: pd.DataFrame, flt: ExplorerFilter, classes: list[str] | None = None,
                skip_metric: bool = False) -> np.ndarray:
    """``(N,)`` bool rows kept by ``flt`` within the page's ``classes`` (None = all).

    ``skip_metric`` leaves the metric range out (for the histogram under the range slider).

    Raises:
        ValueError: the filter's metric is not a column of the table.
    """
    keep = outcome_mask(table, flt.outcomes)
    for subset in (classes, flt.classes):
        if subset is not None:
            keep &= table["class"].isin(list(subset)).to_numpy()
    if flt.metric is not None and not skip_metric:
        if flt.metric not in table.columns:
            raise ValueError(f"unknown metric {flt.metric!r}")
        keep &= range_mask(table[flt.metric].to_numpy(), flt.low, flt.high, flt.high_closed)
    if flt.score_low is not None or flt.score_high is not None:
        is_pred = table["kind"].to_numpy() == "prediction"
        keep &= ~is_pred | range_mask(table["score"].to_numpy(), flt.score_low, flt.score_high)
    return keep


def filter_objects(table: pd.DataFrame, flt: ExplorerFilter, classes: list[str] | None = None) -> pd.DataFrame:
    """The rows of ``table`` kept by ``flt`` within ``classes`` (see :func:`filter_mask`)."""
    return table[filter_mask(table, flt, classes)]


def sort_objects(table: pd.DataFrame, by: str, descending: bool = False) -> pd.DataFrame:
    """Rows sorted by column ``by`` (stable, ties by row; NaN last in both directions).

    Raises:
        ValueError: ``by`` is not a column.
    """
    if by not in table.columns:
        raise ValueError(f"cannot sort by unknown column {by!r}")
    return table.sort_values([by, "row"], ascending=[not descending, True], kind="stable", na_position="last")


def outcome_counts(table: pd.DataFrame) -> dict[str, int]:
    """``{"objects", "TP", "FP", "FN", "detected", "ignored"}`` row counts of a (filtered) table."""
    group = outcome_groups(table)
    fp = np.char.startswith(group.astype(str), "FP:") if len(group) else np.zeros(0, bool)
    return {"objects": int(len(table)), "TP": int((group == "TP").sum()), "FP": int(fp.sum()),
            "FN": int((group == "FN").sum()), "detected": int((group == "detected").sum()),
            "ignored": int((group == "ignored").sum())}


def to_csv(table: pd.DataFrame) -> str:
    """The rows as CSV text (every column, header first, NaN as empty cells, floats round-trip exact)."""
    return table.to_csv(index=False, float_format=None)


def coco_subset(dataset: Dataset, rows: pd.DataFrame) -> tuple[dict, list[dict]]:
    """A COCO ground-truth dict and results list for the images of the given rows.

    Every label and every prediction of those images is written (not only the
    rows' own objects): matching depends on an image's other boxes (ranks,
    duplicates), so re-evaluating the pair reproduces each row's outcome.
    Ids, file names, sizes, categories, areas, crowd flags and custom numeric
    fields are the source's; every category is kept.

    Returns:
        ``(labels, predictions)``: ``{"images", "annotations", "categories"}`` and a results list.
    """
    images = np.unique(rows["image_index"].to_numpy(np.int64)) if len(rows) else np.zeros(0, np.int64)
    im = dataset.images
    out_images = []
    for i in images.tolist():
        doc = {"id": int(im.ids[i]), "file_name": str(im.file_names[i])}
        if np.isfinite(im.widths[i]) and np.isfinite(im.heights[i]):
            doc.update(width=int(round(im.widths[i])), height=int(round(im.heights[i])))
        out_images.append(doc)
    categories = [{"id": int(c), "name": str(n)} for c, n in zip(dataset.category_ids, dataset.category_names)]

    def records(table, with_score: bool) -> list[dict]:
        out = []
        for j in np.flatnonzero(np.isin(table.image_index, images)).tolist():
            doc = {"id": int(table.ids[j]), "image_id": int(im.ids[table.image_index[j]]),
                   "category_id": int(dataset.category_ids[table.category_index[j]]),
                   "bbox": [float(v) for v in table.boxes[j]]}
            if with_score:
                doc["score"] = float(table.scores[j])
            else:
                doc.update(area=float(table.areas[j]), iscrowd=int(table.iscrowd[j]))
            doc.update({k: float(v[j]) for k, v in table.extra.items() if not np.isnan(v[j])})
            out.append(doc)
        return out

    labels = {"images": out_images, "annotations": records(dataset.labels, False), "categories": categories}
    return labels, records(dataset.predictions, True)


@dataclass(frozen=True)
class Histogram:
    """Counts of a metric's values in equal-width bins.

    Attributes:
        edges: ``(B+1,)`` float64 bin edges (empty when no value).
        counts: ``(B,)`` int64 values per bin.
    """

    edges: np.ndarray = field(default_factory=lambda: np.zeros(0))
    counts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def to_dict(self) -> dict:
        return {"edges": self.edges.tolist(), "counts": self.counts.tolist()}


def histogram(values: np.ndarray, lo: float, hi: float, bins: int = 40) -> Histogram:
    """Equal-width histogram of ``values`` (NaN left out) over ``[lo, hi]``, last bin closed."""
    v = np.asarray(values, np.float64)
    v = v[~np.isnan(v)]
    if not np.isfinite(lo) or not np.isfinite(hi):
        return Histogram()
    if lo == hi:
        return Histogram(np.array([lo, hi]), np.array([v.shape[0]], np.int64))
    counts, edges = np.histogram(v, bins=bins, range=(lo, hi))
    return Histogram(edges, counts.astype(np.int64))

