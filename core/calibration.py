"""Confidence calibration at one IoU threshold: reliability bins, ECE and MCE, overall, per class, per bucket.

Equal to hotcoco's ``COCOeval.calibration(n_bins, iou_threshold)`` (``tests/test_calibration.py``
checks it live).

Which predictions
    The counted predictions (TP or FP; ignored ones, those beyond ``max_dets`` and below the
    minimum score take no part) of the selected classes. A TP is *correct*.

Bins
    ``n_bins`` equal-width bins over [0, 1]: a score s falls in bin ``min(floor(s * n_bins), n_bins - 1)``
    (1.0 is in the last bin). Per bin: the mean score (``avg_confidence``), the fraction correct
    (``avg_accuracy``) and the count; an empty bin reports 0, 0, 0. Scores must lie in [0, 1].

Errors
    ECE = sum over non-empty bins of count / total * |avg_accuracy - avg_confidence|; MCE = the
    largest such gap; both 0 when no prediction takes part. Per class and per bucket: the same over
    that class's or bucket's predictions (a prediction's bucket is its own metric value, see
    :func:`detlens.core.tide.object_buckets`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from detlens.core.analysis import prediction_rows
from detlens.core.dataset import Dataset
from detlens.core.matching import FP, TP, MatchResult


@dataclass(frozen=True)
class Calibration:
    """Reliability bins and calibration errors of some predictions.

    Attributes:
        n_bins: B.
        counts: ``(B,)`` int64 predictions per bin.
        avg_confidence: ``(B,)`` float64 mean score per bin (0 when empty).
        avg_accuracy: ``(B,)`` float64 fraction of TPs per bin (0 when empty).
        ece, mce: expected and maximum calibration error.
    """

    n_bins: int
    counts: np.ndarray
    avg_confidence: np.ndarray
    avg_accuracy: np.ndarray
    ece: float
    mce: float

    def to_dict(self) -> dict:
        """``{"ece", "mce", "bins": [{bin_lower, bin_upper, avg_confidence, avg_accuracy, count}, ...]}``."""
        bins = [{"bin_lower": i / self.n_bins, "bin_upper": (i + 1) / self.n_bins,
                 "avg_confidence": float(self.avg_confidence[i]), "avg_accuracy": float(self.avg_accuracy[i]),
                 "count": int(self.counts[i])} for i in range(self.n_bins)]
        return {"ece": self.ece, "mce": self.mce, "bins": bins}


def reliability(scores: np.ndarray, correct: np.ndarray, n_bins: int = 10) -> Calibration:
    """Bins, ECE and MCE of ``(N,)`` float64 scores in [0, 1] and ``(N,)`` bool correctness (rules: module docstring).

    Raises:
        ValueError: ``n_bins`` < 1, or a score outside [0, 1] (logits are not confidences).
    """
    if n_bins < 1:
        raise ValueError(f"the number of calibration bins must be >= 1, got {n_bins}")
    scores = np.asarray(scores, np.float64)
    outside = ~((scores >= 0) & (scores <= 1))
    if outside.any():
        raise ValueError(f"calibration needs confidences in [0, 1]; {int(outside.sum())} prediction score(s) "
                         f"are not (for example {scores[outside][0]!r})")
    b = np.minimum((scores * n_bins).astype(np.int64), n_bins - 1)
    counts = np.bincount(b, minlength=n_bins)
    conf_sum = np.bincount(b, weights=scores, minlength=n_bins)
    hit_sum = np.bincount(b, weights=np.asarray(correct, bool).astype(float), minlength=n_bins)
    full = counts > 0
    avg_conf, avg_acc = np.zeros(n_bins), np.zeros(n_bins)
    avg_conf[full], avg_acc[full] = conf_sum[full] / counts[full], hit_sum[full] / counts[full]
    gap = np.abs(avg_acc - avg_conf)
    total = int(counts.sum())
    ece = float(np.sum(counts[full] / total * gap[full])) if total else 0.0
    mce = float(gap[full].max()) if total else 0.0
    return Calibration(n_bins, counts, avg_conf, avg_acc, ece, mce)


@dataclass(frozen=True)
class CalibrationResult:
    """Calibration of the selected classes' counted predictions: overall and per class (by name)."""

    iou_threshold: float
    overall: Calibration
    per_class: dict[str, Calibration]

    def to_dict(self) -> dict:
        """``{"iou_threshold", "ece", "mce", "bins", "per_class": {NAME: ece}}``."""
        return {"iou_threshold": self.iou_threshold, **self.overall.to_dict(),
                "per_class": {name: c.ece for name, c in self.per_class.items()}}


def calibration(dataset: Dataset, match: MatchResult, classes: list[str] | None = None,
                n_bins: int = 10) -> CalibrationResult:
    """Reliability bins, ECE and MCE of the counted predictions, overall and per selected class.

    Raises:
        ValueError: as :func:`reliability`, or an unknown class.
    """
    rows = prediction_rows(dataset, match, dataset.category_indices(classes))
    scores, correct = dataset.predictions.scores[rows], match.pred_outcome[rows] == TP
    cls = dataset.predictions.category_index[rows]
    per_class = {str(dataset.category_names[k]): reliability(scores[cls == k], correct[cls == k], n_bins)
                 for k in dataset.category_indices(classes)}
    return CalibrationResult(match.iou_threshold, reliability(scores, correct, n_bins), per_class)


def calibration_by_bucket(dataset: Dataset, match: MatchResult, pred_bucket: np.ndarray, n_buckets: int,
                          n_bins: int = 10) -> list[Calibration]:
    """:func:`reliability` of the counted predictions of each bucket (``pred_bucket``: ``(P,)`` int64, -1 = none)."""
    counted = (match.pred_outcome == TP) | (match.pred_outcome == FP)
    out = []
    for b in range(n_buckets):
        rows = np.flatnonzero(counted & (pred_bucket == b))
        out.append(reliability(dataset.predictions.scores[rows], match.pred_outcome[rows] == TP, n_bins))
    return out
