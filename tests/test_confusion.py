"""Confusion matrix (core/confusion.py): live parity with hotcoco and hand-computed cells."""

from __future__ import annotations

import numpy as np
import pytest

from detlens.core.confusion import confusion_matrix
from detlens.core.evaluation import Evaluator
from tests.coco_files import load_coco, tiny_gt, tiny_preds, write_coco
from tests.hotcoco_reference import hotcoco_eval
from tests.random_coco import random_coco

# (seed, IoU, max dets per image (None = all), min score)
CASES = [(0, 0.3, 100, None), (1, 0.5, 100, None), (2, 0.75, 100, None), (3, 0.5, 4, None),
         (4, 0.3, None, 0.4), (5, 0.75, 3, 0.25), (6, 0.5, 1, None)]


@pytest.mark.parametrize("seed, iou, max_dets, min_score", CASES)
def test_equals_hotcoco(tmp_path, seed, iou, max_dets, min_score):
    gt, results = random_coco(seed, crowd_rate=0.15)
    labels, preds = write_coco(tmp_path / "files", gt, results)
    ours = confusion_matrix(Evaluator(load_coco(tmp_path, gt, results)), iou, max_dets=max_dets, min_score=min_score)
    theirs = hotcoco_eval(labels, preds, iou).confusion_matrix(
        iou_thr=iou, max_det=max_dets or len(results) + 1, min_score=min_score)
    assert np.array_equal(ours.counts, theirs["matrix"].astype(np.int64))
    assert np.allclose(ours.rates, theirs["normalized"], rtol=0, atol=1e-15)
    assert list(ours.classes) == theirs["cat_names"]


@pytest.mark.parametrize("seed, classes", [(7, ["c1", "c2"]), (8, ["c4"])])
def test_a_class_subset_equals_hotcoco_with_those_categories(tmp_path, seed, classes):
    gt, results = random_coco(seed, crowd_rate=0.15)
    labels, preds = write_coco(tmp_path / "files", gt, results)
    ours = confusion_matrix(Evaluator(load_coco(tmp_path, gt, results)), 0.5, classes=classes)
    theirs = hotcoco_eval(labels, preds, 0.5, cat_ids=[int(c[1:]) for c in classes]).confusion_matrix(iou_thr=0.5)
    assert np.array_equal(ours.counts, theirs["matrix"].astype(np.int64))


BOX = (0, 0, 10, 10)
FAR = (60, 60, 10, 10)
HAND = [
    # a cat predicted on a dog label: row dog, column cat
    ("cat on dog", [(BOX, "dog")], [(BOX, "cat", 0.9)], {("dog", "cat"): 1}),
    # right class: the diagonal
    ("hit", [(BOX, "cat")], [(BOX, "cat", 0.9)], {("cat", "cat"): 1}),
    # nothing near the prediction: background row; the missed label: background column
    ("apart", [(BOX, "dog")], [(FAR, "cat", 0.9)], {("background", "cat"): 1, ("dog", "background"): 1}),
    # IoU 0.4 < t: no pair
    ("too far", [(BOX, "dog")], [((0, 0, 10, 4), "dog", 0.9)], {("background", "dog"): 1, ("dog", "background"): 1}),
    # one label, two predictions: the higher score takes it, the other is background
    ("two on one", [(BOX, "dog")], [(BOX, "cat", 0.6), (BOX, "dog", 0.9)], {("dog", "dog"): 1, ("background", "cat"): 1}),
    # a crowd label takes no part: the prediction on it is background, the crowd is not a missed label
    ("crowd", [(BOX, "dog", 1)], [(BOX, "dog", 0.9)], {("background", "dog"): 1}),
    # equal IoU with two labels: the later in (class, file) order wins (cat < dog)
    ("tie", [(BOX, "dog"), (BOX, "cat")], [(BOX, "dog", 0.9)], {("dog", "dog"): 1, ("cat", "background"): 1}),
]


@pytest.mark.parametrize("name, label_boxes, pred_boxes, cells", HAND, ids=[h[0] for h in HAND])
def test_hand_computed_cells(tmp_path, name, label_boxes, pred_boxes, cells):
    classes = ("cat", "dog")
    gt, results = tiny_gt(label_boxes, classes=classes), tiny_preds(pred_boxes, classes=classes)
    cm = confusion_matrix(Evaluator(load_coco(tmp_path, gt, results)), 0.5)
    names = [*cm.classes, "background"]
    expected = np.zeros((3, 3), np.int64)
    for (row, col), n in cells.items():
        expected[names.index(row), names.index(col)] = n
    assert np.array_equal(cm.counts, expected)
    labels, preds = write_coco(tmp_path / "files", gt, results)
    assert np.array_equal(cm.counts, hotcoco_eval(labels, preds, 0.5).confusion_matrix(iou_thr=0.5)["matrix"])


def test_rates_document_and_top_confusions(tmp_path):
    classes = ("cat", "dog")
    gt = tiny_gt([(BOX, "dog"), ((20, 0, 10, 10), "dog"), ((40, 0, 10, 10), "dog"), (FAR, "cat")], classes=classes)
    results = tiny_preds([(BOX, "cat", 0.9), ((20, 0, 10, 10), "cat", 0.8), ((40, 0, 10, 10), "dog", 0.7)],
                         classes=classes)
    cm = confusion_matrix(Evaluator(load_coco(tmp_path, gt, results)), 0.5)
    doc = cm.to_dict()
    assert doc["classes"] == ["cat", "dog", "background"]
    assert doc["matrix"] == [[0, 0, 1], [2, 1, 0], [0, 0, 0]]
    assert doc["rates"][1] == pytest.approx([2 / 3, 1 / 3, 0.0]) and doc["rates"][2] == [0.0, 0.0, 0.0]
    assert cm.top_confusions(2) == [("dog", "cat", 2), ("cat", "background", 1)]
    assert cm.pred_label.tolist() == [0, 1, 2]  # which label each prediction was paired with (the Explorer's cell)


@pytest.mark.parametrize("label_boxes, pred_boxes, matrix", [
    ([(BOX, "dog")], [], [[0, 0, 0], [0, 0, 1], [0, 0, 0]]),
    ([], [(BOX, "cat", 0.5)], [[0, 0, 0], [0, 0, 0], [1, 0, 0]]),
    ([], [], [[0, 0, 0], [0, 0, 0], [0, 0, 0]]),
], ids=["no predictions", "no labels", "nothing"])
def test_one_side_empty(tmp_path, label_boxes, pred_boxes, matrix):
    classes = ("cat", "dog")
    gt, results = tiny_gt(label_boxes, classes=classes), tiny_preds(pred_boxes, classes=classes)
    assert confusion_matrix(Evaluator(load_coco(tmp_path, gt, results)), 0.5).counts.tolist() == matrix


@pytest.mark.parametrize("kwargs, message", [({"iou_threshold": 0.0}, "IoU threshold"),
                                             ({"max_dets": 0}, "max_dets"),
                                             ({"classes": ["nope"]}, "unknown class")])
def test_bad_settings(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        confusion_matrix(Evaluator(load_coco(tmp_path, *random_coco(0))), **kwargs)
