"""Metrics computed from boxes and image sizes alone (no pixels needed).

Definitions (image size W x H pixels; box ``[x, y, w, h]`` pixels):

* ``Image Area (F)`` = W * H; ``Aspect Ratio (F)`` = W / H (NaN if the size is unknown).
* ``Object Count (F)`` = number of labels in the image (crowd regions included).
* ``Object Density (F)`` = area of the union of the image's label boxes (each
  clipped to the image) / (W * H), in [0, 1]; exact, by coordinate compression.
* ``Object Area - Absolute`` = w * h; ``Object Area - Relative`` = 100 * w * h / (W * H) (percent).
* ``Object Aspect Ratio`` = w / h.
* ``Border Closeness`` = 1 - 2 * d, with d = min(x / W, y / H, (W - x - w) / W,
  (H - y - h) / H) clipped to [0, 0.5]: 1 when touching an edge, 0 only at the centre.
* ``Max Overlap`` = the largest IoU (pycocotools arithmetic) with another box
  of the same class, same image and same population (labels against labels,
  predictions against predictions); 0 when there is none.
* ``Random Values`` = uniform [0, 1) noise from a generator seeded by the
  level (0 frame, 1 labels, 2 predictions): a control that must rank near zero.
* ``Model Confidence (P)`` = the prediction's score.
"""

from __future__ import annotations

import numpy as np

from detlens.core.dataset import BoxTable, Dataset
from detlens.core.iou import box_columns, indexed_iou

# Pairs generated per vectorised step of the Max Overlap computation.
_PAIRS_PER_CHUNK = 4_000_000
_RANDOM_SEEDS = {"F": 0, "L": 1, "P": 2}


def random_values(n: int, level: str) -> np.ndarray:
    """``(n,)`` float64 uniform noise in [0, 1), deterministic per level."""
    return np.random.default_rng(_RANDOM_SEEDS[level]).random(n)


