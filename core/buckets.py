"""Performance by metric: TPR of predictions and FNR of labels across a metric's range.

Rules (tested in ``tests/test_buckets.py``):

Bucket edges
    Computed once from the pooled values of the predictions and the labels
    (so both curves share one x axis), NaN values left out.
    ``quantile`` (default): cut points at the k/B quantiles of the pooled
    values (``np.quantile`` linear interpolation), duplicates removed, so a
    heavily repeated value may leave fewer than B buckets. ``equal_width``:
    B equal intervals between the minimum and the maximum.
    Bucket i holds values in [edge_i, edge_{i+1}); the last bucket is closed
    on both sides.

Rates
    TPR = TP / (TP + FP) over the bucket's counted predictions (ignored
    predictions are left out); FNR = FN / (TP + FN) over its counted labels.
    Each with a 95% Wilson score interval (z = 1.959964). A bucket with no
    predictions (labels) has TPR (FNR) NaN. The averages are the same rates
    over all rows with a value (the dashed reference lines).

Per class
    The same buckets, rates computed within each class.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from detlens.core.settings import BUCKETS_MAX, BUCKETS_MIN

Z95 = 1.959963984540054
BUCKET_METHODS = ("quantile", "equal_width")


def wilson_interval(successes: np.ndarray, totals: np.ndarray, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for binomial proportions.

    Args:
        successes: ``(N,)`` counts.
        totals: ``(N,)`` counts, >= successes.
        z: normal quantile (1.96 for 95%).

    Returns:
        ``(low, high)``: ``(N,)`` float64 bounds in [0, 1]; NaN where total is 0.
    """
    k = np.asarray(successes, dtype=np.float64)
    n = np.asarray(totals, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        denom = 1 + z * z / n
        centre = (p + z * z / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    low = np.where(n > 0, np.clip(centre - half, 0, 1), np.nan)
    high = np.where(n > 0, np.clip(centre + half, 0, 1), np.nan)
    return low, high


def bucket_edges(values: np.ndarray, n_buckets: int = 10, method: str = "quantile") -> np.ndarray:
    """Bucket boundaries of a metric.

    Args:
        values: ``(N,)`` float64 pooled metric values (NaN ignored).
        n_buckets: ``BUCKETS_MIN..BUCKETS_MAX`` (:mod:`detlens.core.settings`).
        method: "quantile" or "equal_width".

    Returns:
        ``(B+1,)`` float64 increasing edges, B <= n_buckets; ``(0,)`` when no value.
    """
    if not BUCKETS_MIN <= n_buckets <= BUCKETS_MAX:
        raise ValueError(f"number of buckets must be between {BUCKETS_MIN} and {BUCKETS_MAX}, got {n_buckets}")
    if method not in BUCKET_METHODS:
        raise ValueError(f"bucket method must be one of {BUCKET_METHODS}, got {method!r}")
    v = np.asarray(values, dtype=np.float64)
    v = v[~np.isnan(v)]
    if v.shape[0] == 0:
        return np.zeros(0)
    lo, hi = float(v.min()), float(v.max())
    if lo == hi:
        return np.array([lo, hi])
    if method == "equal_width":
        return np.linspace(lo, hi, n_buckets + 1)
    return np.unique(np.quantile(v, np.linspace(0, 1, n_buckets + 1)))


def assign_buckets(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """``(N,)`` int64 bucket of each value, -1 for NaN or values outside the edges."""
    v = np.asarray(values, dtype=np.float64)
    if edges.shape[0] < 2:
        return np.full(v.shape[0], -1, np.int64)
    b = np.searchsorted(edges, v, side="right") - 1
    b[v == edges[-1]] = edges.shape[0] - 2  # the last bucket is closed
    b[(b < 0) | (b > edges.shape[0] - 2) | np.isnan(v)] = -1
    return b.astype(np.int64)


@dataclass(frozen=True)
class RateCurve:
    """Rates per bucket for one population (predictions or labels).

    Attributes:
        hits: ``(B,)`` int64 TP (predictions) or FN (labels) per bucket.
        totals: ``(B,)`` int64 counted rows per bucket.
        rate: ``(B,)`` float64 hits / totals, NaN where empty.
        low, high: ``(B,)`` float64 95% Wilson bounds.
        average: overall rate over all rows with a value.
        count: rows with a value.
    """

    hits: np.ndarray
    totals: np.ndarray
    rate: np.ndarray
    low: np.ndarray
    high: np.ndarray
    average: float
    count: int

    def to_dict(self) -> dict:
        return {
            "hits": self.hits.tolist(), "totals": self.totals.tolist(),
            "rate": _nan_to_none(self.rate), "low": _nan_to_none(self.low), "high": _nan_to_none(self.high),
            "average": None if np.isnan(self.average) else self.average, "count": self.count,
        }


def _nan_to_none(a: np.ndarray) -> list:
    return [None if np.isnan(x) else float(x) for x in a]


def _curve(hits: np.ndarray, totals: np.ndarray, average: float, count: int) -> RateCurve:
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(totals > 0, hits / np.maximum(totals, 1), np.nan)
    low, high = wilson_interval(hits, totals)
    return RateCurve(hits, totals, rate, low, high, average, count)


def rate_curve(buckets: np.ndarray, hit: np.ndarray, n_buckets: int) -> RateCurve:
    """Per-bucket rate of ``hit``.

    Args:
        buckets: ``(N,)`` int64 bucket per row, -1 = no value (left out).
        hit: ``(N,)`` bool.
        n_buckets: B.
    """
    ok = buckets >= 0
    totals = np.bincount(buckets[ok], minlength=n_buckets).astype(np.int64)
    hits = np.bincount(buckets[ok][hit[ok]], minlength=n_buckets).astype(np.int64)
    count = int(ok.sum())
    return _curve(hits, totals, float(hit[ok].mean()) if count else float("nan"), count)


def rate_curves_by_class(buckets: np.ndarray, hit: np.ndarray, classes: np.ndarray,
                         n_buckets: int) -> dict[int, RateCurve]:
    """:func:`rate_curve` within each class present, in one pass.

    Args:
        buckets: ``(N,)`` int64 bucket per row, -1 = no value.
        hit: ``(N,)`` bool.
        classes: ``(N,)`` int64 class index of each row.
        n_buckets: B.

    Returns:
        ``{class index: RateCurve}`` for every class with at least one row.
    """
    present, inverse = np.unique(classes, return_inverse=True)
    if n_buckets == 0:
        return {}
    ok = buckets >= 0
    key = inverse[ok] * n_buckets + buckets[ok]
    size = present.shape[0] * n_buckets
    totals = np.bincount(key, minlength=size).reshape(-1, n_buckets).astype(np.int64)
    hits = np.bincount(key[hit[ok]], minlength=size).reshape(-1, n_buckets).astype(np.int64)
    out = {}
    for i, k in enumerate(present.tolist()):
        count = int(totals[i].sum())
        average = float(hits[i].sum() / count) if count else float("nan")
        out[k] = _curve(hits[i], totals[i], average, count)
    return out


@dataclass(frozen=True)
class BucketTable:
    """Performance by metric: one row per bucket, aggregate and per class.

    Attributes:
        metric: display name.
        method: "quantile" or "equal_width".
        edges: ``(B+1,)`` float64 bucket boundaries.
        tpr: predictions' TPR curve, or None when the metric has no prediction values.
        fnr: labels' FNR curve, or None when the metric has no label counterpart.
        per_class: ``{class name: (tpr curve or None, fnr curve or None)}``.
    """

    metric: str
    method: str
    edges: np.ndarray
    tpr: RateCurve | None
    fnr: RateCurve | None
    per_class: dict[str, tuple[RateCurve | None, RateCurve | None]]

    @property
    def n_buckets(self) -> int:
        return max(int(self.edges.shape[0]) - 1, 0)

    def to_dict(self) -> dict:
        return {
            "metric": self.metric,
            "method": self.method,
            "edges": self.edges.tolist(),
            "TPR": None if self.tpr is None else self.tpr.to_dict(),
            "FNR": None if self.fnr is None else self.fnr.to_dict(),
            "per_class": {
                name: {"TPR": None if t is None else t.to_dict(), "FNR": None if f is None else f.to_dict()}
                for name, (t, f) in self.per_class.items()
            },
        }


def bucket_rates(
    metric: str,
    pred_values: np.ndarray | None,
    pred_tp: np.ndarray | None,
    pred_class: np.ndarray | None,
    label_values: np.ndarray | None,
    label_fn: np.ndarray | None,
    label_class: np.ndarray | None,
    class_names: list[str],
    n_buckets: int = 10,
    method: str = "quantile",
) -> BucketTable:
    """TPR over predictions and FNR over labels per bucket of a metric.

    Args:
        metric: display name.
        pred_values: ``(P,)`` float64 metric value of each counted prediction
            (NaN = missing), or None when the metric has no prediction side.
        pred_tp: ``(P,)`` bool, True for TP (False = FP).
        pred_class: ``(P,)`` int64 class index.
        label_values: ``(L,)`` float64 value of each counted label, or None.
        label_fn: ``(L,)`` bool, True for a missed label.
        label_class: ``(L,)`` int64 class index.
        class_names: names indexed by class index (only classes present get a per-class entry).
        n_buckets: ``BUCKETS_MIN..BUCKETS_MAX`` (:mod:`detlens.core.settings`).
        method: "quantile" or "equal_width".

    Returns:
        :class:`BucketTable`.
    """
    pooled = [v for v in (pred_values, label_values) if v is not None]
    edges = bucket_edges(np.concatenate(pooled) if pooled else np.zeros(0), n_buckets, method)
    b = max(edges.shape[0] - 1, 0)
    pb = None if pred_values is None else assign_buckets(pred_values, edges)
    lb = None if label_values is None else assign_buckets(label_values, edges)
    tpr = None if pb is None else rate_curve(pb, np.asarray(pred_tp, bool), b)
    fnr = None if lb is None else rate_curve(lb, np.asarray(label_fn, bool), b)
    t_by_class = {} if pb is None else rate_curves_by_class(pb, np.asarray(pred_tp, bool), pred_class, b)
    f_by_class = {} if lb is None else rate_curves_by_class(lb, np.asarray(label_fn, bool), label_class, b)
    per_class = {str(class_names[k]): (t_by_class.get(k), f_by_class.get(k))
                 for k in sorted(set(t_by_class) | set(f_by_class))}
    return BucketTable(metric, method, edges, tpr, fnr, per_class)
