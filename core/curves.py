"""Thinning a curve to a few points for drawing (precision-recall curves of the dashboard).

Rule (tested in ``tests/test_curves.py``): of ``n`` points, keep them all when
``n <= points``; otherwise keep the positions ``round(k (n - 1) / (points - 1))``
for ``k = 0 .. points - 1`` (``np.linspace`` rounded half to even), duplicates
removed, in increasing order. Both ends (0 and ``n - 1``) are always kept and
at most ``points`` positions are. ``points`` must be at least 2. Thinned values
are rounded to 4 decimals.
"""

from __future__ import annotations

import numpy as np

from detlens.core.settings import PR_POINTS  # the default: precision-recall points kept per class

MIN_POINTS = 2  # both ends
DECIMALS = 4


def thin_indices(n: int, points: int = PR_POINTS) -> np.ndarray:
    """``(K,)`` int64 positions in ``0..n-1`` kept, ``K = min(n, points)`` at most, ends kept (rule above).

    Raises:
        ValueError: ``points`` below 2.
    """
    if points < MIN_POINTS:
        raise ValueError(f"a thinned curve keeps at least {MIN_POINTS} points, got {points}")
    if n <= points:
        return np.arange(n, dtype=np.int64)
    return np.unique(np.linspace(0, n - 1, points).round().astype(np.int64))


def thin_curve(recall: np.ndarray, precision: np.ndarray, points: int = PR_POINTS) -> tuple[list, list]:
    """The points of a precision-recall curve at :func:`thin_indices`, rounded to 4 decimals.

    Args:
        recall, precision: ``(N,)`` float64 curve in [0, 1].
        points: most points kept (>= 2).

    Returns:
        ``(recall, precision)``: lists of ``K <= points`` floats.
    """
    idx = thin_indices(int(recall.shape[0]), points)
    return [round(float(x), DECIMALS) for x in recall[idx]], [round(float(x), DECIMALS) for x in precision[idx]]
