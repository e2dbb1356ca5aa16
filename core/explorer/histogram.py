"""The distribution of a metric under the Explorer's range slider.

Rule (tested in ``tests/test_explorer_core.py``): ``bins`` equal-width bins
over ``[lo, hi]``, each ``[edge_i, edge_i+1)`` and the last closed (numpy's
``histogram``); NaN values and values outside ``[lo, hi]`` are left out. When
``lo == hi`` there is one bin ``[lo, hi]`` counting every non-NaN value; when a
bound is not finite the histogram is empty.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


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
    """Equal-width histogram of ``values`` over ``[lo, hi]`` (rule in the module docstring).

    Args:
        values: ``(N,)`` float64 metric values, NaN = missing.
        lo, hi: range of the bins, in the metric's unit.
        bins: number of bins when ``lo < hi``.
    """
    v = np.asarray(values, np.float64)
    v = v[~np.isnan(v)]
    if not np.isfinite(lo) or not np.isfinite(hi):
        return Histogram()
    if lo == hi:
        return Histogram(np.array([lo, hi]), np.array([v.shape[0]], np.int64))
    counts, edges = np.histogram(v, bins=bins, range=(lo, hi))
    return Histogram(edges, counts.astype(np.int64))
