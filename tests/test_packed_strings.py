"""PackedStrings: a sequence of strings as one buffer and offsets, read item by item."""

from __future__ import annotations

import pickle
import pickletools

import pytest

from detlens.core.packed_strings import PackedStrings

CASES = [
    [],
    [""],
    ["a.jpg", "", "b/c.png"],
    ["ünïcödé/名前.jpg", "emoji 😀.png", "a\nnew line", "\x00nul"],
    ["lone \ud800 surrogate.jpg"],  # JSON can carry one; the registry must hold what the dataset holds
    [f"{i:06d}.jpg" for i in range(1000)],
]


@pytest.mark.parametrize("strings", CASES)
def test_packed_strings_read_back_every_item_as_given(strings):
    packed = pickle.loads(pickle.dumps(PackedStrings(strings), protocol=5))
    assert len(packed) == len(strings)
    assert list(packed) == strings and [packed[i] for i in range(len(strings))] == strings
    assert [packed[-i] for i in range(1, len(strings) + 1)] == [strings[-i] for i in range(1, len(strings) + 1)]
    assert packed[1:3] == strings[1:3] and packed[::-1] == strings[::-1]
    assert all(isinstance(s, str) for s in packed)


@pytest.mark.parametrize("index", [3, -4, 10**20])
def test_an_index_out_of_range_raises_index_error(index):
    with pytest.raises(IndexError):
        PackedStrings(["a", "b", "c"])[index]


def test_packed_strings_pickle_to_two_arrays_whatever_their_number():
    # what makes the registry cheap to read: no object per string in the pickle
    packed = PackedStrings(f"{i:06d}.jpg" for i in range(50_000))
    assert sum(1 for _ in pickletools.genops(pickle.dumps(packed, protocol=5))) < 100
    assert packed.data == b"".join(f"{i:06d}.jpg".encode() for i in range(50_000))
