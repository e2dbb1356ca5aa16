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

import numpy as np


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
    d = np.asarray(pred_boxes, dtype=np.float64).reshape(-1, 4)
    g = np.asarray(label_boxes, dtype=np.float64).reshape(-1, 4)
    if d.shape[0] != g.shape[0]:
        raise ValueError(f"pair_iou needs row-aligned boxes, got {d.shape} and {g.shape}")
    one = 1.0 if pixel_plus_one else 0.0
    iw = np.minimum(d[:, 0] + d[:, 2], g[:, 0] + g[:, 2]) - np.maximum(d[:, 0], g[:, 0])
    ih = np.minimum(d[:, 1] + d[:, 3], g[:, 1] + g[:, 3]) - np.maximum(d[:, 1], g[:, 1])
    if pixel_plus_one:
        iw = iw + one
        ih = ih + one
    overlap = (iw > 0) & (ih > 0)
    inter = np.where(overlap, iw * ih, 0.0)
    d_area = (d[:, 2] + one) * (d[:, 3] + one)
    g_area = (g[:, 2] + one) * (g[:, 3] + one)
    union = d_area + g_area - inter
    if label_crowd is not None:
        union = np.where(np.asarray(label_crowd, dtype=bool), d_area, union)
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = np.where(overlap, inter / union, 0.0)
    return iou


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
    d = np.asarray(pred_boxes, dtype=np.float64).reshape(-1, 4)
    g = np.asarray(label_boxes, dtype=np.float64).reshape(-1, 4)
    n, m = d.shape[0], g.shape[0]
    crowd = None if label_crowd is None else np.tile(np.asarray(label_crowd, bool), n)
    flat = pair_iou(np.repeat(d, m, axis=0), np.tile(g, (n, 1)), crowd, pixel_plus_one)
    return flat.reshape(n, m)
