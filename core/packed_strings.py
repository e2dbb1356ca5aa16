"""A read-only sequence of strings stored as one UTF-8 buffer and its offsets.

A list of N strings pickles to N objects and unpickles by making N again: the
image registry of 50,000 file names took 5 ms to read, and it is read for each
thumbnail and each Explorer page. :class:`PackedStrings` pickles to two arrays,
whatever N, and makes a ``str`` only for the item asked for. A numpy ``"U"``
array would too, but it stores every string at the longest one's width, four
bytes a character: one long path would multiply the registry's size.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np


class PackedStrings(Sequence):
    """``strings`` packed: ``len``, ``[i]`` (``str``; negative ``i`` counts from the end) and iteration.

    Args:
        strings: any iterable of ``str``.
    """

    def __init__(self, strings: Iterable[str]):
        encoded = [s.encode("utf-8", "surrogatepass") for s in strings]
        self.offsets = np.zeros(len(encoded) + 1, np.int64)  # (N + 1,): item i is data[offsets[i]:offsets[i + 1]]
        np.cumsum([len(b) for b in encoded], out=self.offsets[1:])
        self.data = b"".join(encoded)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        n = len(self)
        i = int(i)
        if not -n <= i < n:
            raise IndexError(f"index {i} out of range for {n} strings")
        i %= n
        return self.data[self.offsets[i]:self.offsets[i + 1]].decode("utf-8", "surrogatepass")

    def __repr__(self) -> str:
        return f"PackedStrings({list(self)[:3]}{'...' if len(self) > 3 else ''}, n={len(self)})"
