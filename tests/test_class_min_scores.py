"""Per-prediction minimum scores (core/matching.py restrict_to_class_min_scores, core/operating_point.py
prediction_minimums): derived from the match without a minimum, equal to matching from scratch the dataset
without the predictions under their class's minimum."""

from __future__ import annotations

import numpy as np
import pytest

from detlens.core.evaluation import Evaluator
from detlens.core.matching import (BELOW_MIN_SCORE, IGNORED, OUTCOME_NAMES, REASON_NAMES,
                                   restrict_to_class_min_scores, restrict_to_min_score)
from detlens.core.operating_point import operating_points, prediction_minimums
from tests.coco_files import load_coco, tiny_gt, tiny_preds
from tests.random_coco import random_coco

# scores lie on twelfths: 0.5 and 7/12 are met exactly by some predictions (ties at the minimum), 1.5 by none
CLASS_MINIMUMS = [
    {"c1": 0.5, "c2": None, "c3": 7 / 12, "c4": 1.5},
    {"c1": 1 / 12, "c2": 0.25, "c3": None, "c4": 11 / 12},
    {},  # no class has a minimum: every prediction kept
]
PRED_FIELDS = ("pred_outcome", "pred_reason", "pred_label", "pred_iou", "pred_rank")
LABEL_FIELDS = ("label_outcome", "label_ignored")


def assert_equals_matching_without_dropped(tmp_path, gt, results, t, max_dets, method, thresholds):
    """Restricting the match without a minimum equals matching from scratch the kept predictions only."""
    ds = load_coco(tmp_path / "all", gt, results)
    base = Evaluator(ds).match(t, max_dets, method)
    minimums = prediction_minimums(ds, thresholds)
    derived = restrict_to_class_min_scores(base, ds.predictions.scores, minimums)
    kept = np.flatnonzero(ds.predictions.scores >= minimums)
    dropped = np.setdiff1d(np.arange(len(ds.predictions)), kept)
    subset = load_coco(tmp_path / "kept", gt, [results[i] for i in kept])
    assert np.array_equal(subset.predictions.scores, ds.predictions.scores[kept])  # rows in file order
    direct = Evaluator(subset).match(t, max_dets, method)
    assert derived.min_score is None
    for name in PRED_FIELDS:
        assert np.array_equal(getattr(derived, name)[kept], getattr(direct, name)), name
    for name in LABEL_FIELDS:
        assert np.array_equal(getattr(derived, name), getattr(direct, name)), name
    label_pred = np.where(direct.label_pred >= 0, kept[np.maximum(direct.label_pred, 0)], -1)
    assert np.array_equal(derived.label_pred, label_pred)
    assert (derived.pred_outcome[dropped] == IGNORED).all() and (derived.pred_reason[dropped] == BELOW_MIN_SCORE).all()
    assert (derived.pred_label[dropped] == -1).all() and (derived.pred_iou[dropped] == 0).all()
    return derived


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("method", ["coco", "voc"])
@pytest.mark.parametrize("max_dets", [100, 2])  # 2: the cap binds in most images
@pytest.mark.parametrize("t", [0.3, 0.5, 0.75])
@pytest.mark.parametrize("thresholds", CLASS_MINIMUMS, ids=["ties-none-above", "low-high", "empty"])
def test_class_minimums_equal_matching_without_the_dropped_predictions(tmp_path, seed, method, max_dets, t,
                                                                       thresholds):
    gt, results = random_coco(seed, crowd_rate=0.15)
    assert_equals_matching_without_dropped(tmp_path, gt, results, t, max_dets, method, thresholds)


@pytest.mark.parametrize("seed, t", [(3, 0.5), (4, 0.3), (5, 0.75)])
def test_the_f1_optimal_thresholds_equal_matching_without_the_dropped_predictions(tmp_path, seed, t):
    gt, results = random_coco(seed, crowd_rate=0.15)
    ds = load_coco(tmp_path / "points", gt, results)
    ev = Evaluator(ds)
    points = operating_points(ev, ev.match(t, reasons=False))
    thresholds = {name: p.score for name, p in points.points.items()}
    assert any(s is not None for s in thresholds.values())
    assert_equals_matching_without_dropped(tmp_path, gt, results, t, 100, "coco", thresholds)


