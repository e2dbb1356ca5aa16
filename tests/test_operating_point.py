"""Operating points (core/operating_point.py): hotcoco's maximum F-beta live, thresholds and curves by hand."""

from __future__ import annotations

import numpy as np
import pytest

from detlens.core.evaluation import Evaluator
from detlens.core.operating_point import f_beta, operating_points
from tests.coco_files import load_coco, tiny_gt, tiny_preds, write_coco
from tests.hotcoco_reference import hotcoco_eval
from tests.random_coco import random_coco

CASES = [(seed, iou, beta) for seed, iou in ((0, 0.3), (1, 0.5), (2, 0.75), (3, 0.5)) for beta in (1.0, 0.5, 2.0)]


@pytest.mark.parametrize("seed, iou, beta", CASES)
def test_mean_max_f_equals_hotcoco(tmp_path, seed, iou, beta):
    gt, results = random_coco(seed, crowd_rate=0.15)
    labels, preds = write_coco(tmp_path / "files", gt, results)
    evaluator = Evaluator(load_coco(tmp_path, gt, results))
    ours = operating_points(evaluator, evaluator.match(iou, reasons=False), beta=beta)
    assert ours.mean_f == pytest.approx(hotcoco_eval(labels, preds, iou).f_scores(beta=beta)[f"F{beta:g}"], abs=1e-12)


@pytest.mark.parametrize("seed, classes", [(4, ["c2"]), (5, ["c1", "c4"])])
def test_each_class_equals_hotcoco_on_that_class(tmp_path, seed, classes):
    gt, results = random_coco(seed)
    labels, preds = write_coco(tmp_path / "files", gt, results)
    evaluator = Evaluator(load_coco(tmp_path, gt, results))
    ours = operating_points(evaluator, evaluator.match(0.5, reasons=False), classes=classes)
    theirs = hotcoco_eval(labels, preds, 0.5, cat_ids=[int(c[1:]) for c in classes]).f_scores()["F1"]
    assert np.mean([ours.points[c].f for c in classes]) == pytest.approx(theirs, abs=1e-12)


SQUARE, FAR = (0, 0, 10, 10), (50, 50, 10, 10)


def points(tmp_path, label_boxes, pred_boxes, beta=1.0):
    evaluator = Evaluator(load_coco(tmp_path, tiny_gt(label_boxes), tiny_preds(pred_boxes)))
    return operating_points(evaluator, evaluator.match(0.5, reasons=False), beta=beta)


def test_threshold_by_hand(tmp_path):
    # TP 0.9, FP 0.8, TP 0.7 on two labels: F1 0.8 at recall 1, precision 2/3, reached at score 0.7
    result = points(tmp_path, [(SQUARE, "a"), (FAR, "a")],
                    [(SQUARE, "a", 0.9), ((80, 80, 10, 10), "a", 0.8), (FAR, "a", 0.7)])
    a = result.points["a"]
    assert a.f == pytest.approx(0.8) and a.recall == 1.0 and a.precision == pytest.approx(2 / 3)
    assert a.score == 0.7 and a.precision_at_score == pytest.approx(2 / 3) and a.recall_at_score == 1.0
    curve = result.curves["a"]
    assert curve.scores.tolist() == [0.9, 0.8, 0.7]
    assert curve.precision == pytest.approx([1, 0.5, 2 / 3]) and curve.recall == pytest.approx([0.5, 0.5, 1])
    assert curve.f == pytest.approx([2 / 3, 0.5, 0.8])
    assert a.to_dict() == {"score": 0.7, "precision": a.precision, "recall": 1.0, "F1": a.f,
                           "precision_at_score": a.precision_at_score, "recall_at_score": 1.0}


def test_precision_weighted_beta_prefers_the_confident_point(tmp_path):
    # the same data with beta 0.25: precision 1 at recall 0.5 beats precision 2/3 at recall 1
    a = points(tmp_path, [(SQUARE, "a"), (FAR, "a")],
               [(SQUARE, "a", 0.9), ((80, 80, 10, 10), "a", 0.8), (FAR, "a", 0.7)], beta=0.25).points["a"]
    assert a.score == 0.9 and a.recall == 0.5 and a.precision_at_score == 1.0
    assert a.to_dict()["F0.25"] == pytest.approx(f_beta(np.array([a.precision]), np.array([0.5]), 0.25)[0])


def test_equal_scores_are_kept_together(tmp_path):
    # TP and FP at the same score: the threshold keeps both
    a = points(tmp_path, [(SQUARE, "a")], [(SQUARE, "a", 0.5), ((80, 80, 10, 10), "a", 0.5)]).points["a"]
    assert a.score == 0.5 and a.precision_at_score == 0.5 and a.recall_at_score == 1.0
    assert points(tmp_path / "2", [(SQUARE, "a")], [(SQUARE, "a", 0.5), ((80, 80, 10, 10), "a", 0.5)]) \
        .curves["a"].scores.tolist() == [0.5]


def test_classes_without_labels_or_predictions(tmp_path):
    result = points(tmp_path, [(SQUARE, "a")], [(FAR, "b", 0.9)])
    a, b = result.points["a"], result.points["b"]
    assert a.f == 0.0 and a.score is None  # labels, no predictions: F 0, counted in the mean
    assert np.isnan(b.f) and b.score is None and b.to_dict()["F1"] is None  # no labels: undefined, left out
    assert result.mean_f == 0.0


@pytest.mark.parametrize("beta", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_beta(tmp_path, beta):
    with pytest.raises(ValueError, match="beta"):
        points(tmp_path, [(SQUARE, "a")], [(SQUARE, "a", 0.9)], beta=beta)
