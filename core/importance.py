"""Metric importance and correlation: how much a metric tells about the outcome.

Definitions (also in ``docs/metrics.md``; tested in ``tests/test_importance.py``):

Outcome
    Prediction side: Y = 1 for a true positive, 0 for a false positive
    (ignored predictions are left out). Label side: Y = 1 for a detected
    label, 0 for a missed one (false negative).

Importance U in [0, 1]
    The share of the outcome's uncertainty that the metric X explains on
    images it was not fitted on, measured against a predictor that ignores X::

        U = max(0, 1 - CE / CE0)

    Both cross-entropies come from the same K-fold cross-validation (K = 5)
    whose folds split by image, so no image contributes to both fitting and
    scoring. Fitted on a fold's training rows and scored on its held-out rows:

    * the metric predictor: X is cut at its training quantiles into B bins
      (B = clip(n_train // 100, 2, 20); repeated values never straddle two bins);
      each bin predicts Y's rate in it, smoothed towards the training mean p:
      q = (sum of Y + ALPHA * p) / (n + ALPHA), ALPHA = 2; held-out rows get
      their bin's q (values outside the training range go to the first or last bin);
    * the constant predictor: the same rule with a single bin, whose smoothing
      leaves q = p, the training rows' rate of Y = 1.

    CE and CE0 are the means of -[y ln q + (1-y) ln(1-q)] over all held-out
    rows of all folds. The baseline is CE0, not the entropy H(Y) of all rows:
    CE0 also pays for estimating p on other images (on 273 labels H(Y) = 0.459
    but CE0 = 0.474), so comparing against H(Y) clipped every metric explaining
    less than that gap to 0. With CE0, any metric that predicts held-out images
    better than their training rate gets U > 0.

    Edges: a constant X gives exactly 0 (its one bin is the constant predictor,
    computed by the same arithmetic). X identical to Y gives slightly less than
    1: its 0s and 1s fall in separate bins (when an edge separates them, i.e.
    more than 1/B of the training rows have Y = 1), whose smoothed
    rates are 2p / (n_0 + 2) and (n_1 + 2p) / (n_1 + 2) instead of 0 and 1;
    that costs about ALPHA / n_train nats per row, so U is about
    1 - ALPHA / (n_train * CE0) (0.9988 on 3,000 rows with p = 1/2). 0 means no
    dependency that survives on unseen images. Because rows are scored only on
    unseen images, a frame-level metric, which repeats one value for every object
    of an image, cannot act as an image identifier (the flaw of nearest-neighbour
    mutual-information estimates such as scikit-learn's ``mutual_info_classif``).
    The score depends only on the order of X, so rescaling or shifting X does
    not change it.

Interval [low, high] of U
    The 5th and 95th percentiles of U over R = 200 image bootstrap replicates
    (seed 0): each replicate draws as many images as there are, with
    replacement, and recomputes U = 1 - CE* / CE0* from the held-out losses of
    the drawn images (an image drawn twice counts twice), then clips at 0. The
    predictors stay those fitted in the cross-validation; only the scored
    images are resampled (the paired bootstrap of a test-set score, clustered
    by image because objects of one image share its fate).

    Why this and not repeated fold assignments: re-dealing the folds measures
    how U depends on the split, not on which images happened to be collected,
    which is what decides whether a ranking can be trusted on 100 images. Why
    not refit per replicate: that costs R whole rankings (about 200 x 0.5 s on
    200k rows), while resampling held-out losses costs one matrix product for
    all metrics (about 20 ms per side on 5,000 images). The price: the
    interval leaves out the spread of refitting the bins, so it is somewhat
    narrower than a refitting bootstrap would be.
    A metric with no effect almost always has low exactly 0: bins fitted to
    noise score worse than the constant on unseen images, so well over 5% of
    its replicates clip to 0 (a 90% interval still clears zero by chance now
    and then). The same images are drawn for every metric of one ranking.

Correlation r in [-1, 1]
    Pearson's correlation between X and Y on the same rows: its sign gives
    the direction (r > 0: higher X, more true positives / detections). NaN
    (shown as "-") when X or Y is constant, or N < 2. Constant means up to
    round-off: a standard deviation under ``CONSTANT_RELATIVE_STD`` (1e-12)
    times the largest magnitude of the values (ten images of aspect 4/3 have a
    mean a rounding step off 4/3, which made r = +0.000 rather than undefined).

Missing values and size
    Rows where X is NaN are left out for that metric. Above ``max_rows``
    (default 200,000) a deterministic random subset of rows (seed 0) is used,
    and the result says so.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from detlens.core.settings import IMPORTANCE_MAX_ROWS_CLI

N_FOLDS = 5
ALPHA = 2.0
MAX_BINS = 20
ROWS_PER_BIN = 100
DEFAULT_MAX_ROWS = IMPORTANCE_MAX_ROWS_CLI  # the CLI ranks on this many rows at most
INTERVAL_REPLICATES = 200  # image bootstrap replicates behind each interval
INTERVAL_PERCENTILES = (5.0, 95.0)  # a 90% interval
BOOTSTRAP_SEED = 0
CONSTANT_RELATIVE_STD = 1e-12  # a spread under this share of the values' magnitude is round-off: constant
_BOOTSTRAP_CHUNK = 1 << 21  # image weights drawn at once (replicates x images), bounding memory
_BOOTSTRAP_KEPT_BYTES = 1 << 25  # a process keeps the draws' counts up to this size (uint8: 200 x 167k images)


@dataclass(frozen=True)
class MetricDependency:
    """Importance and correlation of one metric with the outcome.

    Attributes:
        metric: display name of the metric.
        importance: U in [0, 1]; NaN when there are too few rows or Y is constant.
        importance_low, importance_high: the 90% image-bootstrap interval of U, each in
            [0, 1]; NaN when U is, or when intervals were not requested.
        correlation: Pearson r in [-1, 1]; NaN when undefined.
        rows: rows used (after dropping missing values and subsampling).
        positives: rows with Y = 1 among them (TP, or detected labels).
        subsampled: True when rows were subsampled to ``max_rows``.
    """

    metric: str
    importance: float
    importance_low: float
    importance_high: float
    correlation: float
    rows: int
    positives: int
    subsampled: bool

    @property
    def clears_zero(self) -> bool:
        """True when the interval's low end is above 0 (False when undefined)."""
        return bool(self.importance_low > 0.0)

    def to_dict(self) -> dict:
        """JSON-ready: floats, None for NaN."""
        def number(x: float) -> float | None:
            return None if np.isnan(x) else float(x)

        return {
            "metric": self.metric,
            "importance": number(self.importance),
            "importance_low": number(self.importance_low),
            "importance_high": number(self.importance_high),
            "correlation": number(self.correlation),
            "rows": self.rows,
            "positives": self.positives,
            "subsampled": self.subsampled,
        }

    @classmethod
    def from_dict(cls, row: dict) -> MetricDependency:
        """Inverse of :meth:`to_dict` (None back to NaN), for code that holds the cached dicts."""
        def number(x: float | None) -> float:
            return float("nan") if x is None else float(x)

        return cls(metric=str(row["metric"]), importance=number(row["importance"]),
                   importance_low=number(row["importance_low"]), importance_high=number(row["importance_high"]),
                   correlation=number(row["correlation"]), rows=int(row["rows"]),
                   positives=int(row["positives"]), subsampled=bool(row["subsampled"]))


