"""Downloads of the Explorer's rows: CSV text and a COCO pair of their images.

Rules (tested in ``tests/test_explorer_core.py``):

CSV
    Every column of the object table (:mod:`detlens.core.explorer.table`),
    header first, NaN as empty cells, floats written so they read back exactly.

COCO pair
    The images of the given rows with *every* label and prediction of those
    images (not only the rows' own objects): matching depends on an image's
    other boxes (ranks, duplicates), so re-evaluating the pair reproduces each
    row's outcome. Ids, file names, sizes, categories, areas, crowd flags and
    custom numeric fields are the source's; every category is kept.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from detlens.core.dataset import Dataset


def to_csv(table: pd.DataFrame) -> str:
    """The rows as CSV text (every column, header first, NaN as empty cells, floats round-trip exact)."""
    return table.to_csv(index=False, float_format=None)


def coco_subset(dataset: Dataset, rows: pd.DataFrame) -> tuple[dict, list[dict]]:
    """A COCO ground-truth dict and results list for the images of the given rows (rule in the module docstring).

    Args:
        dataset: the dataset the rows come from.
        rows: object-table rows (only column ``image_index`` is read).

    Returns:
        ``(labels, predictions)``: ``{"images", "annotations", "categories"}`` and a results list.
    """
    images = np.unique(rows["image_index"].to_numpy(np.int64)) if len(rows) else np.zeros(0, np.int64)
    im = dataset.images
    out_images = []
    for i in images.tolist():
        doc = {"id": int(im.ids[i]), "file_name": str(im.file_names[i])}
        if np.isfinite(im.widths[i]) and np.isfinite(im.heights[i]):
            doc.update(width=int(round(im.widths[i])), height=int(round(im.heights[i])))
        out_images.append(doc)
    categories = [{"id": int(c), "name": str(n)} for c, n in zip(dataset.category_ids, dataset.category_names)]

    def records(table, with_score: bool) -> list[dict]:
        out = []
        for j in np.flatnonzero(np.isin(table.image_index, images)).tolist():
            doc = {"id": int(table.ids[j]), "image_id": int(im.ids[table.image_index[j]]),
                   "category_id": int(dataset.category_ids[table.category_index[j]]),
                   "bbox": [float(v) for v in table.boxes[j]]}
            if with_score:
                doc["score"] = float(table.scores[j])
            else:
                doc.update(area=float(table.areas[j]), iscrowd=int(table.iscrowd[j]))
            doc.update({k: float(v[j]) for k, v in table.extra.items() if not np.isnan(v[j])})
            out.append(doc)
        return out

    labels = {"images": out_images, "annotations": records(dataset.labels, False), "categories": categories}
    return labels, records(dataset.predictions, True)
