"""All metric values of a dataset: frame, prediction and label columns.

:func:`compute_metric_tables` gathers the geometry metrics (always), the
pixel metrics (when an image folder is given), custom metrics from numeric
extra fields of the annotations, and custom frame metrics from a CSV keyed by
image ``file_name``. Missing values are NaN and stay NaN.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from detlens.core.dataset import Dataset
from detlens.core.metrics.geometry import frame_geometry, object_geometry
from detlens.core.metrics.registry import BUILTIN_METRICS, FRAME, LABEL, PREDICTION, MetricInfo, custom_metric, level_of

# Extra annotation fields that are flags, not metrics.
_NOT_METRICS = {"difficult", "ignore", "truncated", "occluded"}


@dataclass(frozen=True, eq=False)
class MetricTables:
    """Metric values of one dataset.

    Attributes:
        frame: ``{name: (n_images,) float64}`` for ``(F)`` metrics.
        predictions: ``{name: (P,) float64}`` for ``(P)`` metrics.
        labels: ``{name: (L,) float64}`` for ``(L)`` metrics.
        info: ``{name: MetricInfo}`` for every metric present.
        warnings: notes from computing them (unreadable images, ...).
    """

    frame: dict[str, np.ndarray]
    predictions: dict[str, np.ndarray]
    labels: dict[str, np.ndarray]
    info: dict[str, MetricInfo]
    warnings: tuple[str, ...] = field(default=())

    def names(self, level: str | None = None) -> list[str]:
        """Metric names (catalogue order, custom ones last), optionally of one level."""
        return [n for n in self.info if level is None or self.info[n].level == level]

    def prediction_side(self) -> list[str]:
        """Metrics that describe predictions: ``(P)`` and ``(F)``."""
        return [n for n in self.info if self.info[n].level in (PREDICTION, FRAME)]

    def label_side(self) -> list[str]:
        """Metrics that describe labels: ``(L)`` and ``(F)``."""
        return [n for n in self.info if self.info[n].level in (LABEL, FRAME)]

    def prediction_values(self, name: str, dataset: Dataset) -> np.ndarray | None:
        """``(P,)`` float64 value of a ``(P)`` or ``(F)`` metric for each prediction; None if not defined."""
        level = level_of(name)
        if level == FRAME and name in self.frame:
            return self.frame[name][dataset.predictions.image_index]
        return self.predictions.get(name) if level == PREDICTION else None

    def label_values(self, name: str, dataset: Dataset) -> np.ndarray | None:
        """``(L,)`` float64 value of an ``(L)`` or ``(F)`` metric for each label; None if not defined."""
        level = level_of(name)
        if level == FRAME and name in self.frame:
            return self.frame[name][dataset.labels.image_index]
        return self.labels.get(name) if level == LABEL else None

    def summary(self) -> dict:
        """Per metric: level, count of values and of missing values, min, median, max."""
        out = {}
        for name in self.info:
            values = self.frame.get(name, self.predictions.get(name, self.labels.get(name)))
            ok = values[~np.isnan(values)]
            out[name] = {
                "level": self.info[name].level, "values": int(ok.shape[0]),
                "missing": int(values.shape[0] - ok.shape[0]),
                "min": float(ok.min()) if ok.size else None,
                "median": float(np.median(ok)) if ok.size else None,
                "max": float(ok.max()) if ok.size else None,
            }
        return out


@dataclass(frozen=True, eq=False)
class SharedMetrics:
    """The metrics that depend on a dataset's images and labels alone, shared by all its runs.

    Attributes:
        frame: ``{name: (n_images,) float64}`` geometry ``(F)`` metrics.
        labels: ``{name: (L,) float64}`` geometry ``(L)`` metrics (label-to-label IoUs included).
    """

    frame: dict[str, np.ndarray]
    labels: dict[str, np.ndarray]


def shared_metrics_key(dataset: Dataset) -> str:
    """Content hash of what :class:`SharedMetrics` depends on (images, categories, labels)."""
    from detlens.core.io.assemble import compute_fingerprint

    return compute_fingerprint(dataset.images, dataset.category_ids, dataset.category_names, dataset.labels, None)


def compute_shared_metrics(dataset: Dataset) -> SharedMetrics:
    """The geometry metrics every run of ``dataset`` shares (see :class:`SharedMetrics`)."""
    return SharedMetrics(frame=frame_geometry(dataset), labels=object_geometry(dataset, dataset.labels, LABEL))


def read_frame_csv(path: Path, dataset: Dataset) -> dict[str, np.ndarray]:
    """Custom frame metrics from a CSV with a ``file_name`` column and numeric columns.

    Returns:
        ``{"<column> (F)": (n_images,) float64}``; images absent from the CSV get NaN.

    Raises:
        ValueError: no ``file_name`` column, a file name not in the dataset, or a non-numeric value
            (message names the file, the row and the problem).
    """
    position = {str(f): i for i, f in enumerate(dataset.images.file_names)}
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames or "file_name" not in reader.fieldnames:
            raise ValueError(f"{path.name}: header: needs a 'file_name' column")
        columns = [c for c in reader.fieldnames if c != "file_name"]
        out = {c: np.full(len(dataset.images), np.nan) for c in columns}
        for row_no, row in enumerate(reader, start=2):
            if row["file_name"] not in position:
                raise ValueError(f"{path.name}: row {row_no}: file_name {row['file_name']!r} is not an image of the dataset")
            for c in columns:
                text = (row[c] or "").strip()
                if text:
                    try:
                        out[c][position[row["file_name"]]] = float(text)
                    except ValueError:
                        raise ValueError(f"{path.name}: row {row_no}: column {c!r} is not a number: {text!r}") from None
    return {f"{c} (F)": v for c, v in out.items()}


def compute_metric_tables(
    dataset: Dataset,
    images_dir: str | Path | None = None,
    *,
    cache_dir: str | Path | None = None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    frame_csv: str | Path | None = None,
    shared: SharedMetrics | None = None,
) -> MetricTables:
    """Compute every metric available for the dataset.

    Args:
        dataset: the loaded dataset.
        images_dir: image folder; None computes only the metrics that need no pixels.
        cache_dir: disk cache for pixel metrics (see :mod:`detlens.core.metrics.pixel_pass`).
        workers: processes for the pixel pass (default: all cores).
        progress: ``progress(done, total)`` called as images are processed.
        frame_csv: optional CSV of custom frame metrics keyed by ``file_name``.
        shared: :func:`compute_shared_metrics` of a dataset with the same :func:`shared_metrics_key`
            (another run's), used instead of computing them again.

    Returns:
        :class:`MetricTables`.
    """
    shared = shared or compute_shared_metrics(dataset)
    frame, labels = dict(shared.frame), dict(shared.labels)
    preds = object_geometry(dataset, dataset.predictions, PREDICTION)
    warnings: list[str] = []
    if images_dir is not None:
        from detlens.core.metrics.pixel_pass import compute_pixel_metrics

        pixel = compute_pixel_metrics(dataset, images_dir, cache_dir=cache_dir, workers=workers, progress=progress)
        frame.update(pixel.frame)
        preds.update({f"{k} (P)": v for k, v in pixel.predictions.items()})
        labels.update({f"{k} (L)": v for k, v in pixel.labels.items()})
        warnings += list(pixel.warnings)
    present = set(frame) | set(preds) | set(labels)
    info = {m.name: m for m in BUILTIN_METRICS if m.name in present}
    for table, level, store, source in ((dataset.labels, LABEL, labels, "label annotations"),
                                        (dataset.predictions, PREDICTION, preds, "prediction annotations")):
        for key, values in table.extra.items():
            if key in _NOT_METRICS:
                continue
            m = custom_metric(key, level, source)
            store[m.name] = np.asarray(values, dtype=np.float64)
            info[m.name] = m
    if frame_csv is not None:
        for name, values in read_frame_csv(Path(frame_csv), dataset).items():
            frame[name] = values
            info[name] = custom_metric(name[:-4], FRAME, Path(frame_csv).name)
    return MetricTables(frame=frame, predictions=preds, labels=labels, info=info, warnings=tuple(warnings))