A, FAR = [0, 0, 10, 10], [50, 50, 10, 10]


def test_a_score_equal_to_its_minimum_is_kept_and_classes_apart(tmp_path):
    # class a: minimum 0.5 keeps its TP at exactly 0.5 and drops the 0.4 FP; class b keeps all (no minimum)
    ds = load_coco(tmp_path, tiny_gt([(A, "a"), (FAR, "b")]),
                   tiny_preds([(A, "a", 0.5), (FAR, "a", 0.4), (FAR, "b", 0.1), (A, "b", 0.05)]))
    base = Evaluator(ds).match(0.5)
    minimums = prediction_minimums(ds, {"a": 0.5, "b": None})
    assert minimums.tolist() == [0.5, 0.5, -np.inf, -np.inf]
    m = restrict_to_class_min_scores(base, ds.predictions.scores, minimums)
    assert [OUTCOME_NAMES[o] for o in m.pred_outcome] == ["TP", "ignored", "TP", "FP"]
    assert [REASON_NAMES[r] for r in m.pred_reason][1] == "below_min_score"
    just_above = restrict_to_class_min_scores(base, ds.predictions.scores, prediction_minimums(ds, {"a": 0.5000001}))
    assert [OUTCOME_NAMES[o] for o in just_above.pred_outcome] == ["ignored", "ignored", "TP", "FP"]
    assert [OUTCOME_NAMES[o] for o in just_above.label_outcome] == ["FN", "TP"]


def test_a_class_minimum_frees_the_label_its_dropped_prediction_had(tmp_path):
    ds = load_coco(tmp_path, tiny_gt([(A, "a")]), tiny_preds([(A, "a", 0.3)]))
    m = restrict_to_class_min_scores(Evaluator(ds).match(0.5), ds.predictions.scores,
                                     prediction_minimums(ds, {"a": 0.31}))
    assert [OUTCOME_NAMES[o] for o in m.label_outcome] == ["FN"] and m.label_pred.tolist() == [-1]


def test_one_minimum_for_every_class_equals_the_global_minimum(tmp_path):
    gt, results = random_coco(6)
    ds = load_coco(tmp_path, gt, results)
    base = Evaluator(ds).match(0.5)
    per_class = restrict_to_class_min_scores(base, ds.predictions.scores,
                                             prediction_minimums(ds, {f"c{k}": 0.5 for k in range(1, 5)}))
    one = restrict_to_min_score(base, ds.predictions.scores, 0.5)
    for name in (*PRED_FIELDS, *LABEL_FIELDS, "label_pred"):
        assert np.array_equal(getattr(per_class, name), getattr(one, name)), name


@pytest.mark.parametrize("minimums, match", [
    ([0.5, np.nan], "one number"),
    ([0.5], "one number"),
    ([0.5, 0.5, 0.5], "one number"),
])
def test_bad_minimums_are_refused(tmp_path, minimums, match):
    ds = load_coco(tmp_path, tiny_gt([(A, "a")]), tiny_preds([(A, "a", 0.5), (FAR, "a", 0.4)]))
    base = Evaluator(ds).match(0.5)
    with pytest.raises(ValueError, match=match):
        restrict_to_class_min_scores(base, ds.predictions.scores, np.array(minimums))


def test_a_match_with_a_minimum_is_refused(tmp_path):
    ds = load_coco(tmp_path, tiny_gt([(A, "a")]), tiny_preds([(A, "a", 0.5)]))
    with pytest.raises(ValueError, match="without a minimum"):
        restrict_to_class_min_scores(Evaluator(ds).match(0.5, min_score=0.2), ds.predictions.scores, np.zeros(1))
