"""Candidate (prediction, label) pairs: every overlapping pair in the same image.

IoUs do not depend on the IoU threshold, the class filter or ``max_dets``, so
they are computed once per dataset (and per box convention) and every
evaluation reuses them. Pairs of *any* two classes are kept, because the
``wrong_class`` false-positive reason needs cross-class overlaps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.dataset import Dataset
from core.iou import box_columns, indexed_iou

# Pairs generated per vectorised step; bounds memory on images with many boxes.
_PAIRS_PER_CHUNK = 131_072


@dataclass(frozen=True, eq=False)
class CandidatePairs:
    """Overlapping prediction/label pairs of one dataset, sorted by prediction then label.

    Attributes:
        pred: ``(K,)`` int64 prediction row.
        label: ``(K,)`` int64 label row.
        iou: ``(K,)`` float64 IoU > 0 (crowd IoU for crowd labels).
        same_class: ``(K,)`` bool, prediction and label have the same category.
        pixel_plus_one: the box convention the IoUs were computed with.
    """

    pred: np.ndarray
    label: np.ndarray
    iou: np.ndarray
    same_class: np.ndarray
    pixel_plus_one: bool

    def __len__(self) -> int:
        return int(self.pred.shape[0])


def compute_candidates(dataset: Dataset, pixel_plus_one: bool = False) -> CandidatePairs:
    """All same-image (prediction, label) pairs with IoU > 0.

    IoU is :func:`core.iou.indexed_iou` (pycocotools' arithmetic), computed in
    small chunks so temporaries stay in cache.

    Args:
        dataset: the loaded dataset.
        pixel_plus_one: compute IoU with the legacy VOC "+1 pixel" convention.

    Returns:
        :class:`CandidatePairs`, empty arrays when nothing overlaps.
    """
    preds, labels = dataset.predictions, dataset.labels
    n_images = len(dataset.images)
    pred_order = np.argsort(preds.image_index, kind="stable")
    label_order = np.argsort(labels.image_index, kind="stable")
    labels_per_image = np.bincount(labels.image_index, minlength=n_images)
    label_start = np.concatenate(([0], np.cumsum(labels_per_image)[:-1]))
    d, g = box_columns(preds.boxes, pixel_plus_one), box_columns(labels.boxes, pixel_plus_one)
    per_pred = labels_per_image[preds.image_index[pred_order]]
    ends = np.cumsum(per_pred)
    out_pred, out_label, out_iou = [], [], []
    start = 0
    while start < len(pred_order):
        # take whole predictions until the chunk holds enough pairs
        stop = int(np.searchsorted(ends, (ends[start - 1] if start else 0) + _PAIRS_PER_CHUNK, "right"))
        stop = max(stop, start + 1)
        chunk = pred_order[start:stop]
        counts = per_pred[start:stop]
        a = np.repeat(chunk, counts)
        offsets = np.cumsum(counts) - counts
        within = np.arange(a.shape[0]) - np.repeat(offsets, counts)
        b = label_order[np.repeat(label_start[preds.image_index[chunk]], counts) + within]
        iou = indexed_iou(d, g, a, b, labels.iscrowd)
        hit = iou > 0
        a, b = a[hit], b[hit]
        out_pred.append(a)
        out_label.append(b)
        out_iou.append(iou[hit])
        start = stop

    pred_rows = np.concatenate(out_pred) if out_pred else np.zeros(0, np.int64)
    label_rows = np.concatenate(out_label) if out_label else np.zeros(0, np.int64)
    ious = np.concatenate(out_iou) if out_iou else np.zeros(0, np.float64)
    order = np.lexsort((label_rows, pred_rows))
    pred_rows, label_rows, ious = pred_rows[order], label_rows[order], ious[order]
    same = preds.category_index[pred_rows] == labels.category_index[label_rows]
    return CandidatePairs(
        pred=pred_rows.astype(np.int64, copy=False),
        label=label_rows.astype(np.int64, copy=False),
        iou=ious,
        same_class=same,
        pixel_plus_one=pixel_plus_one,
    )
