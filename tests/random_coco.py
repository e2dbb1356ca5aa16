"""Seeded random COCO datasets that stress the matching rules.

Boxes live on a coarse integer grid so exact IoU ties, IoUs exactly at common
thresholds and equal scores all occur; some labels are crowd regions; some
images have no labels, some no predictions, some nothing.
"""

from __future__ import annotations

import numpy as np


def random_coco(seed: int, n_images: int = 40, n_classes: int = 4, crowd_rate: float = 0.08,
                score_levels: int = 12) -> tuple[dict, list[dict]]:
    """A COCO ground-truth dict and a results list.

    Returns:
        ``(gt, results)``: ``gt`` has images (ids 1..n, shuffled file order),
        annotations (ids from 1) and categories (ids 1..n_classes, named c1..);
        ``results`` is a list of ``{image_id, category_id, bbox, score}``.
    """
    rng = np.random.default_rng(seed)
    images, anns, results = [], [], []
    image_ids = rng.permutation(n_images) + 1
    for img_id in image_ids:
        images.append({"id": int(img_id), "file_name": f"img{img_id:04d}.jpg", "width": 64, "height": 64})
        kind = rng.random()
        n_gt = 0 if kind < 0.1 else int(rng.integers(1, 7))
        n_dt = 0 if 0.1 <= kind < 0.2 else int(rng.integers(0, 12))
        gts = []
        for _ in range(n_gt):
            x, y = rng.integers(0, 48, size=2)
            w, h = rng.integers(2, 17, size=2)
            box = [float(x), float(y), float(w), float(h)]
            cat = int(rng.integers(1, n_classes + 1))
            gts.append((box, cat))
            anns.append({"id": len(anns) + 1, "image_id": int(img_id), "category_id": cat, "bbox": box,
                         "area": float(w * h), "iscrowd": int(rng.random() < crowd_rate)})
        for _ in range(n_dt):
            if gts and rng.random() < 0.7:
                (x, y, w, h), cat = gts[int(rng.integers(len(gts)))]
                dx, dy, dw, dh = rng.integers(-3, 4, size=4)
                # stay inside the 64x64 image: the importer clips, pycocotools would not
                nx, ny = max(0, x + dx), max(0, y + dy)
                box = [float(nx), float(ny), float(min(max(1, w + dw), 64 - nx)), float(min(max(1, h + dh), 64 - ny))]
                if rng.random() < 0.15:
                    cat = int(rng.integers(1, n_classes + 1))
            else:
                x, y = rng.integers(0, 48, size=2)
                w, h = rng.integers(2, 17, size=2)
                box, cat = [float(x), float(y), float(w), float(h)], int(rng.integers(1, n_classes + 1))
            score = float(rng.integers(1, score_levels + 1)) / score_levels
            results.append({"image_id": int(img_id), "category_id": cat, "bbox": box, "score": score})
    categories = [{"id": k, "name": f"c{k}"} for k in range(1, n_classes + 1)]
    return {"images": images, "annotations": anns, "categories": categories}, results
