"""Write COCO dicts to real files and load them through the real importer."""

from __future__ import annotations

import json
from pathlib import Path

from detlens.core.dataset import Dataset
from detlens.core.io import load_dataset


def write_coco(folder: Path, gt: dict, results: list[dict]) -> tuple[Path, Path]:
    """Write ``labels.json`` and ``predictions.json`` into ``folder``; return both paths."""
    folder.mkdir(parents=True, exist_ok=True)
    labels, preds = folder / "labels.json", folder / "predictions.json"
    labels.write_text(json.dumps(gt))
    preds.write_text(json.dumps(results))
    return labels, preds


def load_coco(folder: Path, gt: dict, results: list[dict]) -> Dataset:
    """Write the dicts to files in ``folder`` and load them as a :class:`Dataset`."""
    return load_dataset(*write_coco(folder, gt, results))


def tiny_gt(label_boxes: list[tuple], image_size=(100, 100), classes=("a", "b")) -> dict:
    """A one-image COCO ground truth; each label is ``(bbox, class_name[, iscrowd])``."""
    cat_id = {name: k + 1 for k, name in enumerate(classes)}
    anns = []
    for k, spec in enumerate(label_boxes):
        bbox, name = spec[0], spec[1]
        crowd = spec[2] if len(spec) > 2 else 0
        anns.append({"id": k + 1, "image_id": 1, "category_id": cat_id[name], "bbox": list(bbox),
                     "area": bbox[2] * bbox[3], "iscrowd": crowd})
    return {
        "images": [{"id": 1, "file_name": "one.jpg", "width": image_size[0], "height": image_size[1]}],
        "annotations": anns,
        "categories": [{"id": i, "name": n} for n, i in cat_id.items()],
    }


def tiny_preds(pred_boxes: list[tuple], classes=("a", "b")) -> list[dict]:
    """Predictions on image 1; each is ``(bbox, class_name, score)``."""
    cat_id = {name: k + 1 for k, name in enumerate(classes)}
    return [{"image_id": 1, "category_id": cat_id[n], "bbox": list(b), "score": s} for b, n, s in pred_boxes]
