"""The results cache stays under its bound, and evicts large values (matches) before small ones (evaluations,
rankings, the views pre-computed after start), each kind least recently stored first."""

from __future__ import annotations

import numpy as np
import pytest

from detlens.app.cache import LARGE_RESULT_BYTES, SharedCache  # noqa: F401 (the threshold the sizes straddle)

MB = 2**20
LARGE = 3 * MB  # bytes of one large value (a "match")
BOUND = 10 * MB


def large(k: int) -> np.ndarray:
    return np.full(LARGE // 8, float(k))


def small(k: int) -> dict:
    return {"mAP": k / 100, "pr": list(np.linspace(0, 1, 6000))}  # a file (over diskcache's 32 kB), under 1 MB


@pytest.fixture
def cache(tmp_path):
    cache = SharedCache(tmp_path / "cache", results_bytes=BOUND)
    yield cache
    cache.results.close()


def stored(cache: SharedCache) -> set[str]:
    return set(cache.results.iterkeys())


def test_large_values_are_evicted_before_small_ones_oldest_first(cache):
    for k in range(5):
        cache.memo(f"evaluation/{k}", lambda k=k: small(k))
    for k in range(6):  # 18 MB of matches into a 10 MB bound
        cache.memo(f"match/{k}", lambda k=k: large(k))
        assert cache.results.volume() <= BOUND
    assert {f"evaluation/{k}" for k in range(5)} <= stored(cache)  # every small result kept
    matches = sorted(k for k in stored(cache) if k.startswith("match/"))
    assert matches == ["match/3", "match/4", "match/5"]  # the newest that fit: 3 x 3 MB + small ones < 10 MB
    assert cache.memo("evaluation/3", lambda: pytest.fail("computed again")) == small(3)


def test_small_values_are_evicted_oldest_first_when_large_ones_are_not_enough(tmp_path):
    cache = SharedCache(tmp_path / "cache", results_bytes=3 * MB)
    for k in range(12):  # about 0.5 MB each: files, under LARGE_RESULT_BYTES
        cache.memo(f"ranking/{k}", lambda k=k: {"rows": list(range(100_000 + k))})
        assert cache.results.volume() <= 3 * MB
    kept = sorted(int(k.split("/")[1]) for k in stored(cache))
    assert kept == list(range(kept[0], 12)) and kept[0] > 0  # a run of the newest


def test_the_value_just_stored_is_kept_even_over_the_bound(tmp_path):
    cache = SharedCache(tmp_path / "cache", results_bytes=2 * MB)
    cache.memo("match/a", lambda: large(1))  # 3 MB alone exceeds the bound
    assert stored(cache) == {"match/a"}
    cache.memo("match/b", lambda: large(2))
    assert stored(cache) == {"match/b"}

