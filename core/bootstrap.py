"""Bootstrap over images by weights: resampled image counts, weighted AP/AR, percentile intervals.

A resample draws ``n`` images uniformly with replacement from the ``n`` images
of the dataset. It is held as a weight per image, the number of times the
image was drawn (a Multinomial(n, 1/n) vector), never as copied rows: every
statistic of a resample is a sum over images of weight x the image's own counts.

Rules (tested in ``tests/test_compare.py``):

Weights
    :func:`image_weights` draws ``(R, n)`` int64 counts from one
    ``numpy.random.Generator``: ``n`` uniform image indices per resample,
    counted per image (``bincount``), which is exactly a Multinomial(n, 1/n)
    row and about five times faster than ``Generator.multinomial``. Resamples
    are drawn chunk by chunk, in order, from the same generator.

Weighted AP of one class (image weights ``w``)
    The class's counted predictions keep their evaluation order
    (:mod:`detlens.core.ap`: score descending, ties by image order, then rank).
    After the k-th prediction, cumulative TP = the sum of ``w[image]`` over the
    true positives so far, cumulative FP likewise over the false positives;
    n_labels = the sum over images of ``w[image]`` x the image's counted labels
    of the class. Recall, precision and the ``coco101`` / ``voc_all_point`` /
    ``voc_11_point`` summaries are then exactly those of :mod:`detlens.core.ap`
    (the same floating-point operations in the same order), so weights all 1
    reproduce :func:`detlens.core.ap.average_precision` bit for bit; a weight of
    2 gives the AP of the dataset with that image's rows copied (up to
    floating-point rounding and ties of score across images). A class whose
    weighted n_labels is 0 has AP and AR NaN (left out of means, as in
    :mod:`detlens.core.ap`). With the VOC methods a precision of 0 / 0 (only
    zero-weight predictions so far) counts as 0.

Why only true positives are kept
    Precision falls along false positives and rises along true positives, so
    the monotone envelope at any point is its maximum over the true positives
    from there on, and the first point reaching a recall above 0 is a true
    positive. The curve is therefore evaluated at its true positives only: for
    each, the weighted TP count through it and the weighted FP count before it
    (false positives after the last true positive change nothing). The FP
    counts are one sparse product: a ``(T, n)`` matrix of false positives per
    (true-positive gap, image) times the weights. Going further, a class's
    consecutive true positives with no false positive between them form a
    *run*: precision only rises along a run (also in floating point), so the
    envelope at any of its points is the envelope at its end, and the first
    point reaching a recall threshold lies in the first run whose end reaches
    it. ``coco101`` and ``voc_11_point`` are therefore read at run ends (on
    the 500k-prediction benchmark set, 42% of the true positives at IoU 0.5);
    ``voc_all_point``, a sum over every recall step, at every true positive.

The first point reaching a recall threshold, exactly
    Recall ``fl(tp / n)`` rises with the integer-valued weighted count ``tp``,
    so "recall reaches t" is "tp reaches the least count whose recall
    reaches t" (:func:`least_counts`, checked against the float division
    itself). Classes with many true positives find the first such point by one
    sorted search over every resample; classes with few count the thresholds
    each point reaches. Both give the index ``searchsorted(recall, t)`` of
    :mod:`detlens.core.ap`.

Memory
    Resamples are processed :func:`chunk_size` at a time: a chunk holds about
    ``BOOTSTRAP_CHUNK_MB`` (:mod:`detlens.core.settings`, 128 MB) of
    ``(T, chunk)`` float64 arrays, ``T`` the number of true positives or runs (at most
    ``FLOATS_PER_COLUMN`` = 6 of that shape at once), so memory stays bounded
    whatever the number of resamples: about 128 MB plus ``(chunk, n)`` weights
    and the ``(R, K)`` resampled statistics kept for the intervals. Sums over
    images are sparse products (single-threaded: no BLAS threads).

Intervals
    :func:`percentile_interval`: the ``(1 - level) / 2`` and ``(1 + level) / 2``
    percentiles (``numpy.nanpercentile``, linear interpolation) of the
    resampled statistic; resamples where it is undefined (NaN) are left out;
    (NaN, NaN) when none is defined.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import scipy.sparse

from detlens.core.ap import AP_METHODS, RECALL_THRESHOLDS
from detlens.core.dataset import Dataset
from detlens.core.matching import FP, IGNORED, TP, MatchResult
from detlens.core.settings import BOOTSTRAP_CHUNK_MB

VOC11_THRESHOLDS = np.linspace(0, 1, 11)  # as in detlens.core.ap
FLOATS_PER_COLUMN = 6  # (chunk, T) float64 arrays alive at once in weighted_ap
LEAST_COUNT_TABLE = 1 << 16  # label counts below this read their least counts from a cached table
COUNT_BELOW = 2  # a class with fewer true positives than this many times the thresholds counts instead of searching


def image_weights(rng: np.random.Generator, n_images: int, n_resamples: int) -> np.ndarray:
    """``(n_resamples, n_images)`` int64 times each image is drawn in each resample (rows sum to ``n_images``)."""
    draws = rng.integers(0, n_images, size=(n_resamples, n_images), dtype=np.int64)
    draws += np.arange(n_resamples, dtype=np.int64)[:, None] * n_images
    return np.bincount(draws.ravel(), minlength=n_resamples * n_images).reshape(n_resamples, n_images)


def chunk_size(columns: int, n_resamples: int, budget_mb: float = BOOTSTRAP_CHUNK_MB) -> int:
    """Resamples per chunk so that ``FLOATS_PER_COLUMN`` float64 ``(chunk, columns)`` arrays fit ``budget_mb``."""
    per_resample = max(columns, 1) * 8 * FLOATS_PER_COLUMN
    return int(max(1, min(n_resamples, budget_mb * 2**20 // per_resample)))


def weight_chunks(seed: int, n_images: int, n_resamples: int, chunk: int) -> Iterator[np.ndarray]:
    """:func:`image_weights` of ``n_resamples`` resamples, ``chunk`` at a time, from ``default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    for start in range(0, n_resamples, chunk):
        yield image_weights(rng, n_images, min(chunk, n_resamples - start))


