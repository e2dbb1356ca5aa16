"""Metric importance and correlation: how much a metric tells about the outcome.

Definitions (also in ``docs/metrics.md``; tested in ``tests/test_importance.py``):

Outcome
    Prediction side: Y = 1 for a true positive, 0 for a false positive
    (ignored predictions are left out). Label side: Y = 1 for a detected
    label, 0 for a missed one (false negative).

Importance U in [0, 1]
    The share of the outcome's uncertainty that the metric X explains on
    images it was not fitted on::

        U = max(0, 1 - CE / H(Y))

    H(Y) is the entropy of Y over all rows. CE is the cross-entropy of a
    one-metric predictor under K-fold cross-validation (K = 5) whose folds
    split by image, so no image contributes to both fitting and scoring:

    * on the training rows, X is cut at its quantiles into B bins
      (B = clip(n_train // 100, 2, 20); repeated values never straddle two bins);
    * each bin predicts Y's rate in it, smoothed towards the training mean:
      q = (sum of Y + ALPHA * p) / (n + ALPHA), ALPHA = 2;
    * test rows get their bin's q (values outside the training range go to
      the first or last bin), and CE is the mean of -[y ln q + (1-y) ln(1-q)]
      over all test rows of all folds.

    0 means no dependency (a predictor that ignores X does as well), 1 means X
    alone predicts Y perfectly. Because rows are scored only on unseen images,
    a frame-level metric, which repeats one value for every object of an
    image, cannot act as an image identifier (the flaw of nearest-neighbour
    mutual-information estimates such as scikit-learn's ``mutual_info_classif``).
    The score depends only on the order of X, so rescaling or shifting X does
    not change it.

Correlation r in [-1, 1]
    Pearson's correlation between X and Y on the same rows: its sign gives
    the direction (r > 0: higher X, more true positives / detections). NaN
    when X or Y is constant.

Missing values and size
    Rows where X is NaN are left out for that metric. Above ``max_rows``
    (default 200,000) a deterministic random subset of rows (seed 0) is used,
    and the result says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from detlens.core.settings import IMPORTANCE_MAX_ROWS_CLI

N_FOLDS = 5
ALPHA = 2.0
MAX_BINS = 20
ROWS_PER_BIN = 100
DEFAULT_MAX_ROWS = IMPORTANCE_MAX_ROWS_CLI  # the CLI ranks on this many rows at most


@dataclass(frozen=True)
class MetricDependency:
    """Importance and correlation of one metric with the outcome.

    Attributes:
        metric: display name of the metric.
        importance: U in [0, 1]; NaN when there are too few rows or Y is constant.
        correlation: Pearson r in [-1, 1]; NaN when undefined.
        rows: rows used (after dropping missing values and subsampling).
        subsampled: True when rows were subsampled to ``max_rows``.
    """

    metric: str
    importance: float
    correlation: float
    rows: int
    subsampled: bool

    def to_dict(self) -> dict:
        return {
            "metric": self.metric,
            "importance": None if np.isnan(self.importance) else self.importance,
            "correlation": None if np.isnan(self.correlation) else self.correlation,
            "rows": self.rows,
            "subsampled": self.subsampled,
        }


def _entropy(p: float) -> float:
    if p <= 0.0 or p >= 1.0:
        return 0.0
    return float(-(p * np.log(p) + (1 - p) * np.log(1 - p)))


def folds_of_images(image_index: np.ndarray) -> np.ndarray:
    """``(N,)`` int64 fold of each row: images are shuffled (seed 0) and dealt into N_FOLDS folds."""
    unique, inverse = np.unique(image_index, return_inverse=True)
    perm = np.random.default_rng(0).permutation(unique.shape[0])
    return (perm % N_FOLDS)[inverse]


def _bin_edges(sorted_train: np.ndarray) -> np.ndarray:
    """Inner cut points of sorted training values: ``(B-1,)`` distinct order statistics.

    The k/B quantile is the order statistic at index ``ceil(k n / B) - 1``
    (numpy's ``inverted_cdf`` method), so edges are always data values.
    """
    n = sorted_train.shape[0]
    n_bins = int(np.clip(n // ROWS_PER_BIN, 2, MAX_BINS))
    idx = np.ceil(np.arange(1, n_bins) * n / n_bins).astype(np.int64) - 1
    return np.unique(sorted_train[np.clip(idx, 0, n - 1)])


def cross_validated_importance(x: np.ndarray, y: np.ndarray, folds: np.ndarray) -> float:
    """U = max(0, 1 - CE / H(Y)) of the binned predictor (module docstring).

    Args:
        x: ``(N,)`` float64 metric values, no NaN.
        y: ``(N,)`` bool or 0/1 outcome.
        folds: ``(N,)`` int64 fold of each row (:func:`folds_of_images`: never splits an image).

    Returns:
        U in [0, 1], or NaN when Y is constant, N < 2 * N_FOLDS, or fewer than two folds have rows.
    """
    y = np.asarray(y, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    h = _entropy(float(y.mean())) if y.shape[0] else 0.0
    if h == 0.0 or y.shape[0] < 2 * N_FOLDS or np.unique(folds).shape[0] < 2:
        return float("nan")
    order = np.argsort(x, kind="stable")  # sorted once; each fold's training values stay sorted
    x_sorted, fold_sorted = x[order], folds[order]
    total = 0.0
    for k in range(N_FOLDS):
        test = folds == k
        if not test.any() or test.all():
            continue
        train = ~test
        edges = _bin_edges(x_sorted[fold_sorted != k])
        n_bins = edges.shape[0] + 1
        # bin of every row from the sorted values: same as searchsorted(edges, x, "left")
        cuts = np.searchsorted(x_sorted, edges, side="left")
        bins = np.empty(x.shape[0], np.int64)
        bins[order] = np.repeat(np.arange(n_bins), np.diff(np.concatenate(([0], cuts, [x.shape[0]]))))
        yt = y[train]
        train_bin = bins[train]
        n_bin = np.bincount(train_bin, minlength=n_bins)
        pos_bin = np.bincount(train_bin, weights=yt, minlength=n_bins)
        p = yt.mean()
        q = np.clip((pos_bin + ALPHA * p) / (n_bin + ALPHA), 1e-12, 1 - 1e-12)
        qt = q[bins[test]]
        ys = y[test]
        total += float(-(ys * np.log(qt) + (1 - ys) * np.log(1 - qt)).sum())
    ce = total / y.shape[0]
    return float(max(0.0, 1.0 - ce / h))


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson's r of ``(N,)`` arrays; NaN when either is constant or N < 2."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.shape[0] < 2:
        return float("nan")
    dx, dy = x - x.mean(), y - y.mean()
    denom = np.sqrt((dx * dx).sum() * (dy * dy).sum())
    if denom == 0.0:
        return float("nan")
    return float(np.clip((dx * dy).sum() / denom, -1.0, 1.0))


def metric_dependency(
    metric: str,
    values: np.ndarray,
    outcome: np.ndarray,
    image_index: np.ndarray,
    max_rows: int = DEFAULT_MAX_ROWS,
    folds: np.ndarray | None = None,
) -> MetricDependency:
    """Importance and correlation of one metric.

    Args:
        metric: display name.
        values: ``(N,)`` float64 metric value per row, NaN = missing.
        outcome: ``(N,)`` bool, True = TP (predictions) or detected (labels).
        image_index: ``(N,)`` int64 image of each row.
        max_rows: subsample deterministically above this many rows.
        folds: ``folds_of_images(image_index)`` when already computed (ranking
            many metrics on the same rows computes it once).

    Returns:
        :class:`MetricDependency`.
    """
    values = np.asarray(values, dtype=np.float64)
    if folds is None:
        folds = folds_of_images(np.asarray(image_index))
    keep = ~np.isnan(values)
    x, y, f = values[keep], np.asarray(outcome, bool)[keep], folds[keep]
    subsampled = x.shape[0] > max_rows
    if subsampled:
        rows = np.sort(np.random.default_rng(0).choice(x.shape[0], size=max_rows, replace=False))
        x, y, f = x[rows], y[rows], f[rows]
    return MetricDependency(
        metric=metric,
        importance=cross_validated_importance(x, y, f),
        correlation=pearson(x, y),
        rows=int(x.shape[0]),
        subsampled=bool(subsampled),
    )
