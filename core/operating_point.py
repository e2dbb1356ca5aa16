"""Operating point per class: precision, recall and F-beta over confidence, and the F-beta-optimal threshold.

The maximum F-beta of a class equals what hotcoco's ``COCOeval.f_scores(beta)`` averages over
classes (``tests/test_operating_point.py`` checks it live): it is read on pycocotools' interpolated
precision-recall curve, not on the raw one.

Curve over confidence (:class:`OperatingCurve`)
    A class's counted predictions (TP and FP at the match's IoU) in evaluation order; keeping every
    prediction scoring at least s gives precision TP/(TP+FP) and recall TP/labels. One point per
    distinct score (equal scores are kept or dropped together); F-beta =
    (1 + b²)·P·R / (b²·P + R), 0 when b²·P + R < 2^-52.

Maximum F-beta (hotcoco's, per class with labels)
    At each of the 101 recall thresholds r of :data:`detlens.core.ap.RECALL_THRESHOLDS`, the
    interpolated precision q(r) of coco101 AP (0 where recall never reaches r); the maximum over r
    of F-beta(q(r), r). Its argmax r* (the first, on ties) is the operating point: ``recall`` = r*,
    ``precision`` = q(r*), so ``F`` = F-beta(precision, recall) exactly.

Threshold (``score``)
    q(r*) is the raw precision of some prediction at or after the first one reaching r*: the first
    such prediction in evaluation order. Its score is the threshold. Keeping every prediction that
    scores at least it gives ``precision_at_score`` and ``recall_at_score`` (equal scores included),
    at least ``precision`` and ``recall`` unless predictions of equal score follow it. A class
    without predictions, or whose maximum F is 0, has no threshold (None).

Applying the thresholds (:func:`prediction_minimums`)
    Each prediction's minimum is its class's threshold; a class without one keeps every
    prediction (minus infinity). :func:`detlens.core.matching.restrict_to_class_min_scores`
    then drops the predictions below their minimum (equal scores kept).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from detlens.core.ap import RECALL_THRESHOLDS
from detlens.core.evaluation import Evaluator
from detlens.core.matching import TP, MatchResult

EPSILON = float(np.spacing(1))


def f_beta(precision: np.ndarray, recall: np.ndarray, beta: float) -> np.ndarray:
    """Element-wise F-beta of ``(N,)`` float64 precision and recall; 0 where b²·P + R < 2^-52."""
    b2 = beta * beta
    denom = b2 * np.asarray(precision, float) + np.asarray(recall, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = (1 + b2) * precision * recall / denom
    return np.where(denom < EPSILON, 0.0, f)


def f_key(beta: float) -> str:
    """The JSON key of F-beta: ``"F1"``, ``"F2"``, ``"F0.5"`` (hotcoco's spelling)."""
    return f"F{beta:g}"


@dataclass(frozen=True, eq=False)
class OperatingCurve:
    """One class's precision, recall and F-beta at every distinct score, highest score first (``(N,)`` float64)."""

    name: str
    scores: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    f: np.ndarray


@dataclass(frozen=True)
class OperatingPoint:
    """The F-beta-optimal point of one class (see the module docstring); None/NaN fields when undefined."""

    name: str
    beta: float
    score: float | None
    precision: float
    recall: float
    f: float
    precision_at_score: float | None
    recall_at_score: float | None

    def to_dict(self) -> dict:
        def num(x):
            return None if x is None or np.isnan(x) else float(x)

        return {"score": num(self.score), "precision": num(self.precision), "recall": num(self.recall),
                f_key(self.beta): num(self.f), "precision_at_score": num(self.precision_at_score),
                "recall_at_score": num(self.recall_at_score)}


@dataclass(frozen=True)
class OperatingPoints:
    """Every selected class's :class:`OperatingPoint` and curve at one IoU; ``mean_f`` is hotcoco's
    ``f_scores`` value (mean over classes with labels; NaN if none)."""

    iou_threshold: float
    beta: float
    mean_f: float
    points: dict[str, OperatingPoint]
    curves: dict[str, OperatingCurve]

    def to_dict(self) -> dict:
        """``{NAME: {score, precision, recall, F<beta>, precision_at_score, recall_at_score}}``."""
        return {name: p.to_dict() for name, p in self.points.items()}


def _curve(name: str, scores: np.ndarray, tp: np.ndarray, n_labels: int, beta: float) -> OperatingCurve:
    tp_sum, fp_sum = np.cumsum(tp), np.cumsum(~tp)
    last = np.flatnonzero(np.append(scores[1:] != scores[:-1], scores.shape[0] > 0))  # ends of runs of equal scores
    precision = tp_sum[last] / np.maximum(tp_sum[last] + fp_sum[last], 1)
    recall = tp_sum[last] / n_labels if n_labels else np.full(last.shape[0], np.nan)
    return OperatingCurve(name, scores[last], precision, recall, f_beta(precision, recall, beta))


def _point(name: str, scores: np.ndarray, tp: np.ndarray, n_labels: int, beta: float) -> OperatingPoint:
    """hotcoco's maximum F-beta of one class with labels, and the threshold that realises it."""
    tp_sum, fp_sum = np.cumsum(tp).astype(float), np.cumsum(~tp).astype(float)
    recall = tp_sum / n_labels
    precision = tp_sum / (tp_sum + fp_sum + EPSILON)  # pycocotools' curve
    envelope = np.maximum.accumulate(precision[::-1])[::-1]
    first = np.searchsorted(recall, RECALL_THRESHOLDS, side="left")
    reached = first < recall.shape[0]
    q = np.zeros(RECALL_THRESHOLDS.shape[0])
    q[reached] = envelope[first[reached]]
    f = f_beta(q, RECALL_THRESHOLDS, beta)
    best = int(np.argmax(f))
    if not reached[best] or f[best] == 0:
        return OperatingPoint(name, beta, None, float(q[best]), float(RECALL_THRESHOLDS[best]), float(f[best]),
                              None, None)
    start = int(first[best])
    at = start + int(np.flatnonzero(precision[start:] == envelope[start])[0])
    score = float(scores[at])
    kept = int(np.searchsorted(-scores, -score, side="right"))  # every prediction scoring >= score
    return OperatingPoint(name, beta, score, float(q[best]), float(RECALL_THRESHOLDS[best]), float(f[best]),
                          float(tp_sum[kept - 1] / kept), float(tp_sum[kept - 1] / n_labels))


def operating_points(evaluator: Evaluator, match: MatchResult, classes: list[str] | None = None,
                     beta: float = 1.0) -> OperatingPoints:
    """Per class F-beta curve over confidence and F-beta-optimal threshold (rules: module docstring).

    Args:
        evaluator: the dataset's :class:`~detlens.core.evaluation.Evaluator`.
        match: a match of this dataset at one IoU (its ``max_dets`` and ``min_score`` apply).
        classes: class names to include (None = all).
        beta: > 0; 1 gives F1, > 1 weighs recall more, < 1 precision.

    Returns:
        :class:`OperatingPoints`; a class without labels has NaN precision, recall and F and no threshold.

    Raises:
        ValueError: ``beta`` not a positive number, or an unknown class.
    """
    if not (np.isfinite(beta) and beta > 0):
        raise ValueError(f"beta must be a number > 0, got {beta}")
    ds = evaluator.dataset
    order, bounds = evaluator.class_order(match)
    n_labels = np.bincount(ds.labels.category_index[~match.label_ignored], minlength=ds.n_categories)
    points, curves, best = {}, {}, []
    for k in ds.category_indices(classes):
        name = str(ds.category_names[k])
        rows = order[bounds[k]:bounds[k + 1]]
        scores, tp = ds.predictions.scores[rows], match.pred_outcome[rows] == TP
        curves[name] = _curve(name, scores, tp, int(n_labels[k]), beta)
        if n_labels[k] == 0:
            points[name] = OperatingPoint(name, beta, None, np.nan, np.nan, np.nan, None, None)
            continue
        points[name] = _point(name, scores, tp, int(n_labels[k]), beta)
        best.append(points[name].f)
    return OperatingPoints(match.iou_threshold, float(beta), float(np.mean(best)) if best else float("nan"),
                           points, curves)


def prediction_minimums(dataset, thresholds: dict[str, float | None]) -> np.ndarray:
    """``(P,)`` float64: each prediction's minimum score under per-class ``thresholds`` (module docstring).

    Args:
        dataset: the :class:`~detlens.core.dataset.Dataset` of the predictions.
        thresholds: ``{class name: threshold score, or None for none}``; a class not listed has none.
    """
    by_class = np.array([-np.inf if thresholds.get(str(name)) is None else float(thresholds[str(name)])
                         for name in dataset.category_names], dtype=np.float64)
    return by_class[dataset.predictions.category_index]
