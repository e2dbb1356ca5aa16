"""The cache folder every server process shares: two diskcaches, a cross-process lock, memoisation.

Layout of ``cache_dir``::

    data/       never evicted: prepared datasets, their image registry and preparation status
    results/    evicted least-recently-stored: matches and memoised small results
    callbacks/  Dash's background-callback manager (see :mod:`detlens.app.server`)
    pixels/     pixel-metric cache of :func:`detlens.core.metrics.tables.compute_metric_tables`
    thumbs/     Explorer thumbnails (see :mod:`detlens.app.images`)
    demo/       the embedded demo data set, written once

Keys are never written by hand: :func:`cache_key` derives each from an
:class:`Entry` (what is stored), the parameters it depends on (frozen
dataclasses or plain values) and :data:`CODE_VERSION`, as Dash's ``cache_by``
does, so a new release never reads an entry of an older shape.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import diskcache

CODE_VERSION = 5  # bump when what is stored changes shape
MISSING = object()  # a ``get`` default that no stored value equals


class Entry(enum.StrEnum):
    """What a cache entry holds (the first part of its key)."""

    STATUS = "status"  # preparation status of a data source
    LOCK = "lock"
    IMAGES = "images"  # the image registry the image routes read
    DATASET = "dataset"
    CANDIDATES = "candidates"
    OTHER_CLASS = "other_class"
    ORDERS = "orders"
    TABLES = "tables"
    WARMED = "warmed"  # every IoU slider value pre-computed
    SUMMARY = "summary"
    MATCH = "match"
    EVALUATION = "evaluation"
    RANKING = "ranking"
    BUCKETS = "buckets"
    OBJECTS = "objects"
    EXTENT = "extent"
    EXPLORER_VIEW = "explorer_view"


def _plain(value):
    """A JSON-ready form of a key part: frozen dataclasses as dicts, tuples as lists."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {"type": type(value).__name__, **{k: _plain(v) for k, v in dataclasses.asdict(value).items()}}
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def cache_key(entry: Entry, *params) -> str:
    """``"<entry>/<digest>"``: the key of ``entry`` for these parameters under :data:`CODE_VERSION`.

    Args:
        entry: what is stored.
        params: what it depends on: frozen dataclasses, strings, numbers, None, tuples of these.
    """
    doc = json.dumps([CODE_VERSION, _plain(list(params))], sort_keys=True, default=str)
    return f"{entry}/{hashlib.sha256(doc.encode()).hexdigest()[:24]}"


class SharedCache:
    """The two diskcaches of ``cache_dir`` (see the module docstring), safe to use from any process.

    Args:
        cache_dir: the folder (created when missing).
        results_bytes: size bound of ``results/``; the least recently stored entries are evicted beyond it.
    """

    def __init__(self, cache_dir: str | Path, results_bytes: int = 2**30):
        self.cache_dir = Path(cache_dir)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        self.data = diskcache.Cache(str(self.cache_dir / "data"), eviction_policy="none", size_limit=2**40)
        self.results = diskcache.Cache(str(self.cache_dir / "results"), size_limit=int(results_bytes),
                                       eviction_policy="least-recently-stored")  # reads never write

    @contextlib.contextmanager
    def exclusive(self, name: str, expire: float = 1800.0) -> Iterator[None]:
        """Hold the cross-process lock ``name`` (taken over after ``expire`` s, or at once if its holder died)."""
        key = cache_key(Entry.LOCK, name)
        while not self.data.add(key, os.getpid(), expire=expire):
            holder = self.data.get(key)
            if holder is not None and not process_alive(holder):
                self.data.delete(key)
                continue
            time.sleep(0.02)
        try:
            yield
        finally:
            self.data.delete(key)

    def memo(self, key: str, compute: Callable[[], object]):
        """``compute()`` once per ``key`` (from :func:`cache_key`) across processes, then from ``results``."""
        value = self.results.get(key, default=MISSING)
        if value is not MISSING:
            return value
        with self.exclusive(key, expire=600):
            value = self.results.get(key, default=MISSING)
            if value is MISSING:
                value = compute()
                self.results.set(key, value)
        return value


def process_alive(pid) -> bool:
    """True when process ``pid`` exists and is not a zombie (locks are only shared on one machine)."""
    import psutil

    try:
        return psutil.Process(int(pid)).status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, ValueError, TypeError):
        return False
    except psutil.AccessDenied:
        return True
