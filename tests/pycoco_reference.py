"""pycocotools run live, at one IoU threshold, as the reference for parity tests."""

from __future__ import annotations

import contextlib
import copy
import io

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval


def pycocotools_per_class(gt: dict, results: list[dict], iou: float, max_dets: int = 100) -> dict[int, tuple[float, float]]:
    """``{category_id: (AP, AR)}`` from pycocotools with iouThrs=[iou], area all, maxDets=[max_dets].

    Classes pycocotools leaves undefined (no labels) map to ``(nan, nan)``.
    """
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = copy.deepcopy(gt)
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes(copy.deepcopy(results)) if results else COCO()
        ev = COCOeval(coco_gt, coco_dt, "bbox")
        ev.params.iouThrs = np.array([iou])
        ev.params.areaRng = [[0, 1e10]]
        ev.params.areaRngLbl = ["all"]
        ev.params.maxDets = [max_dets]
        ev.evaluate()
        ev.accumulate()
    precision = ev.eval["precision"][0, :, :, 0, 0]
    recall = ev.eval["recall"][0, :, 0, 0]
    out = {}
    for k, cat_id in enumerate(ev.params.catIds):
        defined = precision[0, k] > -1
        out[cat_id] = (float(precision[:, k].mean()) if defined else np.nan,
                       float(recall[k]) if defined else np.nan)
    return out


def pycocotools_stats(gt: dict, results: list[dict], cat_ids: list[int] | None = None) -> np.ndarray:
    """The 12 ``COCOeval.stats`` of pycocotools' default bbox evaluation (``stats[0]``: mAP@[.50:.95]),
    over the classes ``cat_ids`` (None: every class)."""
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = copy.deepcopy(gt)
        coco_gt.createIndex()
        ev = COCOeval(coco_gt, coco_gt.loadRes(copy.deepcopy(results)), "bbox")
        if cat_ids is not None:
            ev.params.catIds = list(cat_ids)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev.stats
