"""Outcomes and AP at many IoU thresholds at once (``outcomes_at_thresholds``, ``Evaluator.aps_at_thresholds``,
matches from one ``MatchingBasis``): the same as matching and evaluating each threshold alone, and as pycocotools.
Matching with the pairs' priority sorted once (``compute_candidates(label_ignored=...)``) is matching that sorts
them each time."""

import copy
import dataclasses

import numpy as np
import pytest

from detlens.core.ap_rule import COCO_RANGE_IOUS
from detlens.core.evaluation import Evaluator
from detlens.core.candidates import compute_candidates
from detlens.core.matching import (ignored_labels, match_on_basis, match_predictions, matching_basis,
                                   outcomes_at_thresholds)
from tests.coco_files import load_coco
from tests.pycoco_reference import pycocotools_per_class, pycocotools_stats
from tests.random_coco import random_coco

THRESHOLDS = (0.05, 0.1, 0.3, 0.5, 0.55, 0.75, 0.9, 0.95, 1.0)


@pytest.mark.parametrize("seed, method, max_dets, min_score, pixel_plus_one", [
    (30, "coco", 100, None, False), (31, "coco", 3, None, False), (32, "coco", 1, 0.4, False),
    (33, "coco", None, 0.25, True), (34, "voc", 100, None, False), (35, "voc", 2, 0.5, True),
    (36, "coco", 100, 0.99, False),  # almost nothing kept
])
def test_outcomes_at_many_thresholds_equal_each_match_alone(tmp_path, seed, method, max_dets, min_score,
                                                           pixel_plus_one):
    gt, results = random_coco(seed, crowd_rate=0.15)
    ev = Evaluator(load_coco(tmp_path, gt, results))
    swept = list(outcomes_at_thresholds(ev.dataset, ev.candidates(pixel_plus_one), THRESHOLDS, max_dets, method,
                                        min_score))
    assert len(swept) == len(THRESHOLDS)
    for t, outcome in zip(THRESHOLDS, swept):
        alone = match_predictions(ev.dataset, ev.candidates(pixel_plus_one), t, max_dets, method, min_score)
        np.testing.assert_array_equal(outcome, alone.pred_outcome, err_msg=f"threshold {t}")


def assert_same_match(a, b, label: str) -> None:
    for field in dataclasses.fields(a):
        x, y = getattr(a, field.name), getattr(b, field.name)
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype, (label, field.name)
            np.testing.assert_array_equal(x, y, err_msg=f"{label}: {field.name}")
        else:
            assert x == y, (label, field.name)


@pytest.mark.parametrize("seed, method, max_dets, min_score, pixel_plus_one, reasons, prioritised", [
    (50, "coco", 100, None, False, True, True), (51, "coco", 3, 0.3, False, True, False),
    (52, "coco", None, None, True, False, True), (53, "voc", 100, None, False, True, False),
    (54, "voc", 2, 0.5, True, False, False), (55, "coco", 1, None, False, True, True),
])
def test_matches_from_one_basis_equal_each_match_alone_in_any_order(tmp_path, seed, method, max_dets, min_score,
                                                                      pixel_plus_one, reasons, prioritised):
    """One basis serves every threshold, in any order: no match changes it (the dashboard keeps it in its cache)."""
    gt, results = random_coco(seed, crowd_rate=0.15)
    ev = Evaluator(load_coco(tmp_path, gt, results))
    ds = ev.dataset
    candidates = (compute_candidates(ds, pixel_plus_one, label_ignored=ignored_labels(ds)) if prioritised
                  else ev.candidates(pixel_plus_one))
    other = ev.other_class_candidates(pixel_plus_one) if reasons else None
    basis = matching_basis(ds, candidates, max_dets, method, min_score, other_class=other)
    before = copy.deepcopy(basis)
    for t in (0.9, 0.5, 0.05, 1.0, 0.75, 0.5, 0.05):  # a low one last: a change it made is still there
        alone = match_predictions(ds, ev.candidates(pixel_plus_one), t, max_dets, method, min_score, other_class=other)
        assert_same_match(match_on_basis(ds, candidates, basis, t), alone, f"threshold {t}")
    for field in dataclasses.fields(basis):
        np.testing.assert_array_equal(getattr(basis, field.name), getattr(before, field.name), err_msg=field.name)
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        match_on_basis(ds, candidates, basis, 0.0)


