"""Preparing a data source once for every server process: load, candidate IoUs, metric tables.

:func:`prepare` stores the dataset's threshold-independent parts in the shared
cache under its fingerprint and records its progress as a
:class:`~detlens.app.source.PreparationStatus` the page polls. A lock lets one
process do the work while the others wait and then find it cached.
:func:`start_preparation` runs it in its own process beside the server, then
pre-computes the IoU slider's other values (nearest to the default first).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from detlens.app.cache import Entry, SharedCache, cache_key
from detlens.app.queries import Queries, ViewParams
from detlens.app.source import DataSource, PreparationStatus, read_status, write_status
from detlens.core.settings import IOU_DEFAULT, IOU_SLIDER_VALUES
from detlens.core.vocabulary import Side

Progress = Callable[[float, str], None]  # progress(fraction 0..1, text)


def prepare(queries: Queries, source: DataSource, progress: Progress | None = None) -> str:
    """Load the dataset, compute candidate IoUs and metric tables once; return its key.

    A second call (another process, a later start) finds them in the cache and
    returns at once. Progress goes to ``progress`` and to the recorded status.

    Raises:
        ValueError, OSError: unreadable input (also recorded in the status, in one line).
    """
    cache, source_id = queries.cache, source.source_id()
    done = read_status(cache, source_id)
    if done.state == "ready" and queries.is_prepared(done.key):
        return done.key

    def report(fraction: float, text: str, state: str = "loading", key: str | None = None) -> None:
        write_status(cache, source_id, PreparationStatus(state, float(fraction), text, key))
        if progress is not None:
            progress(fraction, text)

    with cache.exclusive(f"prepare/{source_id}", expire=3600):
        done = read_status(cache, source_id)
        if done.state == "ready" and queries.is_prepared(done.key):
            return done.key
        try:
            key = _prepare(queries, source, report)
        except Exception as exc:
            write_status(cache, source_id, PreparationStatus("error", 0.0, f"Cannot read the dataset: {exc}"))
            raise
        report(1.0, "Ready", "ready", key)
        return key


def _prepare(queries: Queries, source: DataSource, report: Callable[..., None]) -> str:
    from detlens.core.candidates import compute_candidates
    from detlens.core.io import load_dataset
    from detlens.core.matching import score_orders

    cache = queries.cache
    report(0.02, "Loading annotations")
    ds = load_dataset(source.labels, source.predictions, fmt=source.fmt, box_format=source.box_format,
                      images_dir=source.images, names_file=source.names, clip=source.clip)
    key = ds.fingerprint
    # the image registry the image routes read: small, and the only source of image paths
    cache.data.set(cache_key(Entry.IMAGES, key), {
        "dir": None if source.images is None else str(Path(source.images).resolve()),
        "file_names": [str(f) for f in ds.images.file_names],
        "widths": ds.images.widths.tolist(), "heights": ds.images.heights.tolist()})
    if not queries.is_prepared(key):
        report(0.15, "Computing IoUs of overlapping boxes")
        cache.data.set(cache_key(Entry.DATASET, key), ds)
        cache.data.set(cache_key(Entry.CANDIDATES, key), compute_candidates(ds))
        cache.data.set(cache_key(Entry.OTHER_CLASS, key), compute_candidates(ds, same_class=False))
        cache.data.set(cache_key(Entry.ORDERS, key), score_orders(ds))
        tables = _metric_tables(cache, ds, source.images, lambda f, t: report(0.25 + 0.6 * f, t))
        cache.data.set(cache_key(Entry.TABLES, key), tables)
    report(0.9, "Preparing the default view")
    default = ViewParams.of(key, iou=IOU_DEFAULT)
    queries.evaluation_doc(default)
    queries.ranking(default, Side.PREDICTIONS)
    return key


def _metric_tables(cache: SharedCache, ds, images: str | None, report: Progress):
    from detlens.core.metrics.tables import compute_metric_tables

    def on_images(done: int, total: int) -> None:
        report(done / max(total, 1), f"Computing image metrics: {done:,} of {total:,} images")

    report(0.0, "Computing quality metrics")
    if images is not None:
        return compute_metric_tables(ds, images, cache_dir=cache.cache_dir / "pixels", progress=on_images)
    return compute_metric_tables(ds, None)


def warm_thresholds(queries: Queries, key: str, ious: tuple[float, ...] = IOU_SLIDER_VALUES) -> None:
    """Pre-compute the headline evaluation and the prediction-side ranking of every slider threshold.

    Run once per dataset after :func:`prepare` (nearest thresholds to the
    default first), so moving the IoU slider finds its results cached.
    """
    cache, done = queries.cache, cache_key(Entry.WARMED, key)
    if done in cache.data:
        return
    with cache.exclusive(f"warm/{key}", expire=3600):
        if done in cache.data:
            return
        for iou in sorted(ious, key=lambda t: (abs(t - IOU_DEFAULT), t)):
            view = ViewParams.of(key, iou=iou)
            queries.evaluation_doc(view)
            queries.ranking(view, Side.PREDICTIONS)
        cache.data.set(done, True)


def text_progress(stream: TextIO = sys.stderr, width: int = 30) -> Progress:
    """A one-line progress bar for the terminal: ``progress(fraction, text)``."""
    def show(fraction: float, text: str) -> None:
        filled = int(round(width * fraction))
        end = "\n" if fraction >= 1.0 else ""
        stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {100 * fraction:5.1f}%  {text:<60.60}{end}")
        stream.flush()
    return show


def _prepare_process(cache_dir: str, source: DataSource, show_progress: bool, precompute: bool) -> None:
    queries = Queries(SharedCache(cache_dir))
    try:
        key = prepare(queries, source, text_progress() if show_progress else None)
    except Exception as exc:  # the page shows it from the status; the terminal too
        print(f"\ndetlens: error: {exc}", file=sys.stderr)
        return
    if precompute:
        warm_thresholds(queries, key)


def start_preparation(cache: SharedCache, source: DataSource, show_progress: bool = False, precompute: bool = True):
    """Prepare ``source`` (then pre-compute the other IoU thresholds) in a separate process; return it.

    A process, not a thread: the server forks background jobs, and a fork while
    another thread is inside SQLite (diskcache) deadlocks the child. Failures are
    recorded in the status, which the page shows.
    """
    import atexit
    import multiprocessing

    # not a daemon: the pixel pass starts worker processes of its own
    process = multiprocessing.get_context("spawn").Process(
        target=_prepare_process, args=(str(cache.cache_dir), source, show_progress, precompute),
        name="detlens-prepare")
    process.start()
    atexit.register(process.terminate)  # stop it with the server instead of waiting for it
    return process