@dataclass(frozen=True)
class GatheredValues:
    """A metric's values at the ranked rows, read from its column only at the rows a ranking uses.

    Row k's value is ``column[index[k]]``. When the column has no missing value, no row has one, so
    :func:`metric_dependencies` gathers only the subsample's rows; at 5M rows and a 50,000-row subsample,
    gathering every row of every metric first took a third of a ranking. The result is the same as
    passing ``column[index]``.

    Attributes:
        column: ``(M,)`` float64 values (a metric's table column), NaN = missing.
        index: ``(N,)`` int64 position in ``column`` of each ranked row's value.
    """

    column: np.ndarray
    index: np.ndarray

    @property
    def complete(self) -> bool:
        """True when the column has no NaN (its minimum is NaN when any value is: one pass, no temporary)."""
        return self.column.shape[0] == 0 or not np.isnan(self.column.min())

    def at(self, rows: np.ndarray | slice) -> np.ndarray:
        """``(K,)`` float64 values of the ranked rows ``rows`` (positions in ``index``, or a slice)."""
        return np.asarray(self.column[self.index[rows]], dtype=np.float64)


@dataclass(frozen=True)
class HeldOutLosses:
    """Per-row cross-validated log loss (nats) of the two predictors of the module docstring.

    Attributes:
        metric: ``(N,)`` float64 loss of the binned metric predictor on each row's held-out fold.
        constant: ``(N,)`` float64 loss of the constant predictor (the training rate) on the same rows.
    """

    metric: np.ndarray
    constant: np.ndarray

    @property
    def importance(self) -> float:
        """U = max(0, 1 - CE / CE0)."""
        return float(max(0.0, 1.0 - self.metric.sum() / self.constant.sum()))


