"""Server-side data of the dashboard: one diskcache shared by every process.

Everything large (the :class:`~detlens.core.dataset.Dataset`, its candidate IoU pairs,
its :class:`~detlens.core.metrics.tables.MetricTables`, match results) lives here,
keyed by the dataset fingerprint, so several gunicorn workers and Dash's
background-callback processes pointed at the same folder share it. Browsers
only ever hold the fingerprint (the *key*) and small JSON.

Layout of ``cache_dir``::

    data/       never evicted: prepared datasets and the preparation status
    results/    evicted least-recently-used: matches and memoised small results
    callbacks/  Dash's DiskcacheManager (see :mod:`detlens.app.server`)
    pixels/     pixel-metric cache of :func:`detlens.core.metrics.tables.compute_metric_tables`
    demo/       the embedded demo data set, written once
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import diskcache
import numpy as np

from detlens.core.evaluation import Evaluator
from detlens.core.matching import IGNORED

STORE_VERSION = 4  # bump when what is stored changes shape
DASHBOARD_MAX_ROWS = 50_000  # rows used by the importance ranking (CLI: 200,000); keeps an IoU change under 1 s
PR_POINTS = 200  # precision-recall points kept per class
DEFAULT_IOU = 0.5
DEFAULT_METRIC = "Object Area - Relative (L)"
WARM_IOUS = tuple(round(0.05 * k, 2) for k in range(1, 20))  # the IoU slider's values
_MISSING = object()

Progress = Callable[[float, str], None]  # progress(fraction 0..1, text)


@dataclass(frozen=True)
class DataSource:
    """Where a dataset comes from: the arguments of :func:`detlens.core.io.load_dataset`."""

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
        doc = {"source": asdict(self), "files": stats, "version": STORE_VERSION,
               "images": None if self.images is None else str(Path(self.images).resolve())}
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:24]


def normalise_params(iou: float, classes: list[str] | None, min_score: float | None) -> tuple:
    """``(iou, classes, min_score)`` in the canonical form used in cache keys."""
    iou = round(float(iou), 2)
    min_score = round(float(min_score), 2) if min_score else None
    classes = None if classes is None else sorted(str(c) for c in classes)
    return iou, classes, min_score


def thin_indices(n: int, points: int = PR_POINTS) -> np.ndarray:
    """``(K,)`` int64: at most ``points`` evenly spaced positions in ``0..n-1``, ends kept."""
    return np.arange(n) if n <= points else np.unique(np.linspace(0, n - 1, points).round().astype(int))


def thin_curve(recall: np.ndarray, precision: np.ndarray, points: int = PR_POINTS) -> tuple[list, list]:
    """At most ``points`` evenly spaced samples of a precision-recall curve, ends kept."""
    idx = thin_indices(int(recall.shape[0]), points)
    return [round(float(x), 4) for x in recall[idx]], [round(float(x), 4) for x in precision[idx]]


class DataStore:
    """Prepared datasets and memoised results in a diskcache folder shared across processes.

    Args:
        cache_dir: the folder (created when missing).
    """

    def __init__(self, cache_dir: str | Path):
        self.cache_dir = Path(cache_dir)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        self.data = diskcache.Cache(str(self.cache_dir / "data"), eviction_policy="none", size_limit=2**40)
        self.results = diskcache.Cache(str(self.cache_dir / "results"), size_limit=4 * 2**30,
                                       eviction_policy="least-recently-stored")  # reads never write

    # ----- locking and memoisation -------------------------------------------------------------
    @contextlib.contextmanager
    def exclusive(self, name: str, expire: float = 1800.0) -> Iterator[None]:
        """Hold a cross-process lock ``name`` (expires after ``expire`` s if its holder died)."""
        key = f"lock/{name}"
        while not self.data.add(key, os.getpid(), expire=expire):
            holder = self.data.get(key)
            if holder is not None and not _alive(holder):  # its holder was killed: take it over
                self.data.delete(key)
                continue
            time.sleep(0.02)
        try:
            yield
        finally:
            self.data.delete(key)

    def memo(self, key: str, compute: Callable[[], object]):
        """``compute()`` once per ``key`` across processes, then from the results cache."""
        return self._memo(key, compute)

    def _memo(self, key: str, compute: Callable[[], object]):
        value = self.results.get(key, default=_MISSING)
        if value is not _MISSING:
            return value
        with self.exclusive(key, expire=600):
            value = self.results.get(key, default=_MISSING)
            if value is _MISSING:
                value = compute()
                self.results.set(key, value)
        return value

    # ----- preparation ----------------------------------------------------------------------------
    def status(self, source_id: str) -> dict:
        """Preparation status: ``{"state": "waiting"|"loading"|"ready"|"error", "fraction", "text", "key"}``."""
        return self.data.get(f"status/{source_id}", default={"state": "waiting", "fraction": 0.0,
                                                             "text": "Waiting to start", "key": None})

    def _set_status(self, source_id: str, state: str, fraction: float, text: str, key: str | None = None) -> None:
        self.data.set(f"status/{source_id}", {"state": state, "fraction": float(fraction), "text": text, "key": key})

    def is_prepared(self, key: str | None) -> bool:
        """True when the dataset, its candidates and its metric tables are all cached."""
        return bool(key) and all(f"{key}/{part}" in self.data for part in ("dataset", "candidates", "other_class", "orders", "tables"))

    def prepare(self, source: DataSource, progress: Progress | None = None) -> str:
        """Load the dataset, compute candidate IoUs and metric tables once; return its key.

        A second call (another process, a later start) finds them in the cache and
        returns at once. Progress goes to ``progress`` and to :meth:`status`.

        Raises:
            ValueError, OSError: unreadable input (also recorded in :meth:`status`).
        """
        source_id = source.source_id()
        done = self.status(source_id)
        if done["state"] == "ready" and self.is_prepared(done["key"]):
            return done["key"]

        def report(fraction: float, text: str, state: str = "loading", key: str | None = None) -> None:
            self._set_status(source_id, state, fraction, text, key)
            if progress is not None:
                progress(fraction, text)

        with self.exclusive(f"prepare/{source_id}", expire=3600):
            done = self.status(source_id)
            if done["state"] == "ready" and self.is_prepared(done["key"]):
                return done["key"]
            try:
                key = self._prepare(source, report)
            except Exception as exc:
                self._set_status(source_id, "error", 0.0, f"Cannot read the dataset: {exc}")
                raise
            report(1.0, "Ready", "ready", key)
            return key

    def _prepare(self, source: DataSource, report: Callable[..., None]) -> str:
        from detlens.core.candidates import compute_candidates
        from detlens.core.io import load_dataset
        from detlens.core.matching import score_orders

        report(0.02, "Loading annotations")
        ds = load_dataset(source.labels, source.predictions, fmt=source.fmt, box_format=source.box_format,
                          images_dir=source.images, names_file=source.names, clip=source.clip)
        key = ds.fingerprint
        # the image registry the image route reads: small, and the only source of image paths
        self.data.set(f"{key}/images", {"dir": None if source.images is None else str(Path(source.images).resolve()),
                                        "file_names": [str(f) for f in ds.images.file_names],
                                        "widths": ds.images.widths.tolist(), "heights": ds.images.heights.tolist()})
        if not self.is_prepared(key):
            report(0.15, "Computing IoUs of overlapping boxes")
            self.data.set(f"{key}/dataset", ds)
            self.data.set(f"{key}/candidates", compute_candidates(ds))
            self.data.set(f"{key}/other_class", compute_candidates(ds, same_class=False))
            self.data.set(f"{key}/orders", score_orders(ds))
            tables = self._metric_tables(ds, source.images, lambda f, t: report(0.25 + 0.6 * f, t))
            self.data.set(f"{key}/tables", tables)
        report(0.9, "Preparing the default view")
        self.evaluation_doc(key, DEFAULT_IOU, None, None)
        self.ranking(key, DEFAULT_IOU, None, None, "predictions")
        return key

    def _metric_tables(self, ds, images: str | None, report: Progress):
        from detlens.core.metrics.tables import compute_metric_tables

        def on_images(done: int, total: int) -> None:
            report(done / max(total, 1), f"Computing image metrics: {done:,} of {total:,} images")

        report(0.0, "Computing quality metrics")
        if images is not None:
            return compute_metric_tables(ds, images, cache_dir=self.cache_dir / "pixels", progress=on_images)
        return compute_metric_tables(ds, None)

    def warm_thresholds(self, key: str, ious: tuple[float, ...] = WARM_IOUS) -> None:
        """Pre-compute the headline evaluation and the prediction-side ranking of every slider threshold.

        Run once per dataset after :meth:`prepare` (nearest thresholds to the
        default first), so moving the IoU slider finds its results cached.
        """
        if f"{key}/warmed" in self.data:
            return
        with self.exclusive(f"warm/{key}", expire=3600):
            if f"{key}/warmed" in self.data:
                return
            for iou in sorted(ious, key=lambda t: (abs(t - DEFAULT_IOU), t)):
                self.evaluation_doc(key, iou, None, None)
                self.ranking(key, iou, None, None, "predictions")
            self.data.set(f"{key}/warmed", True)

    # ----- prepared data --------------------------------------------------------------------------
    def _get(self, key: str, part: str):
        value = self.data.get(f"{key}/{part}", default=_MISSING)
        if value is _MISSING:
            raise ValueError(f"dataset {key} is not prepared in {self.cache_dir} (was the cache cleared? "
                             f"restart detlens serve)")
        return value

    def dataset(self, key: str):
        """The cached :class:`~detlens.core.dataset.Dataset`."""
        return self._get(key, "dataset")

    def images(self, key: str) -> dict:
        """Image registry: ``{"dir": images folder or None, "file_names", "widths", "heights"}`` (lists)."""
        return self._get(key, "images")

    def tables(self, key: str):
        """The cached :class:`~detlens.core.metrics.tables.MetricTables`."""
        return self._get(key, "tables")

    def evaluator(self, key: str) -> Evaluator:
        """An :class:`Evaluator` of the dataset with its candidate pairs loaded from the cache."""
        return Evaluator(self.dataset(key), candidates={False: self._get(key, "candidates")},
                         orders=self._get(key, "orders"), other_class={False: self._get(key, "other_class")})

    def summary(self, key: str) -> dict:
        """Small JSON: name, counts, class names, metric descriptions and levels, warnings."""
        def compute() -> dict:
            ds, tables = self.dataset(key), self.tables(key)
            return {"name": ds.name, "images": len(ds.images), "labels": len(ds.labels),
                    "predictions": len(ds.predictions), "classes": [str(c) for c in ds.category_names],
                    "metrics": {n: m.to_dict() for n, m in tables.info.items()},
                    "warnings": list(ds.warnings) + list(tables.warnings)}
        return self._memo(f"{key}/summary", compute)

    # ----- memoised results -------------------------------------------------------------------------
    @staticmethod
    def _params_key(*parts) -> str:
        return hashlib.sha1(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:20]

    def match(self, key: str, iou: float, min_score: float | None, evaluator: Evaluator | None = None):
        """The :class:`~detlens.core.matching.MatchResult` at ``iou`` (computed once, then cached).

        ``evaluator``: one already loaded by the caller, so the data are not read twice.
        """
        iou, _, min_score = normalise_params(iou, None, min_score)
        return self._memo(f"{key}/match/{iou:.2f}/{min_score}",
                          lambda: (evaluator or self.evaluator(key)).match(iou, min_score=min_score))

    def evaluation_doc(self, key: str, iou: float, classes: list[str] | None, min_score: float | None) -> dict:
        """``EvaluationResult.to_dict()`` plus ``"pr"``: thinned per-class precision-recall curves."""
        iou, classes, min_score = normalise_params(iou, classes, min_score)

        def compute() -> dict:
            ev = self.evaluator(key)
            m = self.match(key, iou, min_score, ev)
            result = ev.evaluate(iou, classes=classes, min_score=min_score, matches=m)
            doc = result.to_dict()
            doc["pr"] = {}
            ds = ev.dataset
            # the evaluation order (class, then score descending): the point after k predictions has score[k - 1]
            order = ev.orders().by_class
            order = order[(m.pred_outcome != IGNORED)[order]]
            bounds = np.searchsorted(ds.predictions.category_index[order], np.arange(ds.n_categories + 1))
            for k, c in zip(ds.category_indices(classes), result.per_class):
                recall, precision = thin_curve(c.recall, c.precision)
                scores = ds.predictions.scores[order[bounds[k]:bounds[k + 1]]]
                doc["pr"][c.name] = {"recall": recall, "precision": precision,
                                     "score": [float(s) for s in scores[thin_indices(scores.shape[0])]]}
            return doc
        return self._memo(f"{key}/eval2/{self._params_key(iou, classes, min_score)}", compute)

    def ranking(self, key: str, iou: float, classes: list[str] | None, min_score: float | None,
                side: str) -> list[dict]:
        """Metric importance and correlation of one side, most important first (``MetricDependency.to_dict``)."""
        from detlens.core.analysis import rank_metrics

        iou, classes, min_score = normalise_params(iou, classes, min_score)

        def compute() -> list[dict]:
            m = self.match(key, iou, min_score)
            ranked = rank_metrics(self.dataset(key), self.tables(key), m, classes, side, DASHBOARD_MAX_ROWS)
            return [d.to_dict() for d in ranked]
        return self._memo(f"{key}/rank/{self._params_key(iou, classes, min_score, side)}", compute)

    def buckets(self, key: str, iou: float, classes: list[str] | None, min_score: float | None, metric: str,
                n_buckets: int, method: str) -> dict:
        """Performance by metric (``BucketTable.to_dict()``)."""
        from detlens.core.analysis import performance_by_metric

        iou, classes, min_score = normalise_params(iou, classes, min_score)

        def compute() -> dict:
            m = self.match(key, iou, min_score)
            table = performance_by_metric(self.dataset(key), self.tables(key), m, metric, classes,
                                          int(n_buckets), method)
            return table.to_dict()
        params = self._params_key(iou, classes, min_score, metric, int(n_buckets), method)
        return self._memo(f"{key}/buckets/{params}", compute)


def _alive(pid) -> bool:
    """True when the process exists and is not a zombie (locks are only shared on one machine)."""
    import psutil

    try:
        return psutil.Process(int(pid)).status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, ValueError, TypeError):
        return False
    except psutil.AccessDenied:
        return True
