"""Sorting helper shared by the matching and candidate modules."""

from __future__ import annotations

import numpy as np


def radix_key(values: np.ndarray) -> np.ndarray:
    """Non-negative ints as uint16 when they fit: numpy's stable sort is then a radix sort.

    Args:
        values: ``(N,)`` non-negative integers.

    Returns:
        ``(N,)`` uint16 copy when every value is below 65536, else ``values`` unchanged.
    """
    return values.astype(np.uint16) if values.shape[0] and values.max() < 65536 else values