def union_area(boxes: np.ndarray) -> float:
    """Exact area of the union of ``(N, 4)`` ``[x, y, w, h]`` boxes, in square pixels."""
    if boxes.shape[0] == 0:
        return 0.0
    x1, y1 = boxes[:, 0], boxes[:, 1]
    x2, y2 = x1 + boxes[:, 2], y1 + boxes[:, 3]
    xs, ys = np.unique(np.concatenate([x1, x2])), np.unique(np.concatenate([y1, y2]))
    # cell (i, j) spans xs[i]..xs[i+1], ys[j]..ys[j+1]; covered if inside any box
    cx, cy = (xs[:-1] + xs[1:]) / 2, (ys[:-1] + ys[1:]) / 2
    inside_x = (cx[None, :] > x1[:, None]) & (cx[None, :] < x2[:, None])
    inside_y = (cy[None, :] > y1[:, None]) & (cy[None, :] < y2[:, None])
    covered = np.zeros((cy.shape[0], cx.shape[0]), bool)
    step = max(1, 2_000_000 // max(covered.size, 1))  # bounds memory on crowded images
    for k in range(0, boxes.shape[0], step):
        covered |= (inside_x[k:k + step, None, :] & inside_y[k:k + step, :, None]).any(axis=0)
    return float((np.diff(ys)[:, None] * np.diff(xs)[None, :])[covered].sum())


def object_density(dataset: Dataset) -> np.ndarray:
    """``(n_images,)`` float64 share of each image covered by its labels (NaN when the size is unknown).

    Images with the same number of labels are measured together (:func:`_union_areas`); an image with
    so many labels that its cell grid would be too large goes through :func:`union_area` on its own.
    """
    images, labels = dataset.images, dataset.labels
    n = len(images)
    out = np.zeros(n)
    order = np.argsort(labels.image_index, kind="stable")
    counts = np.bincount(labels.image_index, minlength=n)
    starts = np.concatenate(([0], np.cumsum(counts)))
    boxes = labels.boxes[order].astype(np.float64, copy=True).reshape(-1, 4)
    w, h = images.widths[labels.image_index[order]], images.heights[labels.image_index[order]]
    sized = np.isfinite(w) & np.isfinite(h)  # clip each box to its image where the image's size is known
    x2 = np.where(sized, np.clip(boxes[:, 0] + boxes[:, 2], 0, w), boxes[:, 0] + boxes[:, 2])
    y2 = np.where(sized, np.clip(boxes[:, 1] + boxes[:, 3], 0, h), boxes[:, 1] + boxes[:, 3])
    boxes[:, 0] = np.where(sized, np.clip(boxes[:, 0], 0, w), boxes[:, 0])
    boxes[:, 1] = np.where(sized, np.clip(boxes[:, 1], 0, h), boxes[:, 1])
    boxes[:, 2], boxes[:, 3] = x2 - boxes[:, 0], y2 - boxes[:, 1]
    for k in np.unique(counts[counts > 0]).tolist():
        group = np.flatnonzero(counts == k)
        cells = k * (2 * k) ** 2  # booleans per image in _union_areas
        if cells > _DENSITY_CELLS:
            for i in group.tolist():
                out[i] = union_area(boxes[starts[i]:starts[i + 1]])
            continue
        step = max(1, _DENSITY_CELLS // cells)
        for at in range(0, group.shape[0], step):
            chunk = group[at:at + step]
            out[chunk] = _union_areas(boxes[starts[chunk][:, None] + np.arange(k)])
    with np.errstate(divide="ignore", invalid="ignore"):
        return out / (images.widths * images.heights)


_DENSITY_CELLS = 4_000_000  # booleans of one batch of object_density (about 4 MB)


def _union_areas(boxes: np.ndarray) -> np.ndarray:
    """``(M,)`` float64 union area of each of ``M`` images' ``(M, K, 4)`` ``[x, y, w, h]`` boxes, square pixels.

    :func:`union_area`'s coordinate compression for many images at once: each image's ``2K`` sorted x
    and y edges make a grid of cells, a cell is covered when its centre is inside one of the image's
    boxes, and the covered cells' areas are summed. Repeated edges give cells of zero width that add
    nothing.
    """
    x1, y1 = boxes[..., 0], boxes[..., 1]
    x2, y2 = x1 + boxes[..., 2], y1 + boxes[..., 3]
    xs, ys = np.sort(np.concatenate([x1, x2], axis=1), axis=1), np.sort(np.concatenate([y1, y2], axis=1), axis=1)
    cx, cy = (xs[:, :-1] + xs[:, 1:]) / 2, (ys[:, :-1] + ys[:, 1:]) / 2
    inside_x = (cx[:, None, :] > x1[:, :, None]) & (cx[:, None, :] < x2[:, :, None])  # (M, K, cells in x)
    inside_y = (cy[:, None, :] > y1[:, :, None]) & (cy[:, None, :] < y2[:, :, None])  # (M, K, cells in y)
    covered = (inside_y[:, :, :, None] & inside_x[:, :, None, :]).any(axis=1)  # (M, y, x)
    area = np.diff(ys, axis=1)[:, :, None] * np.diff(xs, axis=1)[:, None, :]
    return np.where(covered, area, 0.0).sum(axis=(1, 2))


def max_overlap(table: BoxTable) -> np.ndarray:
    """``(N,)`` float64 largest IoU of each box with another same-class box of its image (0 if none)."""
    n = len(table)
    out = np.zeros(n)
    if n < 2:
        return out
    order = np.lexsort((table.category_index, table.image_index))
    img, cat = table.image_index[order], table.category_index[order]
    columns = box_columns(table.boxes[order])  # once, in sorted order: each chunk indexes it (pair_iou's arithmetic)
    new = np.ones(n, bool)
    new[1:] = (img[1:] != img[:-1]) | (cat[1:] != cat[:-1])
    starts = np.flatnonzero(new)
    sizes = np.diff(np.append(starts, n))
    group_start = np.repeat(starts, sizes)
    per_row = np.repeat(sizes, sizes)  # partners per row (itself included)
    ends = np.cumsum(per_row)
    begin = 0
    while begin < n:
        stop = max(int(np.searchsorted(ends, (ends[begin - 1] if begin else 0) + _PAIRS_PER_CHUNK, "right")), begin + 1)
        rows = np.arange(begin, stop)
        counts = per_row[rows]
        a = np.repeat(rows, counts)
        offsets = np.cumsum(counts) - counts
        b = np.repeat(group_start[rows], counts) + np.arange(a.shape[0]) - np.repeat(offsets, counts)
        keep = a != b
        a, b = a[keep], b[keep]
        iou = indexed_iou(columns, columns, a, b)
        best = np.zeros(n)
        np.maximum.at(best, a, iou)
        out[order[rows]] = best[rows]
        begin = stop
    return out


def object_geometry(dataset: Dataset, table: BoxTable, level: str) -> dict[str, np.ndarray]:
    """Geometry metrics of labels or predictions.

    Args:
        dataset: gives image sizes.
        table: ``dataset.labels`` or ``dataset.predictions``.
        level: ``"L"`` or ``"P"`` (the suffix of the returned names).

    Returns:
        ``{display name: (N,) float64}``; NaN where the image size is unknown.
    """
    w_img = dataset.images.widths[table.image_index]
    h_img = dataset.images.heights[table.image_index]
    x, y, w, h = table.boxes.T
    area = w * h
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.minimum.reduce([x / w_img, y / h_img, (w_img - x - w) / w_img, (h_img - y - h) / h_img])
        out = {
            f"Object Area - Absolute ({level})": area,
            f"Object Area - Relative ({level})": 100.0 * area / (w_img * h_img),
            f"Object Aspect Ratio ({level})": w / h,
            f"Border Closeness ({level})": 1.0 - 2.0 * np.clip(d, 0.0, 0.5),
            f"Max Overlap ({level})": max_overlap(table),
            f"Random Values ({level})": random_values(len(table), level),
        }
    if level == "P":
        out["Model Confidence (P)"] = table.scores.astype(np.float64)
    return out


def frame_geometry(dataset: Dataset) -> dict[str, np.ndarray]:
    """``{display name: (n_images,) float64}`` of the frame metrics that need no pixels."""
    images = dataset.images
    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            "Image Area (F)": images.widths * images.heights,
            "Aspect Ratio (F)": images.widths / images.heights,
            "Object Count (F)": np.bincount(dataset.labels.image_index, minlength=len(images)).astype(np.float64),
            "Object Density (F)": object_density(dataset),
            "Random Values (F)": random_values(len(images), "F"),
        }