def percentile_interval(samples: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap interval along axis 0.

    Args:
        samples: ``(R, ...)`` float64 resampled statistic, NaN where undefined.
        level: coverage in (0, 1), e.g. 0.95.

    Returns:
        ``(low, high)``, each of shape ``samples.shape[1:]``; NaN where no resample is defined.
    """
    samples = np.asarray(samples, dtype=np.float64)
    flat = samples.reshape(samples.shape[0], -1)
    defined = ~np.all(np.isnan(flat), axis=0)
    low, high = np.full(flat.shape[1], np.nan), np.full(flat.shape[1], np.nan)
    if np.any(defined):
        ends = np.nanpercentile(flat[:, defined], [50 * (1 - level), 50 * (1 + level)], axis=0)
        low[defined], high[defined] = ends[0], ends[1]
    return low.reshape(samples.shape[1:]), high.reshape(samples.shape[1:])


@dataclass(frozen=True, eq=False)
class WeightedCurves:
    """One match's precision-recall curves of the selected classes, reduced to what weighted AP needs.

    Attributes:
        n_images: images of the dataset (the weights' length).
        classes: ``(K,)`` int64 selected class indices.
        tp_image: ``(T,)`` int64 image of each true positive, class by class, each class's in evaluation order.
        tp_start: ``(K + 1,)`` int64, class ``k``'s true positives are ``tp_image[tp_start[k]:tp_start[k + 1]]``.
        fp_before: ``(T, n_images)`` sparse CSR float64 counts: false positives of each image after the previous
            true positive of the class (or the class's start) and before this one.
        labels: ``(K, n_images)`` sparse CSR float64 counted labels per class and image.
        tps: ``(K, n_images)`` sparse CSR float64 true positives per class and image.
        run_tp: ``(U, n_images)`` sparse CSR float64 true positives of each run per image; a run is a class's
            consecutive true positives with no false positive between them.
        run_fp: ``(U, n_images)`` sparse CSR float64 false positives before each run (after the previous one).
        run_start: ``(K + 1,)`` int64, class ``k``'s runs are rows ``run_start[k]:run_start[k + 1]``.
    """

    n_images: int
    classes: np.ndarray
    tp_image: np.ndarray
    tp_start: np.ndarray
    fp_before: scipy.sparse.csr_matrix
    labels: scipy.sparse.csr_matrix
    tps: scipy.sparse.csr_matrix
    run_tp: scipy.sparse.csr_matrix
    run_fp: scipy.sparse.csr_matrix
    run_start: np.ndarray


def weighted_curves(dataset: Dataset, match: MatchResult, by_class: np.ndarray, classes: np.ndarray) -> WeightedCurves:
    """The :class:`WeightedCurves` of a match.

    Args:
        dataset: the dataset matched.
        match: its outcomes at one IoU threshold.
        by_class: ``(P,)`` int64 ``score_orders(dataset).by_class`` (pycocotools' accumulation order).
        classes: ``(K,)`` int64 selected class indices (``Dataset.category_indices``).
    """
    preds, labels = dataset.predictions, dataset.labels
    n_images, n_classes = len(dataset.images), dataset.n_categories
    order = by_class[match.pred_outcome[by_class] != IGNORED]  # counted predictions, evaluation order
    column_of_class = np.full(n_classes, -1, np.int64)
    column_of_class[classes] = np.arange(classes.shape[0])
    order = order[column_of_class[preds.category_index[order]] >= 0]
    cls = column_of_class[preds.category_index[order]]  # non-decreasing: by_class is grouped by class
    is_tp = match.pred_outcome[order] == TP
    tp_rows = order[is_tp]
    tp_start = np.searchsorted(cls[is_tp], np.arange(classes.shape[0] + 1))
    # a false positive's gap is the column of the next true positive of its class: the number of true
    # positives before it (classes are consecutive); after the class's last true positive it changes nothing
    gap = np.cumsum(is_tp) - is_tp
    fp = (match.pred_outcome[order] == FP) & (gap < tp_start[cls + 1])
    fp_before = scipy.sparse.csr_matrix(
        (np.ones(int(fp.sum())), (gap[fp], preds.image_index[order[fp]])),
        shape=(int(tp_start[-1]), n_images))
    fp_before.sum_duplicates()
    counted = ~match.label_ignored & (column_of_class[labels.category_index] >= 0)
    # sparse, not dense: the products below stay single-threaded sums (no BLAS threads spinning beside them)
    shape = (classes.shape[0], n_images)
    label_counts = scipy.sparse.csr_matrix(
        (np.ones(int(counted.sum())), (column_of_class[labels.category_index[counted]], labels.image_index[counted])),
        shape=shape)
    tp_counts = scipy.sparse.csr_matrix((np.ones(tp_rows.shape[0]), (cls[is_tp], preds.image_index[tp_rows])),
                                        shape=shape)
    label_counts.sum_duplicates()
    tp_counts.sum_duplicates()
    tp_image = preds.image_index[tp_rows]
    return WeightedCurves(n_images, classes, tp_image, tp_start, fp_before, label_counts, tp_counts,
                          *_runs(tp_image, cls[is_tp], tp_start, fp_before, n_images, classes.shape[0]))


def _runs(tp_image: np.ndarray, tp_class: np.ndarray, tp_start: np.ndarray, fp_before: scipy.sparse.csr_matrix,
          n_images: int, n_classes: int) -> tuple:
    """``(run_tp, run_fp, run_start)`` of :class:`WeightedCurves`: the true positives grouped into runs."""
    n_tp = tp_image.shape[0]
    end = np.zeros(n_tp, bool)  # a run ends at its class's last true positive or before a false positive
    end[tp_start[1:][np.diff(tp_start) > 0] - 1] = True
    end[:-1] |= np.diff(fp_before.indptr)[1:] > 0
    run_of = np.cumsum(end) - end
    n_runs = int(end.sum())
    to_run = scipy.sparse.csr_matrix((np.ones(n_tp), (run_of, np.arange(n_tp))), shape=(n_runs, n_tp))
    run_tp = scipy.sparse.csr_matrix((np.ones(n_tp), (run_of, tp_image)), shape=(n_runs, n_images))
    run_tp.sum_duplicates()
    run_fp = (to_run @ fp_before).tocsr()  # only a run's first true positive has false positives before it
    run_fp.sum_duplicates()
    return run_tp, run_fp, np.searchsorted(tp_class[end], np.arange(n_classes + 1))


def weighted_ap(curves: WeightedCurves, weights: np.ndarray, method: str = "coco101") -> tuple[np.ndarray, np.ndarray]:
    """AP and AR of every selected class under each row of image weights (rules in the module docstring).

    Args:
        curves: :func:`weighted_curves` of one match.
        weights: ``(R, n_images)`` int64 (or float64) image weights, one resample per row.
        method: one of :data:`~detlens.core.ap.AP_METHODS`.

    Returns:
        ``(ap, ar)``: ``(R, K)`` float64 each, NaN where the class has no weighted labels.
    """
    if method not in AP_METHODS:
        raise ValueError(f"ap_method must be one of {AP_METHODS}, got {method!r}")
    # (n_images, R) float64, integer-valued; no copy when the caller passes it column-major (see resample)
    by_image = np.ascontiguousarray(np.asarray(weights, dtype=np.float64).T)
    n_labels = curves.labels @ by_image  # (K, R): sums of integers, exact
    ar = np.full(n_labels.shape, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        np.divide(curves.tps @ by_image, n_labels, out=ar, where=n_labels > 0)
    # (T, R) layout: steps down the rows, resamples along them, so every cumulative runs over axis 0. The
    # steps are runs of true positives (precision only rises along a run, so a run's end holds the envelope
    # of all its points), but every true positive for VOC all-point, whose sum is over recall steps
    if method == "voc_all_point":
        tp_inc, fp_inc, starts = by_image[curves.tp_image], curves.fp_before @ by_image, curves.tp_start
    else:
        tp_inc, fp_inc, starts = curves.run_tp @ by_image, curves.run_fp @ by_image, curves.run_start
    ap = np.full(n_labels.shape, np.nan)
    for k in range(curves.classes.shape[0]):
        has_labels = n_labels[k] > 0
        start, end = int(starts[k]), int(starts[k + 1])
        if end == start:
            ap[k, has_labels] = 0.0
            continue
        # weighted counts through each true positive of the class (integer-valued sums: exact)
        tp_sum = np.cumsum(tp_inc[start:end], axis=0)
        fp_sum = np.cumsum(fp_inc[start:end], axis=0)
        ap[k] = _summary(tp_sum, fp_sum, np.where(has_labels, n_labels[k], 1.0), method)
        ap[k, ~has_labels] = np.nan
    return ap.T, ar.T


def _summary(tp_sum: np.ndarray, fp_sum: np.ndarray, n_labels: np.ndarray, method: str) -> np.ndarray:
    """``(R,)`` AP of one class from ``(T_k, R)`` weighted counts at its true positives and ``(R,)`` labels (> 0).

    ``fp_sum`` is overwritten.
    """
    np.add(fp_sum, tp_sum, out=fp_sum)
    if method == "coco101":
        fp_sum += np.spacing(1)
        precision = np.divide(tp_sum, fp_sum, out=fp_sum)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            precision = tp_sum / fp_sum
        precision[fp_sum == 0] = 0.0  # only zero-weight predictions so far
    envelope = np.maximum.accumulate(precision[::-1], axis=0, out=precision[::-1])[::-1]
    if method == "voc_all_point":
        recall = tp_sum / n_labels
        step = recall - np.concatenate((np.zeros((1, recall.shape[1])), recall[:-1]), axis=0)
        # detlens.core.ap sums one more, zero, term when recall ends below 1 (the padding step to 1), with
        # numpy's pairwise sum of a 1-d array: summed the same way, row by row, weights all 1 round alike
        terms = np.concatenate((step * envelope, np.zeros((1, recall.shape[1]))), axis=0).T.copy()
        return np.array([np.sum(row if last != 1.0 else row[:-1]) for row, last in zip(terms, recall[-1])])
    thresholds = RECALL_THRESHOLDS if method == "coco101" else VOC11_THRESHOLDS
    q = _first_reaching(tp_sum, n_labels, envelope, thresholds)  # (R, J)
    if method == "coco101":
        return q.mean(axis=1)  # each resample's 101 values contiguous: np.mean's pairwise sum
    total = np.zeros(q.shape[0])
    for j in range(q.shape[1]):  # the order detlens.core.ap adds them in
        total += q[:, j]
    return total / thresholds.shape[0]


def _first_reaching(tp_sum: np.ndarray, n_labels: np.ndarray, envelope: np.ndarray,
                    thresholds: np.ndarray) -> np.ndarray:
    """``(R, J)``: for each resample and threshold, the envelope at the first point whose recall reaches it, 0 if none.

    Recall ``fl(tp / n)`` rises with the integer-valued ``tp``, so "recall reaches t" is "tp reaches the
    least count whose recall reaches t", found exactly in integers; one sorted search over all columns
    (each column's counts shifted past the previous column's) then gives every first point at once.
    """
    points, cols = tp_sum.shape
    n = n_labels[:, None]
    need = least_counts(n, thresholds)  # (R, J)
    if points < COUNT_BELOW * thresholds.shape[0]:
        first = _first_by_counting(tp_sum, n, need)
    else:
        shift = np.arange(cols) * (float(tp_sum[-1].max()) + 2.0)
        keys = (tp_sum.T + shift[:, None]).ravel()  # column after column, increasing
        need += shift[:, None]  # queries in increasing order too: numpy's search starts from the last hit
        first = np.searchsorted(keys, need.ravel(), side="left").reshape(need.shape)
        first -= (np.arange(cols) * points)[:, None]
    reached = first < points
    # the envelope is a reversed view of a C-ordered buffer: point p is row points - 1 - p of the buffer
    buffer = envelope[::-1]
    flat = (points - 1 - np.minimum(first, points - 1)) * cols + np.arange(cols)[:, None]
    q = np.where(reached, buffer.ravel()[flat], 0.0)
    return q


def least_counts(n: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """The least count ``m`` whose recall ``fl(m / n)`` reaches each threshold (NumPy's float division).

    Args:
        n: ``(R, 1)`` float64 label counts (integer-valued, > 0).
        thresholds: ``(J,)`` increasing recall thresholds in [0, 1].

    Returns:
        ``(R, J)`` float64 integer-valued counts; read from a table of every n up to ``LEAST_COUNT_TABLE``.
    """
    top = float(n.max(initial=1.0))
    if top < LEAST_COUNT_TABLE:
        table = _least_count_table(thresholds.shape[0], 1 << max(int(top).bit_length(), 8))
        return table[n[:, 0].astype(np.int64)]
    return _least_counts_computed(n, thresholds)


def _least_counts_computed(n: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    need = np.ceil(thresholds * n)  # then moved by one where the product rounded across an integer
    need -= (need >= 1) & ((need - 1) / n >= thresholds)
    need += need / n < thresholds
    return need


@functools.lru_cache(maxsize=4)
def _least_count_table(n_thresholds: int, size: int) -> np.ndarray:
    """``(size, J)`` :func:`least_counts` of n = 0 .. size - 1 (row 0 unused) for the AP methods' thresholds."""
    thresholds = RECALL_THRESHOLDS if n_thresholds == RECALL_THRESHOLDS.shape[0] else VOC11_THRESHOLDS
    need = _least_counts_computed(np.maximum(np.arange(size, dtype=np.float64), 1.0)[:, None], thresholds)
    need.flags.writeable = False
    return need


def _first_by_counting(tp_sum: np.ndarray, n: np.ndarray, need: np.ndarray) -> np.ndarray:
    """``(R, J)`` first point whose count reaches each ``need``, by counting the thresholds each point reaches.

    Cheaper than the sorted search for a class with few true positives (see ``COUNT_BELOW``): the thresholds
    a count reaches are about ``floor(tp (J - 1) / n) + 1``, settled exactly by comparing with ``need``.
    """
    points, cols = tp_sum.shape
    n_thr = need.shape[1]
    base = (np.arange(cols) * n_thr)[None, :]
    last = np.clip(np.floor(tp_sum * ((n_thr - 1) / n.T)), 0, n_thr - 1).astype(np.int64)  # (T_k, R) guess
    flat_need = need.ravel()
    last -= flat_need[last + base] > tp_sum  # one too far
    up = np.minimum(last + 1, n_thr - 1)
    last += (up > last) & (flat_need[up + base] <= tp_sum)  # one short
    key = (np.arange(cols)[None, :] * (n_thr + 1) + last + 1).ravel()  # thresholds reached, 1..J
    counts = np.bincount(key, minlength=cols * (n_thr + 1)).reshape(cols, n_thr + 1)
    return np.cumsum(counts, axis=1)[:, :n_thr]  # points reaching at most j thresholds = first reaching j