def _images_and_folds(image_index: np.ndarray) -> tuple[np.ndarray, int, np.ndarray]:
    """``(N,)`` int32 image code in [0, n_images), n_images, and ``(N,)`` int8 fold of each row.

    The codes are those of ``np.unique(image_index, return_inverse=True)`` (the rank of each
    image among the images present), counted instead of sorted: at 5M rows the sort took 0.3 s.
    Small types, as at 5M rows the two arrays are made for every ranking (int64: 80 MB of new memory).
    """
    image_index = np.asarray(image_index).reshape(-1)
    if image_index.shape[0] == 0 or image_index.min() < 0:  # codes by sorting: empty, or not row numbers
        unique, code = np.unique(image_index, return_inverse=True)
        n_images, code = unique.shape[0], code.reshape(-1)
    else:
        present = np.bincount(image_index) > 0
        rank = np.cumsum(present) - 1
        n_images, code = int(rank[-1]) + 1, rank.astype(np.int32)[image_index]
    perm = np.random.default_rng(0).permutation(n_images)
    return code.astype(np.int32, copy=False), n_images, (perm % N_FOLDS).astype(np.int8)[code]


def folds_of_images(image_index: np.ndarray) -> np.ndarray:
    """``(N,)`` int8 fold of each row: images are shuffled (seed 0) and dealt into N_FOLDS folds."""
    return _images_and_folds(image_index)[2]


