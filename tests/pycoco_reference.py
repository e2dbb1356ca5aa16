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
    ev = evaluated_at(gt, results, iou, max_dets)
    precision = ev.eval["precision"][0, :, :, 0, 0]
    recall = ev.eval["recall"][0, :, 0, 0]
    out = {}
    for k, cat_id in enumerate(ev.params.catIds):
        defined = precision[0, k] > -1
        out[cat_id] = (float(precision[:, k].mean()) if defined else np.nan,
                       float(recall[k]) if defined else np.nan)
    return out


def pycocotools_counts(gt: dict, results: list[dict], iou: float, max_dets: int = 100) -> dict[str, int]:
    """``{"TP", "FP", "FN"}`` of pycocotools' matching at one IoU (area all, ``max_dets``), read from its
    per-image results: matched and not ignored predictions, unmatched ones, unmatched labels not ignored."""
    counts = {"TP": 0, "FP": 0, "FN": 0}
    for e in evaluated_at(gt, results, iou, max_dets).evalImgs:
        if e is None:
            continue
        dt_matched, dt_ignored = np.asarray(e["dtMatches"])[0] > 0, np.asarray(e["dtIgnore"])[0].astype(bool)
        gt_matched, gt_ignored = np.asarray(e["gtMatches"])[0] > 0, np.asarray(e["gtIgnore"]).astype(bool)
        counts["TP"] += int((dt_matched & ~dt_ignored).sum())
        counts["FP"] += int((~dt_matched & ~dt_ignored).sum())
        counts["FN"] += int((~gt_matched & ~gt_ignored).sum())
    return counts


def evaluated_at(gt: dict, results: list[dict], iou: float, max_dets: int = 100) -> COCOeval:
    """pycocotools' ``COCOeval`` evaluated and accumulated with iouThrs=[iou], area all, maxDets=[max_dets]."""
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
    return ev


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
