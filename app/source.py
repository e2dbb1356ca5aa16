"""Where a dataset comes from, the identity of that source, and how far its preparation has come.

A :class:`DataSource` names the input files and the options to read them with;
its :meth:`~DataSource.source_id` changes when any of them changes, so a new
file version is prepared again while an unchanged one is found in the cache.
Each source is remembered in ``<cache dir>/sources/`` (:func:`remember_source`),
outside the diskcaches, so any server process can prepare it again even when
``data/`` was lost.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import socket
import tempfile
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from detlens.app.cache import CODE_VERSION, Entry, SharedCache, cache_key, process_alive

HEARTBEAT_S = 1.0  # a working preparation renews its status this often
HEARTBEAT_STALE_S = 30.0  # a running status not renewed for this long belongs to a preparation that died
HOST = socket.gethostname()  # process ids are only meaningful on the machine that recorded them
SOURCE_ID = re.compile(r"[0-9a-f]{24}")  # what DataSource.source_id() returns
LOG = logging.getLogger("detlens.preparation")


@dataclass(frozen=True)
class DataSource:
    """The arguments of :func:`detlens.core.io.load_dataset`: paths as strings, options as given."""

    labels: str
    predictions: str
    images: str | None = None
    fmt: str = "auto"
    box_format: str = "xyxy"
    names: str | None = None
    clip: bool = True
    pred_names: str | None = None

    def source_id(self) -> str:
        """Hash of the options and of every input file's path, size and modification time."""
        stats = []
        for path in (self.labels, self.predictions, self.names, self.pred_names):
            if path is None:
                continue
            p = Path(path)
            files = sorted(p.rglob("*")) if p.is_dir() else [p]
            stats += [(str(f.resolve()), f.stat().st_size, f.stat().st_mtime_ns) for f in files if f.exists()]
        doc = {"source": asdict(self), "files": stats, "version": CODE_VERSION,
               "images": None if self.images is None else str(Path(self.images).resolve())}
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:24]


DEMO_FILES = ("labels.json", "predictions.json", "README.txt")  # README.txt is written last


def demo_source(cache: SharedCache) -> DataSource:
    """The embedded demo data set in ``<cache dir>/demo``, written on first use (once across processes).

    Only ever written when ``demo`` is absent (or an empty folder): into a
    hidden folder beside it that is then renamed to ``demo``, so a complete demo
    appears at once and nothing already there is replaced.

    Raises:
        ValueError: ``demo`` exists but is not a complete demo (files detlens did not write).
    """
    import shutil
    import tempfile

    from detlens.core.demo import DemoConfig, write_demo

    out = cache.cache_dir / "demo"
    with cache.exclusive("demo", expire=600):
        if out.is_dir() and not any(out.iterdir()):
            out.rmdir()
        if not out.exists():
            building = Path(tempfile.mkdtemp(prefix=".demo-", dir=cache.cache_dir))
            try:
                write_demo(building, DemoConfig.preset("default"))
                building.rename(out)
            except BaseException:
                shutil.rmtree(building, ignore_errors=True)
                raise
        elif not all((out / name).is_file() for name in DEMO_FILES):
            raise ValueError(f"{out} holds files that are not the embedded demo: move them away, or give "
                             "--labels and --predictions")
    return DataSource(labels=str(out / "labels.json"), predictions=str(out / "predictions.json"),
                      images=str(out / "images"))


@dataclass(frozen=True)
class PreparationStatus:
    """How far the preparation of a data source has come.

    Attributes:
        state: "waiting", "loading", "ready" or "error" as recorded; "died" is never recorded but
            reported (see :meth:`has_died`) by :class:`detlens.app.preparation.PreparationSupervisor`.
        fraction: 0..1 done.
        text: what it is doing, or the error in one line.
        key: the dataset fingerprint once ready, else None.
        pid: the process preparing it while waiting or loading (None: nobody started one).
        host: the machine of ``pid``.
        heartbeat: when that process last showed it is alive (``time.time()`` seconds).
    """

    state: str = "waiting"
    fraction: float = 0.0
    text: str = "Waiting to start"
    key: str | None = None
    pid: int | None = None
    host: str | None = None
    heartbeat: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def running(self) -> bool:
        """True while waiting or loading."""
        return self.state in ("waiting", "loading")

    def has_died(self) -> bool:
        """True when a preparation process was started but is gone: its process ended (this machine) or
        its heartbeat is older than ``HEARTBEAT_STALE_S`` (any machine)."""
        if not self.running or self.pid is None:
            return False
        if time.time() - self.heartbeat > HEARTBEAT_STALE_S:
            return True
        return self.host == HOST and not process_alive(self.pid)


def read_status(cache: SharedCache, source_id: str) -> PreparationStatus:
    """The recorded :class:`PreparationStatus` of ``source_id`` ("waiting" when none)."""
    return cache.data.get(cache_key(Entry.STATUS, source_id), default=PreparationStatus())


def write_status(cache: SharedCache, source_id: str, status: PreparationStatus) -> None:
    """Record the :class:`PreparationStatus` of ``source_id`` for every process."""
    cache.data.set(cache_key(Entry.STATUS, source_id), status)


def _source_file(cache: SharedCache, source_id: str) -> Path | None:
    """``<cache dir>/sources/<source_id>.json``, or None for anything that is not a source id."""
    if not isinstance(source_id, str) or not SOURCE_ID.fullmatch(source_id):
        return None
    return cache.cache_dir / "sources" / f"{source_id}.json"


def remember_source(cache: SharedCache, source: DataSource, precompute: bool = True) -> None:
    """Record ``source`` (and whether to pre-compute the IoU thresholds after it) for :func:`remembered_source`.

    Written to a temporary name and renamed; a read-only cache keeps the previous record.
    """
    path = _source_file(cache, source.source_id())
    doc = json.dumps({"source": asdict(source), "precompute": bool(precompute)}, sort_keys=True)
    try:
        path.parent.mkdir(exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=".source-", delete=False) as out:
            out.write(doc)
        os.replace(out.name, path)
    except OSError as exc:
        LOG.warning("cannot record the data source in %s (%s)", path.parent, exc.strerror)


def remembered_source(cache: SharedCache, source_id: str) -> tuple[DataSource, bool] | None:
    """``(source, precompute)`` recorded for ``source_id`` by :func:`remember_source`, or None (unknown,
    or an unreadable record, which is deleted)."""
    path = _source_file(cache, source_id)
    if path is None or not path.is_file():
        return None
    try:
        doc = json.loads(path.read_text())
        names = {f.name for f in fields(DataSource)}
        source = DataSource(**{k: v for k, v in doc["source"].items() if k in names})
        return source, bool(doc["precompute"])
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        LOG.warning("cache: discarded the unreadable data source record %s (%s)", path, type(exc).__name__)
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)
        return None
