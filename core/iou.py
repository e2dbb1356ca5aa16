"""Box IoU, computed with pycocotools' exact arithmetic.

Boxes are ``[x, y, w, h]`` in pixels (COCO order). For boxes ``d`` and ``g``::

    iw = min(d.x + d.w, g.x + g.w) - max(d.x, g.x)      (0 if iw <= 0)
    ih = min(d.y + d.h, g.y + g.h) - max(d.y, g.y)      (0 if ih <= 0)
    inter = iw * ih
    union = d.w * d.h + g.w * g.h - inter   (regular label)
    union = d.w * d.h                       (crowd label: share of the prediction inside it)
    iou = inter / union

This is ``maskApi.c:bbIou`` operation for operation, so results are bit-identical
and thresholds compare exactly as in pycocotools.

With ``pixel_plus_one`` (the legacy PASCAL VOC convention, used by the VOC devkit,
Cartucho/mAP and Padilla's tools) a box covers ``w + 1`` by ``h + 1`` pixels and
the overlap ``iw + 1`` by ``ih + 1``; boxes that merely touch then overlap by one pixel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class BoxColumns:
    """Contiguous per-box columns used by the IoU arithmetic, all ``(N,)`` float64 pixels.

    ``x2 = x + w`` and ``y2 = y + h`` (computed as pycocotools does); ``area``
    includes the "+1 pixel" when ``plus_one`` is 1.0.
    """

    x1: np.ndarray
    y1: np.ndarray
    x2: np.ndarray
    y2: np.ndarray
    area: np.ndarray
    plus_one: float


def box_columns(boxes: np.ndarray, pixel_plus_one: bool = False) -> BoxColumns:
    """Columns of ``(N, 4)`` float64 ``[x, y, w, h]`` boxes for :func:`indexed_iou`."""
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    x, y, w, h = (np.ascontiguousarray(b[:, k]) for k in range(4))
    one = 1.0 if pixel_plus_one else 0.0
    return BoxColumns(x, y, x + w, y + h, (w + one) * (h + one), one)


def indexed_iou(d: BoxColumns, g: BoxColumns, a: np.ndarray, b: np.ndarray,
                crowd: np.ndarray | None = None) -> np.ndarray:
    """IoU of the pairs ``(d[a[k]], g[b[k]])``.

    Args:
        d, g: prediction and label columns (same ``plus_one``).
        a, b: ``(K,)`` int64 row indices into ``d`` and ``g``.
        crowd: ``(len(g),)`` bool crowd flags of the labels, or None.

    Returns:
        ``(K,)`` float64 IoU in [0, 1].
    """
    one = d.plus_one
    iw = np.minimum(d.x2[a], g.x2[b]) - np.maximum(d.x1[a], g.x1[b]) + one
    ih = np.minimum(d.y2[a], g.y2[b]) - np.maximum(d.y1[a], g.y1[b]) + one
    out = np.zeros(a.shape[0])
    hit = np.flatnonzero((iw > 0) & (ih > 0))
    a, b = a[hit], b[hit]
    inter = iw[hit] * ih[hit]
    union = d.area[a] + g.area[b] - inter
    if crowd is not None:
        union = np.where(crowd[b], d.area[a], union)
    out[hit] = inter / union
    return out


def pair_iou(
    pred_boxes: np.ndarray,
    label_boxes: np.ndarray,
    label_crowd: np.ndarray | None = None,
    pixel_plus_one: bool = False,
) -> np.ndarray:
    """IoU of row-aligned pairs of boxes.

    Args:
        pred_boxes: ``(N, 4)`` float64 ``[x, y, w, h]`` pixels.
        label_boxes: ``(N, 4)`` float64 ``[x, y, w, h]`` pixels, paired row by row.
        label_crowd: ``(N,)`` bool, True where the label is a crowd region
            (union = prediction area). None means no crowd labels.
        pixel_plus_one: use the legacy VOC "+1 pixel" areas.

    Returns:
        ``(N,)`` float64 IoU in [0, 1].
    """
    d = box_columns(pred_boxes, pixel_plus_one)
    g = box_columns(label_boxes, pixel_plus_one)
    if d.x1.shape[0] != g.x1.shape[0]:
        raise ValueError(f"pair_iou needs row-aligned boxes, got {d.x1.shape[0]} and {g.x1.shape[0]} rows")
    rows = np.arange(d.x1.shape[0])
    crowd = None if label_crowd is None else np.asarray(label_crowd, dtype=bool)
    return indexed_iou(d, g, rows, rows, crowd)


def box_iou_batch(
    pred_boxes: np.ndarray,
    label_boxes: np.ndarray,
    label_crowd: np.ndarray | None = None,
    pixel_plus_one: bool = False,
) -> np.ndarray:
    """IoU of every prediction against every label.

    Args:
        pred_boxes: ``(N, 4)`` float64 ``[x, y, w, h]`` pixels.
        label_boxes: ``(M, 4)`` float64 ``[x, y, w, h]`` pixels.
        label_crowd: ``(M,)`` bool crowd flags, or None.
        pixel_plus_one: use the legacy VOC "+1 pixel" areas.

    Returns:
        ``(N, M)`` float64 IoU matrix; ``(0, M)`` / ``(N, 0)`` for empty inputs.
    """
    d = box_columns(pred_boxes, pixel_plus_one)
    g = box_columns(label_boxes, pixel_plus_one)
    n, m = d.x1.shape[0], g.x1.shape[0]
    crowd = None if label_crowd is None else np.asarray(label_crowd, dtype=bool)
    a, b = np.repeat(np.arange(n), m), np.tile(np.arange(m), n)
    return indexed_iou(d, g, a, b, crowd).reshape(n, m)
