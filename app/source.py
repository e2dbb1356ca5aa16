"""Where a dataset comes from, and the identity of that source.

A :class:`DataSource` names the input files and the options to read them with;
its :meth:`~DataSource.source_id` changes when any of them changes, so a new
file version is prepared again while an unchanged one is found in the cache.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from detlens.app.cache import CODE_VERSION, Entry, SharedCache, cache_key


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

    def source_id(self) -> str:
        """Hash of the options and of every input file's path, size and modification time."""
        stats = []
        for path in (self.labels, self.predictions, self.names):
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
        state: "waiting", "loading", "ready" or "error".
        fraction: 0..1 done.
        text: what it is doing, or the error in one line.
        key: the dataset fingerprint once ready, else None.
    """

    state: str = "waiting"
    fraction: float = 0.0
    text: str = "Waiting to start"
    key: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def read_status(cache: SharedCache, source_id: str) -> PreparationStatus:
    """The recorded :class:`PreparationStatus` of ``source_id`` ("waiting" when none)."""
    return cache.data.get(cache_key(Entry.STATUS, source_id), default=PreparationStatus())


def write_status(cache: SharedCache, source_id: str, status: PreparationStatus) -> None:
    """Record the :class:`PreparationStatus` of ``source_id`` for every process."""
    cache.data.set(cache_key(Entry.STATUS, source_id), status)
