"""core.curves: thinning a curve, each rule at its edge."""

from __future__ import annotations

import numpy as np
import pytest

from detlens.core.curves import thin_curve, thin_indices


@pytest.mark.parametrize("n, points, expected", [
    (0, 5, []),
    (1, 5, [0]),
    (5, 5, [0, 1, 2, 3, 4]),  # n == points: all kept
    (6, 5, [0, 1, 2, 4, 5]),  # n == points + 1: round(k * 5 / 4) = 0, 1.25, 2.5 (to even), 3.75, 5
    (10, 2, [0, 9]),  # points = 2: the ends only
    (3, 2, [0, 2]),
])
def test_thin_indices(n, points, expected):
    assert thin_indices(n, points).tolist() == expected


@pytest.mark.parametrize("n, points", [(201, 200), (1000, 200), (10_001, 7), (57, 50)])
def test_ends_kept_and_at_most_points(n, points):
    idx = thin_indices(n, points)
    assert idx[0] == 0 and idx[-1] == n - 1 and len(idx) <= points and (np.diff(idx) > 0).all()
    assert idx.dtype == np.int64


def test_fewer_than_two_points_is_refused():
    with pytest.raises(ValueError, match="at least 2"):
        thin_indices(10, 1)


def test_thin_curve_keeps_ends_and_rounds_to_4_decimals():
    recall, precision = np.linspace(0, 1, 1000), np.linspace(1, 0, 1000)
    r, p = thin_curve(recall, precision, 50)
    assert len(r) == len(p) <= 50 and (r[0], r[-1], p[0], p[-1]) == (0, 1, 1, 0)
    assert r[1] == round(float(recall[thin_indices(1000, 50)[1]]), 4)
