"""Candidate (prediction, label) pairs: every overlapping pair in the same image.

IoUs do not depend on the IoU threshold, the class filter or ``max_dets``, so
they are computed once per dataset (and per box convention) and every
evaluation reuses them. Two sets: *same-class* pairs decide matching; the much
larger set of *other-class* pairs is only needed for the ``wrong_class``
false-positive reason, so it is computed separately and only when asked for.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from detlens.core.dataset import Dataset
from detlens.core.iou import box_columns, indexed_iou
from detlens.core.sorting import radix_key

# Pairs generated per vectorised step; bounds memory on images with many boxes.
_PAIRS_PER_CHUNK = 131_072


@dataclass(frozen=True, eq=False)
class CandidatePairs:
    """Overlapping prediction/label pairs of one dataset, sorted by prediction then label.

    Attributes:
        pred: ``(K,)`` int64 prediction row.
        label: ``(K,)`` int64 label row.
        iou: ``(K,)`` float64 IoU > 0 (crowd IoU for crowd labels).
        same_class: True for pairs of one class, False for pairs of two different classes.
        pixel_plus_one: the box convention the IoUs were computed with.
        priority: ``(K,)`` int64 :func:`matching_priority` of the pairs (same-class pairs given the labels that
            do not count), or None: COCO matching then sorts the pairs it needs itself.
    """

    pred: np.ndarray
    label: np.ndarray
    iou: np.ndarray
    same_class: bool
    pixel_plus_one: bool
    priority: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.pred.shape[0])


def matching_priority(pred: np.ndarray, label: np.ndarray, iou: np.ndarray, label_ignored: np.ndarray) -> np.ndarray:
    """The order in which COCO matching has each prediction try its pairs (:mod:`detlens.core.matching`).

    By prediction; then labels that count before ignored ones, IoU descending, the later label first. It does
    not depend on the threshold: the pairs kept at any threshold (or minimum score), taken in this order, are
    in the order this function gives them alone (the sort is stable).

    Args:
        pred, label, iou: ``(K,)`` pairs (int64 rows, float64 IoU).
        label_ignored: ``(L,)`` bool, the labels that do not count (``matching.ignored_labels``).

    Returns:
        ``(K,)`` int64 positions of the pairs in that order.
    """
    return np.lexsort((-label, -iou, label_ignored[label], pred))


def _group_ids(dataset: Dataset, same_class: bool) -> tuple[np.ndarray, np.ndarray, int]:
    """Compact group ids of predictions and labels: image (and class) they must share.

    Returns ``(pred_group, label_group, n_groups)``; a prediction whose group has
    no label gets ``n_groups`` (an empty extra group).
    """
    preds, labels = dataset.predictions, dataset.labels
    if not same_class:
        return preds.image_index, labels.image_index, len(dataset.images)
    n_cat = max(dataset.n_categories, 1)
    label_key = labels.image_index * n_cat + labels.category_index
    groups, label_group = np.unique(label_key, return_inverse=True)
    n_groups = int(groups.shape[0])
    pred_key = preds.image_index * n_cat + preds.category_index
    if n_groups == 0:
        return np.zeros(pred_key.shape[0], np.int64), label_group.reshape(-1), 0
    pos = np.minimum(np.searchsorted(groups, pred_key), n_groups - 1)
    return np.where(groups[pos] == pred_key, pos, n_groups), label_group.reshape(-1), n_groups


def compute_candidates(dataset: Dataset, pixel_plus_one: bool = False, same_class: bool = True,
                       label_ignored: np.ndarray | None = None) -> CandidatePairs:
    """Same-image (prediction, label) pairs with IoU > 0, of one class or of two different classes.

    IoU is :func:`detlens.core.iou.indexed_iou` (pycocotools' arithmetic), computed in
    small chunks so temporaries stay in cache.

    Args:
        dataset: the loaded dataset.
        pixel_plus_one: compute IoU with the legacy VOC "+1 pixel" convention.
        same_class: True for pairs of the same class (matching), False for
            pairs of different classes (the ``wrong_class`` reason).
        label_ignored: ``(L,)`` bool, the labels that do not count: with same-class pairs, their
            :func:`matching_priority` is computed once here (None: each COCO match sorts its pairs).

    Returns:
        :class:`CandidatePairs` sorted by prediction then label; empty arrays when nothing overlaps.
    """
    preds, labels = dataset.predictions, dataset.labels
    pred_group, label_group, n_groups = _group_ids(dataset, same_class)
    pred_order = np.argsort(radix_key(pred_group), kind="stable")
    label_order = np.argsort(radix_key(label_group), kind="stable")
    labels_per_group = np.bincount(label_group, minlength=n_groups + 1)
    label_start = np.concatenate(([0], np.cumsum(labels_per_group)[:-1]))
    d, g = box_columns(preds.boxes, pixel_plus_one), box_columns(labels.boxes, pixel_plus_one)
    per_pred = labels_per_group[pred_group[pred_order]]
    ends = np.cumsum(per_pred)
    out_pred, out_label, out_iou = [], [], []
    start = 0
    while start < len(pred_order) and ends[-1] > 0:
        # take whole predictions until the chunk holds enough pairs
        stop = int(np.searchsorted(ends, (ends[start - 1] if start else 0) + _PAIRS_PER_CHUNK, "right"))
        stop = max(stop, start + 1)
        chunk = pred_order[start:stop]
        counts = per_pred[start:stop]
        a = np.repeat(chunk, counts)
        offsets = np.cumsum(counts) - counts
        within = np.arange(a.shape[0]) - np.repeat(offsets, counts)
        b = label_order[np.repeat(label_start[pred_group[chunk]], counts) + within]
        if not same_class:
            other = preds.category_index[a] != labels.category_index[b]
            a, b = a[other], b[other]
        iou = indexed_iou(d, g, a, b, labels.iscrowd)
        hit = iou > 0
        out_pred.append(a[hit])
        out_label.append(b[hit])
        out_iou.append(iou[hit])
        start = stop

    pred_rows = np.concatenate(out_pred) if out_pred else np.zeros(0, np.int64)
    label_rows = np.concatenate(out_label) if out_label else np.zeros(0, np.int64)
    ious = np.concatenate(out_iou) if out_iou else np.zeros(0, np.float64)
    order = np.lexsort((label_rows, pred_rows))
    pred_rows, label_rows, ious = (pred_rows[order].astype(np.int64, copy=False),
                                   label_rows[order].astype(np.int64, copy=False), ious[order])
    priority = (matching_priority(pred_rows, label_rows, ious, label_ignored)
                if same_class and label_ignored is not None else None)
    return CandidatePairs(pred=pred_rows, label=label_rows, iou=ious, same_class=same_class,
                          pixel_plus_one=pixel_plus_one, priority=priority)
