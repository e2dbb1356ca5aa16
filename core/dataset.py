"""The one in-memory model every importer produces and every analysis reads.

A :class:`Dataset` is columnar: numpy arrays, one row per image, category,
label or prediction. Boxes are stored once, in pixels, as ``(N, 4)`` float64
arrays in COCO order ``[x, y, width, height]`` (top-left corner plus size).
COCO order is kept rather than corners so that IoU arithmetic is bit-for-bit
the same as pycocotools' (``x + w`` is computed the same way on both sides).

Conventions that every module relies on:

* Images are indexed ``0..n_images-1`` in *canonical order*: ascending source
  id for COCO input (what pycocotools iterates), ascending ``file_name`` for
  formats without ids (ids are then assigned 1..n in that order).
* Categories are indexed ``0..n_categories-1`` in ascending source id order.
* Labels and predictions keep their file order within each image (this order
  breaks ties exactly as pycocotools does).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True, eq=False)
class ImageTable:
    """Images of a dataset.

    Attributes:
        ids: ``(N,)`` int64, source image ids (COCO ``id``; 1..N otherwise).
        file_names: ``(N,)`` object array of str, relative file names.
        widths: ``(N,)`` float64, image width in pixels (NaN if unknown).
        heights: ``(N,)`` float64, image height in pixels (NaN if unknown).
    """

    ids: np.ndarray
    file_names: np.ndarray
    widths: np.ndarray
    heights: np.ndarray

    def __len__(self) -> int:
        return int(self.ids.shape[0])


@dataclass(frozen=True, eq=False)
class BoxTable:
    """Labels (ground truth) or predictions.

    Attributes:
        ids: ``(N,)`` int64, source annotation ids (1..N when the format has none).
        image_index: ``(N,)`` int64, row in :class:`ImageTable`.
        category_index: ``(N,)`` int64, index into ``Dataset.category_names``.
        boxes: ``(N, 4)`` float64, ``[x, y, w, h]`` in pixels, ``w, h > 0``.
        scores: ``(N,)`` float64, confidence in [0, 1] for predictions; 1.0 for labels.
        iscrowd: ``(N,)`` bool, COCO crowd flag (always False for predictions).
        areas: ``(N,)`` float64, COCO ``area`` field (segment area) when given,
            else ``w * h``; only used for pycocotools' area-range ignore rule.
        extra: numeric per-object fields found in the input (custom metrics),
            each ``(N,)`` float64 with NaN where absent.
    """

    ids: np.ndarray
    image_index: np.ndarray
    category_index: np.ndarray
    boxes: np.ndarray
    scores: np.ndarray
    iscrowd: np.ndarray
    areas: np.ndarray
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    @staticmethod
    def empty() -> "BoxTable":
        """An empty table with correctly shaped, typed arrays."""
        return BoxTable(
            ids=np.zeros(0, np.int64),
            image_index=np.zeros(0, np.int64),
            category_index=np.zeros(0, np.int64),
            boxes=np.zeros((0, 4), np.float64),
            scores=np.zeros(0, np.float64),
            iscrowd=np.zeros(0, bool),
            areas=np.zeros(0, np.float64),
        )

    @property
    def xyxy(self) -> np.ndarray:
        """``(N, 4)`` float64 corners ``[x1, y1, x2, y2]`` in pixels."""
        out = self.boxes.copy()
        out[:, 2] += out[:, 0]
        out[:, 3] += out[:, 1]
        return out


@dataclass(frozen=True, eq=False)
class Dataset:
    """Images, categories, labels and predictions, validated and normalised.

    Attributes:
        name: human-readable name (usually the labels file or folder name).
        images: the images, in canonical order.
        category_ids: ``(C,)`` int64 source category ids, ascending.
        category_names: ``(C,)`` object array of str, unique names.
        labels: ground-truth boxes.
        predictions: model predictions.
        warnings: human-readable, non-fatal notes from loading (clipped boxes,
            ids matched by file name, ...).
        fingerprint: content hash identifying this dataset for caches.
    """

    name: str
    images: ImageTable
    category_ids: np.ndarray
    category_names: np.ndarray
    labels: BoxTable
    predictions: BoxTable
    warnings: tuple[str, ...] = ()
    fingerprint: str = ""

    @property
    def n_categories(self) -> int:
        return int(self.category_ids.shape[0])

    def category_indices(self, names: list[str] | None) -> np.ndarray:
        """Indices of the named categories, ``(K,)`` int64; all when ``names`` is None.

        Raises:
            ValueError: a name that is not a category of this dataset.
        """
        if names is None:
            return np.arange(self.n_categories, dtype=np.int64)
        lookup = {str(n): i for i, n in enumerate(self.category_names)}
        unknown = [n for n in names if n not in lookup]
        if unknown:
            raise ValueError(
                f"unknown class name(s) {', '.join(map(repr, unknown))}; "
                f"known: {', '.join(map(str, self.category_names))}"
            )
        return np.array(sorted(lookup[n] for n in names), dtype=np.int64)
