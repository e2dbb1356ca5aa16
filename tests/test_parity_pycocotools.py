"""Per-class AP and AR equal pycocotools' (computed live) to 1e-12 on seeded random data.

The random sets (tests/random_coco.py) contain crowd labels, empty images,
images with only predictions, images with only labels, equal scores, exact IoU
ties and IoUs exactly at the thresholds.
"""

import numpy as np
import pytest

from detlens.core.evaluation import Evaluator
from tests.coco_files import load_coco
from tests.pycoco_reference import pycocotools_counts, pycocotools_per_class
from tests.random_coco import random_coco

THRESHOLDS = (0.1, 0.3, 0.5, 0.75, 0.9)


def assert_same_as_pycocotools(result, reference):
    for c in result.per_class:
        ref_ap, ref_ar = reference[int(c.name[1:])]
        if np.isnan(ref_ap):
            assert np.isnan(c.ap) and np.isnan(c.ar), c
        else:
            assert abs(c.ap - ref_ap) <= 1e-12, (c.name, c.ap, ref_ap)
            assert abs(c.ar - ref_ar) <= 1e-12, (c.name, c.ar, ref_ar)


@pytest.mark.parametrize("seed", range(12))
def test_random_sets_all_thresholds(tmp_path, seed):
    gt, results = random_coco(seed)
    evaluator = Evaluator(load_coco(tmp_path, gt, results))
    for t in THRESHOLDS:
        assert_same_as_pycocotools(evaluator.evaluate(t), pycocotools_per_class(gt, results, t))


@pytest.mark.parametrize("seed, max_dets", [(100, 1), (101, 3), (102, 5)])
def test_crowd_heavy_sets_with_small_max_dets(tmp_path, seed, max_dets):
    gt, results = random_coco(seed, n_images=30, n_classes=2, crowd_rate=0.35, score_levels=3)
    evaluator = Evaluator(load_coco(tmp_path, gt, results))
    for t in (0.1, 0.5, 0.9):
        assert_same_as_pycocotools(evaluator.evaluate(t, max_dets=max_dets),
                                   pycocotools_per_class(gt, results, t, max_dets))


@pytest.mark.parametrize("seed, max_dets", [(3, 100), (4, 100), (101, 3)])
def test_per_class_counts_equal_pycocotools(tmp_path, seed, max_dets):
    """Each class's TP, FP and FN (the evaluation's counts) are pycocotools' matches of that class alone."""
    gt, results = random_coco(seed, n_images=30, crowd_rate=0.2)
    evaluator = Evaluator(load_coco(tmp_path, gt, results))
    for t in (0.3, 0.5, 0.75):
        for c in evaluator.evaluate(t, max_dets=max_dets).per_class:
            cat = int(c.name[1:])
            reference = pycocotools_counts(
                {**gt, "annotations": [a for a in gt["annotations"] if a["category_id"] == cat]},
                [r for r in results if r["category_id"] == cat], t, max_dets)
            assert {"TP": c.tp, "FP": c.fp, "FN": c.fn} == reference, (c.name, t)


def test_class_subset_equals_full_run_restricted(tmp_path):
    gt, results = random_coco(7)
    evaluator = Evaluator(load_coco(tmp_path, gt, results))
    full = {c.name: c for c in evaluator.evaluate(0.5).per_class}
    subset = evaluator.evaluate(0.5, classes=["c2", "c4"])
    assert [c.name for c in subset.per_class] == ["c2", "c4"]
    assert subset.m_ap == pytest.approx(np.mean([full["c2"].ap, full["c4"].ap]), abs=1e-15)


def test_candidate_ious_computed_once(tmp_path, monkeypatch):
    import detlens.core.evaluation as evaluation

    calls = []
    real = evaluation.compute_candidates
    monkeypatch.setattr(evaluation, "compute_candidates", lambda *a, **k: calls.append(1) or real(*a, **k))
    gt, results = random_coco(3)
    evaluator = Evaluator(load_coco(tmp_path, gt, results))
    for t in THRESHOLDS:
        evaluator.evaluate(t, classes=["c1"])
        evaluator.evaluate(t)
        evaluator.match(t)  # with false-positive reasons: the other-class pairs, also once
    assert len(calls) == 2


@pytest.mark.parametrize("seed, min_score", [(20, 0.5), (21, 0.75)])
def test_min_score_equals_dropping_low_scores_before_pycocotools(tmp_path, seed, min_score):
    gt, results = random_coco(seed)
    evaluator = Evaluator(load_coco(tmp_path, gt, results))
    kept = [r for r in results if r["score"] >= min_score]
    for t in (0.3, 0.5):
        result = evaluator.evaluate(t, min_score=min_score, max_dets=3)
        assert_same_as_pycocotools(result, pycocotools_per_class(gt, kept, t, 3))
        assert result.counts["predictions"] == sum(1 for r in kept)


@pytest.mark.parametrize("seed", [10, 11])
def test_one_evaluator_alternating_between_matches_gives_each_its_own_numbers(tmp_path, seed):
    """The evaluator keeps the last match's accumulation order: asking about another match must not reuse it."""
    gt, results = random_coco(seed)
    evaluator = Evaluator(load_coco(tmp_path, gt, results))
    matches = {t: evaluator.match(t) for t in (0.3, 0.9)}
    for t in (0.3, 0.9, 0.9, 0.3):
        assert_same_as_pycocotools(evaluator.evaluate_match(matches[t]), pycocotools_per_class(gt, results, t))


@pytest.mark.parametrize("seed", [8, 9])
def test_evaluate_match_takes_every_setting_from_the_match(tmp_path, seed):
    gt, results = random_coco(seed)
    evaluator = Evaluator(load_coco(tmp_path, gt, results))
    match = evaluator.match(0.75, max_dets=3, method="coco", pixel_plus_one=False, min_score=0.3)
    result = evaluator.evaluate_match(match, classes=["c1", "c3"])
    direct = evaluator.evaluate(0.75, classes=["c1", "c3"], max_dets=3, min_score=0.3)
    assert (result.iou_threshold, result.max_dets, result.min_score) == (0.75, 3, 0.3)
    assert result.to_dict() == direct.to_dict()
    kept = [r for r in results if r["score"] >= 0.3]
    assert_same_as_pycocotools(result, pycocotools_per_class(gt, kept, 0.75, 3))


def test_evaluate_match_reports_the_box_convention_of_the_match(tmp_path):
    gt, results = random_coco(10)
    evaluator = Evaluator(load_coco(tmp_path, gt, results))
    result = evaluator.evaluate_match(evaluator.match(0.5, pixel_plus_one=True), ap_method="voc_all_point")
    assert result.pixel_plus_one is True and result.ap_method == "voc_all_point"
    assert result.to_dict() == evaluator.evaluate(0.5, ap_method="voc_all_point", pixel_plus_one=True).to_dict()


def test_evaluate_match_refuses_a_match_of_another_dataset(tmp_path):
    small = Evaluator(load_coco(tmp_path / "small", *random_coco(11, n_images=5)))
    large = Evaluator(load_coco(tmp_path / "large", *random_coco(12, n_images=20)))
    with pytest.raises(ValueError, match="another dataset"):
        large.evaluate_match(small.match(0.5))