def _bin_edges(sorted_train: np.ndarray) -> np.ndarray:
    """Inner cut points of sorted training values: ``(B-1,)`` distinct order statistics.

    The k/B quantile is the order statistic at index ``ceil(k n / B) - 1``
    (numpy's ``inverted_cdf`` method), so edges are always data values.
    """
    n = sorted_train.shape[0]
    n_bins = int(np.clip(n // ROWS_PER_BIN, 2, MAX_BINS))
    idx = np.ceil(np.arange(1, n_bins) * n / n_bins).astype(np.int64) - 1
    return np.unique(sorted_train[np.clip(idx, 0, n - 1)])


def _smoothed_rate(positives: np.ndarray, counts: np.ndarray, p: float) -> np.ndarray:
    """Each bin's q = (positives + ALPHA p) / (counts + ALPHA), kept off 0 and 1 for the logarithm."""
    return np.clip((positives + ALPHA * p) / (counts + ALPHA), 1e-12, 1 - 1e-12)


def _loss_table(q: np.ndarray) -> np.ndarray:
    """``(2 B,)`` log loss of each bin's q: entry ``2 b`` for Y = 0, ``2 b + 1`` for Y = 1."""
    return -np.log(np.column_stack([1 - q, q])).ravel()


def held_out_losses(x: np.ndarray, y: np.ndarray, folds: np.ndarray) -> HeldOutLosses | None:
    """Cross-validated per-row losses of the metric predictor and the constant predictor.

    Args:
        x: ``(N,)`` float64 metric values, no NaN.
        y: ``(N,)`` bool or 0/1 outcome.
        folds: ``(N,)`` integer fold of each row (:func:`folds_of_images`: never splits an image).

    Returns:
        :class:`HeldOutLosses`, or None when Y is constant, N < 2 * N_FOLDS, or fewer than
        two folds have rows (U is undefined).
    """
    y = np.asarray(y, dtype=bool)
    x = np.asarray(x, dtype=np.float64)
    n = y.shape[0]
    fold_sizes = np.bincount(folds, minlength=N_FOLDS)
    if n < 2 * N_FOLDS or y.all() or not y.any() or np.count_nonzero(fold_sizes) < 2:
        return None
    order = np.argsort(x, kind="stable")  # sorted once; each fold's training values stay sorted
    x_sorted, fold_sorted = x[order], folds[order]
    y_int = y.astype(np.int64)
    metric_loss = np.full(n, np.nan)
    constant_loss = np.full(n, np.nan)
    for k in np.flatnonzero(fold_sizes):  # at least two folds, so every fold has training rows
        test = folds == k
        train = ~test
        edges = _bin_edges(x_sorted[fold_sorted != k])
        n_bins = edges.shape[0] + 1
        # bin of every row from the sorted values: the number of edges <= x
        cuts = np.searchsorted(x_sorted, edges, side="left")
        bins = np.empty(n, np.int64)
        bins[order] = np.repeat(np.arange(n_bins), np.diff(np.concatenate(([0], cuts, [n]))))
        train_bin = bins[train]
        n_bin = np.bincount(train_bin, minlength=n_bins).astype(np.float64)
        pos_bin = np.bincount(train_bin, weights=y[train], minlength=n_bins)
        n_train = float(train_bin.shape[0])
        p = pos_bin.sum() / n_train
        q = _smoothed_rate(pos_bin, n_bin, p)
        # the one-bin predictor, with the bins' arithmetic: a constant X reproduces it exactly
        q0 = _smoothed_rate(np.array([pos_bin.sum()]), np.array([n_train]), p)
        ys = y_int[test]
        metric_loss[test] = _loss_table(q)[2 * bins[test] + ys]
        constant_loss[test] = _loss_table(q0)[ys]
    return HeldOutLosses(metric=metric_loss, constant=constant_loss)


def cross_validated_importance(x: np.ndarray, y: np.ndarray, folds: np.ndarray) -> float:
    """U = max(0, 1 - CE / CE0) (module docstring); arguments as :func:`held_out_losses`.

    Returns:
        U in [0, 1], or NaN when it is undefined.
    """
    losses = held_out_losses(x, y, folds)
    return float("nan") if losses is None else losses.importance


def is_constant(values: np.ndarray) -> bool:
    """True when ``(N,)`` float64 ``values`` are constant up to round-off: standard deviation 0 or under
    ``CONSTANT_RELATIVE_STD`` times their largest magnitude (see the module docstring)."""
    deviations = values - values.mean()
    std = np.sqrt((deviations * deviations).mean())
    return bool(std == 0.0 or std < CONSTANT_RELATIVE_STD * np.abs(values).max())


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson's r of ``(N,)`` arrays; NaN when either is constant (:func:`is_constant`) or N < 2."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.shape[0] < 2 or is_constant(x) or is_constant(y):
        return float("nan")
    dx, dy = x - x.mean(), y - y.mean()
    denom = np.sqrt((dx * dx).sum() * (dy * dy).sum())
    if denom == 0.0:
        return float("nan")
    return float(np.clip((dx * dy).sum() / denom, -1.0, 1.0))


def bootstrap_image_sums(per_image: np.ndarray, replicates: int, seed: int = BOOTSTRAP_SEED) -> np.ndarray:
    """Column sums of ``per_image`` under ``replicates`` image bootstrap draws.

    Args:
        per_image: ``(n_images, m)`` float64, e.g. each image's summed held-out losses per metric.
        replicates: R, the number of draws.
        seed: the draws' seed: the same seed and image count give the same draws.

    Returns:
        ``(R, m)`` float64: row r is ``w_r @ per_image``, with ``w_r`` the number of times each
        image was drawn in n_images draws with replacement.
    """
    n_images = per_image.shape[0]
    out = np.empty((replicates, per_image.shape[1]))
    for start, counts in _bootstrap_counts(n_images, replicates, seed):
        out[start:start + counts.shape[0]] = counts.astype(np.float64) @ per_image
    return out


def _bootstrap_counts(n_images: int, replicates: int, seed: int):
    """``(start, (c, n_images) counts)`` chunks of the draws' image counts, replicate ``start`` on, in order.

    Drawing them (random integers, then a count per image) is most of a ranking's bootstrap: 0.1-0.15 s at
    50,000 images against 0.03 s for the sums. Every ranking of a dataset draws the same counts, so a
    process keeps them (:func:`_kept_counts`) when they fit in ``_BOOTSTRAP_KEPT_BYTES`` as uint8.
    """
    if replicates * n_images <= _BOOTSTRAP_KEPT_BYTES:
        kept = _kept_counts(n_images, replicates, seed)
        if kept is not None:
            chunk = _chunk_rows(n_images)
            yield from ((start, kept[start:start + chunk]) for start in range(0, replicates, chunk))
            return
    yield from _drawn_counts(n_images, replicates, seed)


def _chunk_rows(n_images: int) -> int:
    return max(1, _BOOTSTRAP_CHUNK // max(n_images, 1))


def _drawn_counts(n_images: int, replicates: int, seed: int):
    """The chunks of :func:`_bootstrap_counts`, drawn (int64 counts)."""
    rng = np.random.default_rng(seed)
    chunk = _chunk_rows(n_images)
    for start in range(0, replicates, chunk):
        c = min(chunk, replicates - start)
        draws = rng.integers(0, n_images, size=(c, n_images)) + (np.arange(c) * n_images)[:, None]
        yield start, np.bincount(draws.ravel(), minlength=c * n_images).reshape(c, n_images)


@functools.lru_cache(maxsize=2)
def _kept_counts(n_images: int, replicates: int, seed: int) -> np.ndarray | None:
    """All of :func:`_drawn_counts` as one read-only ``(R, n_images)`` uint8 array, None if a count exceeds 255
    (an image drawn 256 times or more: then they are drawn again at each call)."""
    kept = np.empty((replicates, n_images), np.uint8)
    for start, counts in _drawn_counts(n_images, replicates, seed):
        if counts.max(initial=0) > np.iinfo(np.uint8).max:
            return None
        kept[start:start + counts.shape[0]] = counts
    kept.flags.writeable = False
    return kept


def _subsample(n: int, max_rows: int) -> np.ndarray | None:
    """Sorted rows of a deterministic subset (seed 0) when ``n > max_rows``, else None."""
    if n <= max_rows:
        return None
    return np.sort(np.random.default_rng(0).choice(n, size=max_rows, replace=False))


def metric_dependencies(
    metrics: Iterable[tuple[str, np.ndarray]],
    outcome: np.ndarray,
    image_index: np.ndarray,
    max_rows: int = DEFAULT_MAX_ROWS,
    replicates: int = INTERVAL_REPLICATES,
) -> list[MetricDependency]:
    """Importance, its interval, and correlation of several metrics on the same rows.

    All metrics share the folds and the bootstrap's image draws, so their intervals
    are comparable and the draws are made once.

    Args:
        metrics: ``(name, values)`` pairs; values ``(N,)`` float64 per row, NaN = missing, or a
            :class:`GatheredValues` of the N rows (read only where needed). Consumed one at a time:
            pass a generator to hold one metric's values at once.
        outcome: ``(N,)`` bool, True = TP (predictions) or detected (labels).
        image_index: ``(N,)`` int64 image of each row.
        max_rows: subsample each metric's rows deterministically above this many.
        replicates: image bootstrap replicates per interval; 0 = no intervals (NaN).

    Returns:
        one :class:`MetricDependency` per metric, in the given order.
    """
    outcome = np.asarray(outcome, bool)
    image_code, n_images, folds = _images_and_folds(image_index)
    partial, metric_sums, constant_sums = [], [], []
    subsets: dict[int, np.ndarray | None] = {}  # the subset drawn for a row count, shared by the metrics with it
    for name, values in metrics:
        if isinstance(values, GatheredValues) and values.complete:  # no row missing: gather the subsample alone
            n = values.index.shape[0]
            rows = subsets[n] if n in subsets else subsets.setdefault(n, _subsample(n, max_rows))
            keep = slice(None) if rows is None else rows
            x, y = values.at(keep), outcome[keep]
        else:
            values = values.at(slice(None)) if isinstance(values, GatheredValues) else np.asarray(values, np.float64)
            missing = np.isnan(values)
            keep = np.flatnonzero(~missing) if missing.any() else None  # None: every row (most metrics)
            n = values.shape[0] if keep is None else keep.shape[0]
            rows = subsets[n] if n in subsets else subsets.setdefault(n, _subsample(n, max_rows))
            if keep is None:
                keep = slice(None) if rows is None else rows
            elif rows is not None:
                keep = keep[rows]
            x, y = values[keep], outcome[keep]
        losses = held_out_losses(x, y, folds[keep])
        if losses is None:
            importance = float("nan")
        else:
            importance = losses.importance
            metric_sums.append(np.bincount(image_code[keep], weights=losses.metric, minlength=n_images))
            constant_sums.append(np.bincount(image_code[keep], weights=losses.constant, minlength=n_images))
        partial.append(dict(metric=name, importance=importance, correlation=pearson(x, y), rows=int(x.shape[0]),
                            positives=int(y.sum()), subsampled=rows is not None, defined=losses is not None))
    intervals = iter(_intervals(np.column_stack(metric_sums), np.column_stack(constant_sums), replicates)
                     if metric_sums and replicates > 0 else [])
    out = []
    for d in partial:
        low, high = next(intervals, (np.nan, np.nan)) if d.pop("defined") else (np.nan, np.nan)
        out.append(MetricDependency(importance_low=low, importance_high=high, **d))
    return out


def _intervals(metric_sums: np.ndarray, constant_sums: np.ndarray, replicates: int) -> list[tuple[float, float]]:
    """(low, high) per column of ``(n_images, m)`` per-image held-out loss sums (module docstring)."""
    m = metric_sums.shape[1]
    sums = bootstrap_image_sums(np.hstack([metric_sums, constant_sums]), replicates)
    with np.errstate(divide="ignore", invalid="ignore"):  # a replicate of images without rows: 0 / 0
        raw = 1.0 - sums[:, :m] / sums[:, m:]
    finite = np.isfinite(raw)
    if finite.all():  # nanpercentile is many times slower
        low, high = np.percentile(raw, INTERVAL_PERCENTILES, axis=0)
    else:
        raw[~finite] = np.nan
        low, high = np.nanpercentile(raw, INTERVAL_PERCENTILES, axis=0)
    return [(float(max(0.0, lo)), float(max(0.0, hi))) for lo, hi in zip(low, high)]


def metric_dependency(
    metric: str,
    values: np.ndarray,
    outcome: np.ndarray,
    image_index: np.ndarray,
    max_rows: int = DEFAULT_MAX_ROWS,
    replicates: int = INTERVAL_REPLICATES,
) -> MetricDependency:
    """Importance, its interval, and correlation of one metric (:func:`metric_dependencies` of one)."""
    return metric_dependencies([(metric, values)], outcome, image_index, max_rows, replicates)[0]
