"""Preparing a data source once for every server process, and supervising the process that does it.

:func:`prepare` stores the dataset's threshold-independent parts in the shared
cache under its fingerprint and records its progress as a
:class:`~detlens.app.source.PreparationStatus` the page polls, with its process
id and a heartbeat renewed every ``HEARTBEAT_S`` by a thread (:class:`StatusReporter`).
A lock lets one process do the work while the others wait and then find it cached.

:func:`start_preparation` runs it in its own process beside the server, then
pre-computes the IoU slider's other values (nearest to the default first).
That process leads a process group of its own, which the pixel pass's
forkserver and workers join, and it takes the whole group down with it when
stopped (SIGTERM, sent by the server at exit) or when its parent disappears
(checked every ``PARENT_POLL_S``, so a killed server leaves nothing behind).

:class:`PreparationSupervisor` is what any web worker asks (through
:attr:`Queries.supervisor <detlens.app.queries.Queries.supervisor>`): the
status, reported as "died" when the process is gone; a restart (the page's
retry button); and an automatic restart when a ready dataset's prepared parts
are missing or damaged, or its status was lost with ``data/``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TextIO

import numpy as np

from detlens.app.cache import CacheNotWritable, Entry, SharedCache, cache_key, process_alive
from detlens.app.queries import Queries, ViewParams
from detlens.app.source import (HEARTBEAT_S, HOST, DataSource, PreparationStatus, read_status, remember_source,
                                remembered_source, write_status)
from detlens.core.explorer import ExplorerFilter
from detlens.core.packed_strings import PackedStrings
from detlens.core.settings import EXPLORER_SORT_DEFAULT, IOU_DEFAULT, IOU_SLIDER_VALUES, SCORE_SLIDER_VALUES
from detlens.core.vocabulary import Side

Progress = Callable[[float, str], None]  # progress(fraction 0..1, text)
PARENT_POLL_S = 0.5  # how often the preparation process checks that the server that started it is alive
STOP_WAIT_S = 5.0  # how long the server waits for a stopped preparation at exit


class Heartbeat:
    """A daemon thread that calls :meth:`renew` every ``HEARTBEAT_S`` while used as a context manager.

    :meth:`renew` runs under :attr:`lock` (which the subclass's own updates take too), and a cache that
    cannot be written only skips a beat.
    """

    def __init__(self, name: str):
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._beat, name=name, daemon=True)

    def renew(self) -> None:
        """Rewrite the statuses this heartbeat keeps alive (called with :attr:`lock` held)."""
        raise NotImplementedError

    def _beat(self) -> None:
        while not self.stopped.wait(HEARTBEAT_S):
            with self.lock, contextlib.suppress(CacheNotWritable):
                self.renew()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopped.set()
        self.thread.join()


class StatusReporter(Heartbeat):
    """Records one process's preparation status for every process, with a heartbeat thread renewing it.

    ``reporter(fraction, text, state="loading", key=None)`` writes the status
    (with this process's id, machine and the time) and passes the progress on
    to ``progress``. Used as a context manager, a daemon thread rewrites the last
    status with a fresh heartbeat every ``HEARTBEAT_S`` while it is running, so a
    long step without progress is not mistaken for a dead process.
    """

    def __init__(self, cache: SharedCache, source_id: str, progress: Progress | None = None):
        super().__init__("detlens-heartbeat")
        self.cache, self.source_id, self.progress = cache, source_id, progress
        self.current: PreparationStatus | None = None

    def __call__(self, fraction: float, text: str, state: str = "loading", key: str | None = None) -> None:
        status = PreparationStatus(state, float(fraction), text, key, os.getpid(), HOST, time.time())
        with self.lock:
            self.current = status
            write_status(self.cache, self.source_id, status)
        if self.progress is not None and state != "error":  # an error is printed on a line of its own
            self.progress(fraction, text)

    def renew(self) -> None:
        if self.current is not None and self.current.running:
            write_status(self.cache, self.source_id, replace(self.current, heartbeat=time.time()))


def prepare(queries: Queries, source: DataSource, progress: Progress | None = None) -> str:
    """Load the dataset, compute candidate IoUs and metric tables once; return its key.

    A second call (another process, a later start) finds them in the cache and
    returns at once. Progress goes to ``progress`` and to the recorded status.

    Raises:
        ValueError, OSError: unreadable input (also recorded in the status, in one line).
    """
    cache, source_id = queries.cache, source.source_id()
    if remembered_source(cache, source_id) is None:  # whoever started it, any server process can restart it
        remember_source(cache, source)
    done = read_status(cache, source_id)
    if done.state == "ready" and queries.is_prepared(done.key):
        return done.key
    with cache.exclusive(f"prepare/{source_id}", expire=3600), StatusReporter(cache, source_id, progress) as report:
        done = read_status(cache, source_id)
        if done.state == "ready" and queries.is_prepared(done.key):
            return done.key
        try:
            key = _prepare(queries, source, report)
        except Exception as exc:
            report(0.0, f"Cannot read the dataset: {exc}", "error")
            raise
        report(1.0, "Ready", "ready", key)
        return key


def _prepare(queries: Queries, source: DataSource, report: Callable[..., None]) -> str:
    from detlens.core.candidates import compute_candidates
    from detlens.core.io import load_dataset
    from detlens.core.matching import ignored_labels, matching_basis, score_orders

    cache = queries.cache
    report(0.02, "Loading annotations")
    handed = cache_key(Entry.LOADED, source.source_id())
    ds = cache.data.get(handed, default=None)  # loaded by `serve` to check the files: read, not parsed again
    if ds is None:
        ds = load_dataset(source.labels, source.predictions, fmt=source.fmt, box_format=source.box_format,
                          images_dir=source.images, names_file=source.names, clip=source.clip,
                          pred_names_file=source.pred_names)
    key = ds.fingerprint
    # the image registry the image routes read: small, and the only source of image paths; packed names and
    # arrays, not lists, so that a read (each thumbnail, each Explorer page) does not make an object per image
    cache.data.set(cache_key(Entry.IMAGES, key), {
        "dir": None if source.images is None else str(Path(source.images).resolve()),
        "file_names": PackedStrings(str(f) for f in ds.images.file_names),
        "widths": np.asarray(ds.images.widths, np.float64), "heights": np.asarray(ds.images.heights, np.float64)})
    if not queries.is_prepared(key):
        report(0.15, "Computing IoUs of overlapping boxes")
        # without images the metric tables are geometry alone: computed in a thread beside the candidates (numpy
        # lets go of the GIL in their array arithmetic); with images, the pixel pass keeps every core busy itself
        beside = None if source.images else InThread(lambda: _geometry_tables(cache, ds))
        cache.data.set(cache_key(Entry.DATASET, key), ds)
        candidates = compute_candidates(ds, label_ignored=ignored_labels(ds))
        cache.data.set(cache_key(Entry.CANDIDATES, key), candidates)
        other_class = compute_candidates(ds, same_class=False)
        cache.data.set(cache_key(Entry.OTHER_CLASS, key), other_class)
        orders = score_orders(ds)
        cache.data.set(cache_key(Entry.ORDERS, key), orders)
        # a new IoU threshold's match starts from it: 0.19 s instead of 0.26 s at 5M predictions
        cache.data.set(cache_key(Entry.MATCHING_BASIS, key),
                       matching_basis(ds, candidates, rank=orders.rank, other_class=other_class))
        del candidates, other_class, orders
        if beside is not None:
            report(0.6, "Computing quality metrics")
            tables = beside.result()
        else:
            tables = _metric_tables(cache, ds, source.images, lambda f, t: report(0.25 + 0.6 * f, t))
        cache.data.set(cache_key(Entry.TABLES, key), tables)
    with contextlib.suppress(CacheNotWritable):
        cache.data.delete(handed)  # stored under the dataset's own key now
    report(0.9, "Preparing the default view")
    default = ViewParams.of(key, iou=IOU_DEFAULT)
    # mAP@[.50:.95] of the default rule, for every class selection: in a thread beside the view's own match
    # and ranking (it shares no intermediate result with them)
    coco_range = InThread(lambda: _closing_connections(cache, lambda: queries.ap_by_iou(default)))
    queries.evaluation_doc(default)
    queries.ranking(default, Side.PREDICTIONS)
    coco_range.result()
    return key


class InThread(threading.Thread):
    """``compute()`` started at once in a thread of its own; :meth:`result` waits for it."""

    def __init__(self, compute: Callable[[], object]):
        super().__init__(name="detlens-beside", daemon=True)
        self.compute, self.value, self.error = compute, None, None
        self.start()

    def run(self) -> None:
        try:
            self.value = self.compute()
        except BaseException as exc:  # handed to the waiting thread, which reports it
            self.error = exc

    def result(self):
        """The value of ``compute()``; raises what it raised."""
        self.join()
        if self.error is not None:
            raise self.error
        return self.value


def _geometry_tables(cache: SharedCache, ds):
    """:func:`_metric_tables` without images, for a thread of its own (:func:`_closing_connections`)."""
    return _closing_connections(cache, lambda: _metric_tables(cache, ds, None, lambda f, t: None))


def _closing_connections(cache: SharedCache, compute: Callable[[], object]):
    """``compute()`` in a thread of its own, whose connections to ``data/`` and ``results/`` are closed when it
    ends (SQLite connections are per thread; one left open keeps its view of the database, so damage done to
    the file later would go unnoticed by this process)."""
    try:
        return compute()
    finally:
        cache.data.close()
        cache.results.close()


def _metric_tables(cache: SharedCache, ds, images: str | None, report: Progress):
    """The dataset's metric tables; what runs of one dataset share is computed by the first of them."""
    from detlens.core.metrics.tables import compute_metric_tables, compute_shared_metrics, shared_metrics_key

    def on_images(done: int, total: int) -> None:
        report(done / max(total, 1), f"Computing image metrics: {done:,} of {total:,} images")

    report(0.0, "Computing quality metrics")
    shared_key = cache_key(Entry.SHARED_METRICS, shared_metrics_key(ds))
    shared = cache.data.get(shared_key)
    if shared is None:
        shared = compute_shared_metrics(ds)
        cache.data.set(shared_key, shared)
    if images is not None:
        cache.folder("pixels").close()  # checked (a damaged database is moved aside) before the pixel pass opens it
        return compute_metric_tables(ds, images, cache_dir=cache.cache_dir / "pixels", progress=on_images,
                                     shared=shared)
    return compute_metric_tables(ds, None, shared=shared)


HANDED_OVER_S = 3600  # a dataset `serve` loaded and no preparation took is dropped after this long


def hand_over(cache: SharedCache, source: DataSource, dataset) -> None:
    """Leave ``dataset`` (just loaded from ``source``'s files by ``detlens serve`` to check them) for the
    preparation, so that it does not parse the same files again (10 s at 5M predictions).

    Keyed by :meth:`DataSource.source_id` (paths, sizes, modification times, options): a file changed since
    is loaded again. The preparation deletes it once the dataset is stored under its fingerprint.
    """
    cache.data.set(cache_key(Entry.LOADED, source.source_id()), dataset, expire=HANDED_OVER_S)


def is_ready(cache: SharedCache, source: DataSource) -> bool:
    """True when ``source`` has been prepared in ``cache`` and every prepared part is there, whole."""
    status = read_status(cache, source.source_id())
    return status.state == "ready" and Queries(cache).is_prepared(status.key)


def warm_thresholds(queries: Queries, key: str, ious: tuple[float, ...] = IOU_SLIDER_VALUES,
                    min_scores: tuple[float, ...] = SCORE_SLIDER_VALUES) -> None:
    """Pre-compute the headline evaluation and the prediction-side ranking of every IoU slider threshold,
    then, at every minimum-confidence slider value, mAP@[.50:.95] and the default IoU's headline
    evaluation and prediction-side ranking (default AP rule, every class), then the Explorer's first view
    (the default filter and order at the default IoU: its sorted rows).

    Run once per dataset after :func:`prepare` (nearest values to the defaults
    first), so moving either slider from the opening view finds the Metrics tab
    cached. mAP@[.50:.95] does not depend on the IoU slider or the classes, so
    one entry per minimum serves every view; it needs ten thresholds'
    evaluations, the longest part of a minimum-confidence step otherwise.
    """
    cache = queries.cache
    steps = {"thresholds": lambda: _warm_ious(queries, key, ious),
             # named after what it warms: a cache warmed before the headline and ranking joined it warms again
             "min_score_views": lambda: _warm_min_scores(queries, key, min_scores),
             "explorer": lambda: queries.explorer.filtered(ViewParams.of(key, iou=IOU_DEFAULT), ExplorerFilter(),
                                                           EXPLORER_SORT_DEFAULT, True)}
    for name, warm in steps.items():
        done = warmed_key(key, name)
        if done in cache.data:
            continue
        with cache.exclusive(f"warm/{key}/{name}", expire=3600):
            if done not in cache.data:
                warm()
                cache.data.set(done, True)


WARM_STEPS = ("thresholds", "min_score_views", "explorer")


def warmed_key(key: str, step: str) -> str:
    """The data-cache key set when ``step`` of :func:`warm_thresholds` is done for dataset ``key``."""
    return cache_key(Entry.WARMED, key) if step == "thresholds" else cache_key(Entry.WARMED, key, step)


def is_warmed(cache: SharedCache, key: str) -> bool:
    """True when every step of :func:`warm_thresholds` is done for dataset ``key``."""
    return all(warmed_key(key, step) in cache.data for step in WARM_STEPS)


def _warm_ious(queries: Queries, key: str, ious: tuple[float, ...]) -> None:
    for iou in sorted(ious, key=lambda t: (abs(t - IOU_DEFAULT), t)):
        view = ViewParams.of(key, iou=iou)
        queries.evaluation_doc(view)
        queries.ranking(view, Side.PREDICTIONS)


def _warm_min_scores(queries: Queries, key: str, min_scores: tuple[float, ...]) -> None:
    for min_score in sorted(min_scores):
        view = ViewParams.of(key, iou=IOU_DEFAULT, min_score=min_score)
        queries.evaluation_doc(view)
        queries.ranking(view, Side.PREDICTIONS)
        queries.ap_by_iou(view)


def text_progress(stream: TextIO = sys.stderr, width: int = 30) -> Progress:
    """A one-line progress bar for the terminal: ``progress(fraction, text)``."""
    def show(fraction: float, text: str) -> None:
        filled = int(round(width * fraction))
        end = "\n" if fraction >= 1.0 else ""
        stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {100 * fraction:5.1f}%  {text:<60.60}{end}")
        stream.flush()
    return show


def _stop_own_group(*_) -> None:
    """Kill this process's group: this preparation and everything it started (the pixel pass's
    forkserver, its workers, the resource tracker). Only ever called in the group's leader."""
    if os.getpgid(0) == os.getpid():
        os.killpg(os.getpid(), signal.SIGKILL)
    os._exit(1)


def _watch_parent(parent_pid: int) -> None:
    """Stop this process's group as soon as the process that started it is gone (e.g. killed with SIGKILL)."""
    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(PARENT_POLL_S)
        _stop_own_group()
    threading.Thread(target=watch, name="detlens-parent-watch", daemon=True).start()


def _prepare_process(cache_dir: str, sources: list[DataSource], show_progress: bool, precompute: bool,
                     parent_pid: int) -> None:
    """Prepare ``sources`` one after the other (in order), then pre-compute the thresholds of each."""
    os.setpgid(0, 0)  # lead a group: every process the preparation starts joins it and is stopped with it
    signal.signal(signal.SIGTERM, _stop_own_group)
    signal.signal(signal.SIGTTOU, signal.SIG_IGN)  # may draw progress on the terminal from outside its foreground
    _watch_parent(parent_pid)
    queries = Queries(SharedCache(cache_dir))
    keys = []
    with QueuedHeartbeat(queries.cache, [source.source_id() for source in sources]) as queue:
        for source in sources:
            queue.take(source.source_id())
            try:
                keys.append(prepare(queries, source, text_progress() if show_progress else None))
            except Exception as exc:  # the page shows it from the status; the terminal too
                print(f"\ndetlens: error: {exc}", file=sys.stderr)
    if precompute:
        for key in keys:
            warm_thresholds(queries, key)


class QueuedHeartbeat(Heartbeat):
    """Keeps the "waiting" statuses of the sources a preparation process has yet to start alive.

    Their statuses name this process; without a heartbeat they would read as a
    dead preparation (:meth:`PreparationStatus.has_died`) while an earlier source
    takes longer than ``HEARTBEAT_STALE_S``. A daemon thread renews each queued
    source's status every ``HEARTBEAT_S`` while it is still this process's
    "waiting" one; :meth:`take` leaves a source to :func:`prepare`'s own reporter.
    """

    def __init__(self, cache: SharedCache, source_ids: list[str]):
        super().__init__("detlens-queue-heartbeat")
        self.cache, self.queued = cache, list(source_ids)

    def take(self, source_id: str) -> None:
        """``source_id`` is being prepared now: its status is no longer renewed here."""
        with self.lock:
            if source_id in self.queued:
                self.queued.remove(source_id)

    def renew(self) -> None:
        for source_id in self.queued:
            status = read_status(self.cache, source_id)
            if status.state == "waiting" and status.pid == os.getpid():
                write_status(self.cache, source_id, replace(status, heartbeat=time.time()))


def stop_leftovers(status: PreparationStatus) -> None:
    """Kill what is left of the process group of a preparation that died on this machine (its pixel workers).

    Only when its leader is gone: a group id cannot be reused while the group
    has members, so the signal reaches nothing else.
    """
    if status.pid is None or status.host != HOST or process_alive(status.pid):
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(status.pid, signal.SIGKILL)


def _stop_at_exit(process, starter: int) -> None:
    # forked web workers inherit this handler: only the process that started the preparation stops it
    if os.getpid() != starter or not process.is_alive():
        return
    process.terminate()  # its SIGTERM handler kills its whole group
    process.join(STOP_WAIT_S)
    if process.is_alive():
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)


def start_preparation(cache: SharedCache, sources: DataSource | list[DataSource], show_progress: bool = False,
                      precompute: bool = True):
    """Prepare ``sources`` one after the other in a separate process, then pre-compute the other IoU thresholds
    of each; return the process.

    A process, not a thread: the server forks background jobs, and a fork while
    another thread is inside SQLite (diskcache) deadlocks the child. Failures are
    recorded in the status, which the page shows. The process is stopped with the
    server that started it, whichever way that ends (see the module docstring).
    Sources a live process is already preparing (another web worker started it)
    are left to it; returns None, starting nothing, when that is all of them.
    The sources after the first wait in order, their status saying so.
    """
    import atexit
    import multiprocessing

    sources = [sources] if isinstance(sources, DataSource) else list(sources)
    ids = [source.source_id() for source in sources]
    for source in sources:
        remember_source(cache, source, precompute)
    with contextlib.ExitStack() as locks:
        for source_id in sorted(set(ids)):  # one order in every process: no deadlock
            locks.enter_context(cache.exclusive(f"start/{source_id}", expire=60))
        statuses = {source_id: read_status(cache, source_id) for source_id in ids}
        todo = list({source_id: source for source, source_id in zip(sources, ids)  # each source once, in order
                     if not (statuses[source_id].running and statuses[source_id].pid is not None
                             and not statuses[source_id].has_died())}.items())
        if not todo:
            return None
        for source_id, _ in todo:
            stop_leftovers(statuses[source_id])
        # not a daemon: the pixel pass starts worker processes of its own
        process = multiprocessing.get_context("spawn").Process(
            target=_prepare_process, name="detlens-prepare",
            args=(str(cache.cache_dir), [source for _, source in todo], show_progress, precompute, os.getpid()))
        process.start()
        prepared = Queries(cache)
        for number, (source_id, _) in enumerate(todo):
            status = statuses[source_id]
            if status.state == "ready" and prepared.is_prepared(status.key):
                continue
            text = "Starting" if number == 0 else f"Waiting: {number} other run{'s' if number > 1 else ''} first"
            with cache.data.transact():  # unless the new process has already written its own
                if read_status(cache, source_id).pid != process.pid:
                    write_status(cache, source_id, PreparationStatus("waiting", 0.0, text, None, process.pid,
                                                                     HOST, time.time()))
    atexit.register(_stop_at_exit, process, os.getpid())
    return process


class PreparationSupervisor:
    """What every web worker knows about the preparation of a data source, and how it starts one again.

    Args:
        queries: the query service over the shared cache.
    """

    def __init__(self, queries: Queries):
        self.queries = queries
        self.cache = queries.cache

    def status(self, source_id: str) -> PreparationStatus:
        """The :class:`PreparationStatus` of ``source_id`` as the page shows it.

        * "died" when its process is gone (its leftover processes are killed);
        * a preparation is started again, and its status returned, when a ready
          dataset's prepared parts are missing or damaged, or when the status was
          lost (``data/`` moved aside) for a source this cache remembers;
        * otherwise as recorded ("waiting" for a source nobody has started yet).
        """
        import multiprocessing

        multiprocessing.active_children()  # reaps a preparation this process started and that ended
        status = read_status(self.cache, source_id)
        if status.state == "error" or (status.state == "ready" and self.queries.is_prepared(status.key)):
            return status
        if status.running and status.pid is not None:
            if not status.has_died():
                return status
            stop_leftovers(status)
            return replace(status, state="died", text="The preparation stopped unexpectedly (its process ended, "
                           f"perhaps for lack of memory) at: {status.text}")
        if self.restart(source_id):
            return read_status(self.cache, source_id)
        if status.state == "ready":  # its prepared parts are gone, and nothing here knows how to make them
            return PreparationStatus("error", 0.0, "The prepared data of this dataset are gone and this server "
                                     "cannot prepare them again: restart detlens serve.")
        return status

    def restart(self, source_id: str) -> bool:
        """Start the preparation of ``source_id`` again unless a live process is at it; False when this
        cache does not know the source (see :func:`~detlens.app.source.remember_source`)."""
        known = remembered_source(self.cache, source_id)
        if known is None:
            return False
        source, precompute = known
        if source.source_id() != source_id:  # its files changed since: the page's source is gone
            write_status(self.cache, source_id, PreparationStatus(
                "error", 0.0, "The data files changed since the server started: restart detlens serve."))
            return True
        start_preparation(self.cache, source, show_progress=False, precompute=precompute)
        return True
