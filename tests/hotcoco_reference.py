"""hotcoco run live on the same files, at one IoU threshold, as the reference for the error-analysis parity tests."""

from __future__ import annotations

from pathlib import Path


def hotcoco_eval(labels: Path, predictions: Path, iou: float, max_dets: int = 100, cat_ids: list[int] | None = None):
    """A hotcoco ``COCOeval`` evaluated and accumulated with ``iou_thrs=[iou]``, area "all", ``max_dets=[max_dets]``."""
    from hotcoco import COCO, COCOeval

    gt = COCO(str(labels))
    ev = COCOeval(gt, gt.load_res(str(predictions)), "bbox")
    p = ev.params
    p.iou_thrs, p.max_dets, p.area_rng, p.area_rng_lbl = [iou], [max_dets], [[0.0, 1e10]], ["all"]
    if cat_ids is not None:
        p.cat_ids = list(cat_ids)
    ev.params = p
    ev.evaluate()
    ev.accumulate()
    return ev
