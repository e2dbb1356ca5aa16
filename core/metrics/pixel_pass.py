"""The one pass over the image files that computes every pixel metric.

Each image is decoded once (Pillow, full resolution); its frame metrics, its
descriptor and the object metrics of all its labels and predictions come from
that decode (:mod:`detlens.core.metrics.pixels`). Images are spread over processes in
chunks; results can be kept in a disk cache so a second run decodes nothing.

The cache keeps two parts per image, so runs of one dataset share what depends on
the dataset alone:

* the *image part* (frame metrics, descriptor, label metrics, decoded size), keyed by
  the file (path, size, mtime), the image's label boxes and its dataset size;
* the *prediction part* (prediction metrics), keyed by the file, the image's
  prediction boxes and its dataset size.

Another run of the same dataset finds every image part: it decodes an image only
for its own predictions' metrics (pixels are needed for those), skips the
frame-only work, and decodes nothing for an image without predictions.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import sqlite3
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Callable

import numpy as np
from PIL import Image

from detlens.core.dataset import Dataset
from detlens.core.metrics.pixels import DESCRIPTOR_SIDE, FRAME_METRICS, OBJECT_METRICS, DecodedImage, uniqueness

METRIC_VERSION = 1  # bump when a definition changes: invalidates every cache entry
UNIQUENESS = "Uniqueness (F)"
_DIM = DESCRIPTOR_SIDE * DESCRIPTOR_SIDE
_SHOW = 5  # file names listed in a warning


@dataclass(frozen=True, eq=False)
class PixelMetrics:
    """Result of :func:`compute_pixel_metrics`; missing values are NaN.

    Attributes:
        frame: ``{name: (n_images,) float64}`` for :data:`FRAME_METRICS` and ``"Uniqueness (F)"``.
        labels: ``{name: (n_labels,) float64}`` for :data:`OBJECT_METRICS` (no level suffix).
        predictions: ``{name: (n_predictions,) float64}``, same names.
        decoded: images decoded by this call.
        cached: images whose values all came from the disk cache.
        shared: images whose frame and label values came from the disk cache (another run of
            the dataset) while their prediction values were computed.
        failed: images that could not be read (their values are NaN).
        warnings: human-readable, counted notes (unreadable files, size mismatches).
    """

    frame: dict[str, np.ndarray]
    labels: dict[str, np.ndarray]
    predictions: dict[str, np.ndarray]
    decoded: int
    cached: int
    shared: int
    failed: int
    warnings: tuple[str, ...]

    def to_dict(self) -> dict:
        """Small JSON-ready summary (counts and warnings, no arrays)."""
        n = len(next(iter(self.frame.values()))) if self.frame else 0
        return {"images": n, "labels": len(self.labels[OBJECT_METRICS[0]]),
                "predictions": len(self.predictions[OBJECT_METRICS[0]]), "decoded": self.decoded,
                "cached": self.cached, "shared": self.shared, "failed": self.failed, "warnings": list(self.warnings),
                "metric_version": METRIC_VERSION}


def is_safe_file_name(name: object) -> bool:
    """A relative file name without '..' components (never read anything else)."""
    if not isinstance(name, str) or not name or "\x00" in name:
        return False
    if PurePosixPath(name).is_absolute() or PureWindowsPath(name).is_absolute() or PureWindowsPath(name).drive:
        return False
    return ".." not in name.replace("\\", "/").split("/")


def _process_image(path: str, label_boxes: np.ndarray | None, pred_boxes: np.ndarray,
                   size: tuple[float, float]) -> dict:
    """Decode one file and compute its metrics; ``{"error": reason}`` when unreadable.

    ``label_boxes`` None computes only the prediction part (the image part is cached):
    ``{"predictions", "size"}``; otherwise also ``"frame"``, ``"descriptor"`` and ``"labels"``.
    """
    try:
        with Image.open(path) as im:
            im.load()
            dec = DecodedImage(im if im.mode == "RGB" else im.convert("RGB"))  # owns copies of the planes
    except FileNotFoundError:
        return {"error": "missing"}
    except (IsADirectoryError, PermissionError):
        return {"error": "unreadable"}
    except Image.DecompressionBombError:
        return {"error": "too large"}
    except Exception:  # truncated, not an image, bad header: never crash the pass
        return {"error": "corrupt"}
    w, h = dec.width, dec.height
    sx = w / size[0] if np.isfinite(size[0]) and size[0] > 0 else 1.0
    sy = h / size[1] if np.isfinite(size[1]) and size[1] > 0 else 1.0
    scale = np.array([sx, sy, sx, sy])
    if sx != 1.0 or sy != 1.0:
        pred_boxes = pred_boxes * scale
        label_boxes = None if label_boxes is None else label_boxes * scale
    if label_boxes is None:
        _, (pred,) = dec.analyse(pred_boxes, with_frame=False)
        return {"predictions": pred, "size": (w, h)}
    frame, (lab, pred) = dec.analyse(label_boxes, pred_boxes)
    return {"frame": frame, "descriptor": dec.descriptor(), "labels": lab, "predictions": pred, "size": (w, h)}


def _run_chunk(tasks: list[tuple]) -> list[tuple[int, dict]]:
    """Worker entry point: ``[(image index, path, label boxes or None, pred boxes, size)]``."""
    return [(i, _process_image(path, lb, pb, size)) for i, path, lb, pb, size in tasks]


def _part_key(part: str, path: str, stat: os.stat_result, boxes: np.ndarray, size) -> tuple:
    """Cache key of an image's ``"image"`` part (given its label boxes) or ``"predictions"`` part."""
    h = hashlib.sha1(np.ascontiguousarray(boxes, np.float64).tobytes())
    h.update(b"|")
    h.update(np.array(size, np.float64).tobytes())
    return ("pixel-" + part, path, stat.st_size, stat.st_mtime_ns, METRIC_VERSION, h.hexdigest())