def test_an_evaluator_matches_from_the_basis_of_the_settings_asked(tmp_path):
    """A given basis serves its own settings only; another setting's basis is computed once and kept until the
    next setting's (the given one stays)."""
    gt, results = random_coco(56, crowd_rate=0.15)
    ev = Evaluator(load_coco(tmp_path, gt, results))
    given = ev.matching_basis()
    fresh = Evaluator(ev.dataset, candidates={False: ev.candidates()}, other_class={False: ev.other_class_candidates()},
                      bases=[given])
    assert fresh.matching_basis() is given and fresh.matching_basis(max_dets=5) is not given
    assert fresh.matching_basis(max_dets=5) is fresh.matching_basis(max_dets=5)
    five = fresh.matching_basis(max_dets=5)
    assert fresh.matching_basis(max_dets=7) is not five and fresh.matching_basis(max_dets=5) is not five
    assert fresh.matching_basis() is given
    for kwargs in ({}, {"max_dets": 5}, {"method": "voc"}, {"min_score": 0.5}, {"reasons": False},
                   {"pixel_plus_one": True}):
        assert fresh.matching_basis(**kwargs).serves(kwargs.get("max_dets", 100), kwargs.get("method", "coco"),
                                                     kwargs.get("min_score"), kwargs.get("pixel_plus_one", False),
                                                     kwargs.get("reasons", True))
        reasons = kwargs.pop("reasons", True)
        p1 = kwargs.pop("pixel_plus_one", False)
        other = ev.other_class_candidates(p1) if reasons else None
        alone = match_predictions(ev.dataset, ev.candidates(p1), 0.5, kwargs.get("max_dets", 100),
                                  kwargs.get("method", "coco"), kwargs.get("min_score"), other_class=other)
        assert_same_match(fresh.match(0.5, pixel_plus_one=p1, reasons=reasons, **kwargs), alone, str(kwargs))


@pytest.mark.parametrize("seed, ap_method, min_score", [
    (40, "coco101", None), (41, "coco101", 0.3), (42, "voc_all_point", None), (43, "voc_11_point", 0.6)])
def test_aps_at_thresholds_equal_evaluate_at_each(tmp_path, seed, ap_method, min_score):
    gt, results = random_coco(seed)
    ev = Evaluator(load_coco(tmp_path, gt, results))
    aps = ev.aps_at_thresholds(THRESHOLDS, ap_method, min_score=min_score)
    assert aps.shape == (len(THRESHOLDS), ev.dataset.n_categories)
    for row, t in zip(aps, THRESHOLDS):
        alone = np.array([c.ap for c in ev.evaluate(t, ap_method=ap_method, min_score=min_score).per_class])
        np.testing.assert_array_equal(row, alone)


@pytest.mark.parametrize("seed", [50, 51, 52])
def test_aps_at_coco_thresholds_are_pycocotools_per_class_and_their_mean_its_map(tmp_path, seed):
    gt, results = random_coco(seed, n_images=60)
    aps = Evaluator(load_coco(tmp_path, gt, results)).aps_at_thresholds(COCO_RANGE_IOUS)
    for row, t in zip(aps, COCO_RANGE_IOUS):
        reference = pycocotools_per_class(gt, results, t)
        for k, ap in enumerate(row):
            ref_ap = reference[k + 1][0]
            assert (np.isnan(ap) and np.isnan(ref_ap)) or abs(ap - ref_ap) <= 1e-12, (t, k, ap, ref_ap)
    assert abs(np.nanmean(aps) - pycocotools_stats(gt, results)[0]) <= 1e-12


def test_no_predictions_or_no_thresholds_give_shaped_answers(tmp_path):
    gt, _ = random_coco(60)
    ev = Evaluator(load_coco(tmp_path, gt, []))
    aps = ev.aps_at_thresholds((0.5, 0.75))
    labelled = ~np.isnan(aps[0])
    assert aps.shape == (2, 4) and labelled.any() and (aps[:, labelled] == 0).all()
    assert ev.aps_at_thresholds(()).shape == (0, 4)


@pytest.mark.parametrize("bad", [0.0, -0.1, 1.5])
def test_a_threshold_out_of_range_is_refused(tmp_path, bad):
    gt, results = random_coco(61)
    ev = Evaluator(load_coco(tmp_path, gt, results))
    with pytest.raises(ValueError, match="IoU threshold"):
        ev.aps_at_thresholds((0.5, bad))


@pytest.mark.parametrize("seed, max_dets, min_score, pixel_plus_one", [
    (70, 100, None, False), (71, 2, None, False), (72, 100, 0.4, True), (73, None, 0.2, False)])
def test_matching_with_the_priority_sorted_once_equals_sorting_each_time(tmp_path, seed, max_dets, min_score,
                                                                          pixel_plus_one):
    gt, results = random_coco(seed, crowd_rate=0.2)
    ds = load_coco(tmp_path, gt, results)
    unsorted = compute_candidates(ds, pixel_plus_one)
    sorted_once = compute_candidates(ds, pixel_plus_one, label_ignored=ignored_labels(ds))
    assert unsorted.priority is None and sorted_once.priority.shape == unsorted.pred.shape
    other = compute_candidates(ds, pixel_plus_one, same_class=False)
    assert other.priority is None  # only same-class pairs are matched
    for t in THRESHOLDS:
        a = match_predictions(ds, unsorted, t, max_dets, "coco", min_score, other_class=other)
        b = match_predictions(ds, sorted_once, t, max_dets, "coco", min_score, other_class=other)
        for field in dataclasses.fields(a):
            x, y = getattr(a, field.name), getattr(b, field.name)
            if isinstance(x, np.ndarray):
                np.testing.assert_array_equal(x, y, err_msg=f"{field.name} at {t}")
            else:
                assert x == y, (field.name, t)
    for x, y in zip(outcomes_at_thresholds(ds, unsorted, THRESHOLDS, max_dets, "coco", min_score),
                    outcomes_at_thresholds(ds, sorted_once, THRESHOLDS, max_dets, "coco", min_score)):
        np.testing.assert_array_equal(x, y)