def _cached(cache, key: tuple) -> dict | None:
    """The cached part under ``key``; None when absent or damaged (a damaged entry is dropped, then recomputed)."""
    try:
        return cache.get(key)
    except Exception:  # a truncated or unreadable value file: any unpickling error
        try:
            cache.delete(key)
        except Exception:  # a read-only cache: recomputed each time, never stored
            pass
        return None


def _store(cache, key: tuple, value: dict) -> None:
    """Cache ``value``; a cache that cannot be written (read-only, disk full) only costs a recomputation later."""
    try:
        cache.set(key, value)
    except (OSError, sqlite3.Error):
        pass


def _image_part(res: dict) -> dict:
    return {k: res[k] for k in ("frame", "descriptor", "labels", "size")}


def _summarise(what: str, notes: list[tuple[int, str]]) -> str:
    items = [note for _, note in sorted(notes)]
    more = ", ..." if len(items) > _SHOW else ""
    return f"{len(items)} image{'s' if len(items) != 1 else ''} {what}: {', '.join(items[:_SHOW])}{more}"


def compute_pixel_metrics(
    dataset: Dataset,
    images_dir: str | Path,
    *,
    cache_dir: str | Path | None = None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> PixelMetrics:
    """Compute every pixel metric of a dataset in one pass over its image files.

    Args:
        dataset: images, labels and predictions (boxes in the dataset's pixel units).
        images_dir: folder the dataset's relative ``file_name``s are resolved against.
        cache_dir: optional :class:`diskcache.Cache` folder; an image's part (see the module
            docstring) is recomputed only when its path, size, mtime, its boxes or
            :data:`METRIC_VERSION` change.
        workers: processes; default ``os.cpu_count()``; ``1`` runs in this process.
        progress: ``progress(done, total)`` called as images complete (``total`` = images).

    Returns:
        :class:`PixelMetrics`; unreadable images get NaN values and a counted warning.
    """
    n = len(dataset.images)
    root = Path(images_dir).resolve()
    labels, preds = dataset.labels, dataset.predictions
    lab_groups = _groups(labels.image_index, n)
    pred_groups = _groups(preds.image_index, n)
    frame = np.full((n, len(FRAME_METRICS)), np.nan)
    desc = np.full((n, _DIM), np.nan, np.float32)
    lab_out = np.full((len(labels), len(OBJECT_METRICS)), np.nan)
    pred_out = np.full((len(preds), len(OBJECT_METRICS)), np.nan)
    failures: list[tuple[int, str]] = []  # (image index, note): listed in image order
    resized: list[tuple[int, str]] = []
    cache = _open_cache(cache_dir)
    todo, keys, shared_images = [], {}, {}
    done = cached = decoded = shared = 0
    names = dataset.images.file_names

    def store(i: int, res: dict) -> None:
        """Keep an image's values: a full result, or a cached image part merged with a prediction part."""
        if "error" in res:
            failures.append((i, f"{names[i]} ({res['error']})"))
            return
        frame[i], desc[i] = res["frame"], res["descriptor"]
        lab_out[lab_groups[i]], pred_out[pred_groups[i]] = res["labels"], res["predictions"]
        ds_w, ds_h = dataset.images.widths[i], dataset.images.heights[i]
        if np.isfinite(ds_w) and np.isfinite(ds_h) and (ds_w, ds_h) != tuple(map(float, res["size"])):
            resized.append((i, f"{names[i]} (dataset {ds_w:g}x{ds_h:g}, file {res['size'][0]}x{res['size'][1]})"))

    try:
        for i in range(n):
            name = names[i]
            if not is_safe_file_name(name):
                failures.append((i, f"{name!r} (rejected file name)"))
                continue
            path = str(root / name)
            lb, pb = labels.boxes[lab_groups[i]], preds.boxes[pred_groups[i]]
            size = (float(dataset.images.widths[i]), float(dataset.images.heights[i]))
            if cache is not None:
                try:
                    stat = os.stat(path)
                except OSError:
                    stat = None
                if stat is not None:
                    keys[i] = (_part_key("image", path, stat, lb, size), _part_key("predictions", path, stat, pb, size))
                    image = _cached(cache, keys[i][0])
                    if image is not None:
                        found = _cached(cache, keys[i][1]) if len(pb) else {"predictions": np.empty((0, len(OBJECT_METRICS)))}
                        if found is not None:
                            store(i, {**image, "predictions": found["predictions"]})
                            cached += 1
                            continue
                        shared_images[i] = image  # kept until its predictions are computed: nothing half-stored
                        todo.append((i, path, None, pb, size))
                        continue
            todo.append((i, path, lb, pb, size))
        done = n - len(todo)
        if progress is not None:
            progress(done, n)
        for results in _execute(todo, workers):
            for i, res in results:
                image = shared_images.pop(i, None)
                store(i, res if image is None or "error" in res else {**image, "predictions": res["predictions"]})
                decoded += "error" not in res
                shared += image is not None and "error" not in res
                if cache is not None and i in keys and "error" not in res:
                    if image is None:
                        _store(cache, keys[i][0], _image_part(res))
                    if len(pred_groups[i]):
                        _store(cache, keys[i][1], {"predictions": res["predictions"]})
            done += len(results)
            if progress is not None:
                progress(done, n)
    finally:
        if cache is not None:
            cache.close()

    out_frame = {name: frame[:, j].copy() for j, name in enumerate(FRAME_METRICS)}
    out_frame[UNIQUENESS] = uniqueness(desc)
    warnings = []
    if failures:
        warnings.append(_summarise("could not be read", failures))
    if resized:
        warnings.append(_summarise("differ in size from the dataset's width/height (boxes were scaled)", resized))
    return PixelMetrics(
        frame=out_frame,
        labels={name: lab_out[:, j].copy() for j, name in enumerate(OBJECT_METRICS)},
        predictions={name: pred_out[:, j].copy() for j, name in enumerate(OBJECT_METRICS)},
        decoded=decoded, cached=cached, shared=shared, failed=len(failures), warnings=tuple(warnings),
    )


def _groups(image_index: np.ndarray, n: int) -> list[np.ndarray]:
    """Row indices of each image's boxes, in file order."""
    order = np.argsort(image_index, kind="stable")
    bounds = np.searchsorted(image_index[order], np.arange(n + 1))
    return [order[bounds[i]:bounds[i + 1]] for i in range(n)]


def _open_cache(cache_dir):
    if cache_dir is None:
        return None
    import diskcache

    return diskcache.Cache(str(cache_dir))


def _execute(todo: list[tuple], workers: int | None):
    """Yield lists of ``(index, result)`` as chunks of images complete."""
    workers = max(1, int(workers or os.cpu_count() or 1))
    if not todo:
        return
    if workers == 1 or len(todo) == 1:
        step = 16
        for start in range(0, len(todo), step):
            yield _run_chunk(todo[start:start + step])
        return
    step = max(1, min(32, len(todo) // (workers * 8)))
    chunks = [todo[s:s + step] for s in range(0, len(todo), step)]
    with ProcessPoolExecutor(max_workers=min(workers, len(chunks)), mp_context=_mp_context()) as pool:
        futures = [pool.submit(_run_chunk, c) for c in chunks]
        for fut in as_completed(futures):
            yield fut.result()


def _mp_context():
    """'forkserver' where available: safe when the caller (a Dash server) has threads."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def text_progress(stream=sys.stderr, width: int = 30, label: str = "pixel metrics") -> Callable[[int, int], None]:
    """A ``progress(done, total)`` callback drawing a one-line text bar on ``stream``."""
    state = {"last": -1.0, "start": time.monotonic()}

    def update(done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - state["last"] < 0.1:
            return
        state["last"] = now
        frac = done / total if total else 1.0
        bar = "#" * int(frac * width)
        elapsed = now - state["start"]
        stream.write(f"\r{label} [{bar:<{width}}] {done}/{total} {frac:4.0%} {elapsed:5.1f}s")
        if done >= total:
            stream.write("\n")
        stream.flush()

    return update
