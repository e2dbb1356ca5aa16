"""The object-level pairing of two runs (core/compare_objects.py): hand-built edge cases of each rule."""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

import numpy as np
import pytest

from detlens.core.compare_objects import NO_GROUP, counterparts, object_changes
from detlens.core.evaluation import Evaluator
from tests.coco_files import load_coco

FOLDERS = itertools.count()
ROOT = Path(tempfile.mkdtemp(prefix="compare-objects-"))


def make_dataset(labels: list[tuple], preds: list[tuple]):
    """Two 100 x 100 images, classes 1 and 2, loaded from real COCO files: labels ``(image, class, box[,
    extra fields])``, predictions ``(image, class, box, score)``."""
    gt = {"images": [{"id": i, "file_name": f"{i}.jpg", "width": 100, "height": 100} for i in (1, 2)],
          "categories": [{"id": 1, "name": "one"}, {"id": 2, "name": "two"}],
          "annotations": [{"id": k + 1, "image_id": spec[0], "category_id": spec[1], "bbox": list(spec[2]),
                           "area": spec[2][2] * spec[2][3], "iscrowd": 0, **(spec[3] if len(spec) > 3 else {})}
                          for k, spec in enumerate(labels)]}
    results = [{"image_id": i, "category_id": c, "bbox": list(b), "score": s} for i, c, b, s in preds]
    return load_coco(ROOT / str(next(FOLDERS)), gt, results)

T = 0.5
BOX = [10, 10, 20, 20]  # 400 px²
LABELS = [(1, 1, BOX)]  # one label of class 1 in image 1


def shifted(dx: float) -> list[float]:
    """BOX moved right by ``dx`` px (IoU with BOX = (20 - dx) / (20 + dx))."""
    return [10 + dx, 10, 20, 20]


def changes(preds_a, preds_b, labels=LABELS, t=T):
    """Match both runs at ``t`` and pair them; predictions are ``(image, class, box, score)``."""
    ds_a, ds_b = make_dataset(labels, preds_a), make_dataset(labels, preds_b)
    match_a, match_b = Evaluator(ds_a).match(t), Evaluator(ds_b).match(t)
    return object_changes(ds_a, match_a, ds_b, match_b, t)


@pytest.mark.parametrize("preds_a, preds_b, label, a, b", [
    # label missed by A, found by B: fixed; A's lone FP elsewhere has no counterpart in B: fixed too
    ([(1, 1, [60, 60, 10, 10], 0.9)], [(1, 1, BOX, 0.9)], "fixed", ["fixed"], [""]),
    # the reverse: broken (B's FP gone in A)
    ([(1, 1, BOX, 0.9)], [(1, 1, [60, 60, 10, 10], 0.9)], "broken", [""], ["broken"]),
    # both miss it with an FP at the same place (IoU 1 >= t): both wrong, on the label and on each FP
    ([(1, 1, [60, 60, 10, 10], 0.9)], [(1, 1, [60, 60, 10, 10], 0.8)], "both_wrong", ["both_wrong"], ["both_wrong"]),
    # both find it: nothing to say
    ([(1, 1, BOX, 0.9)], [(1, 1, BOX, 0.5)], "", [""], [""]),
    # A mislocalised (IoU 1/3: FP), B's box at that place is within t of A's box and a TP: fixed
    ([(1, 1, shifted(10), 0.9)], [(1, 1, shifted(4), 0.9)], "fixed", ["fixed"], [""]),
    # the counterpart must be of the same class: B's FP of class 2 at A's FP's place does not pair
    ([(1, 1, [60, 60, 10, 10], 0.9)], [(1, 2, [60, 60, 10, 10], 0.9)], "both_wrong", ["fixed"], ["broken"]),
    # and of the same image
    ([(1, 1, [60, 60, 10, 10], 0.9)], [(2, 1, [60, 60, 10, 10], 0.9)], "both_wrong", ["fixed"], ["broken"]),
])
def test_groups(preds_a, preds_b, label, a, b):
    got = changes(preds_a, preds_b)
    assert list(got.labels) == [label]
    assert list(got.predictions_a) == a
    assert list(got.predictions_b) == b


def test_counterpart_needs_iou_at_least_the_threshold():
    # A's FP [60, 60, 12, 10]; B's FP moved right by d: IoU (12 - d) / (12 + d), exactly 0.5 at d = 4
    a = [(1, 1, [60, 60, 12, 10], 0.9)]
    at = changes(a, [(1, 1, [64, 60, 12, 10], 0.9)])
    beyond = changes(a, [(1, 1, [65, 60, 12, 10], 0.9)])
    assert list(at.predictions_a) == ["both_wrong"]
    assert list(beyond.predictions_a) == ["fixed"]  # gone: B's box is not at A's box's place


def test_counterpart_is_the_best_overlap_then_the_higher_score():
    a = [(1, 1, [60, 60, 10, 10], 0.9)]
    b = [(1, 1, [61, 60, 10, 10], 0.3), (1, 1, [60, 60, 10, 10], 0.2), (1, 1, [60, 60, 10, 10], 0.4)]
    ds_a, ds_b = make_dataset(LABELS, a), make_dataset(LABELS, b)
    m_a, m_b = Evaluator(ds_a).match(T), Evaluator(ds_b).match(T)
    # IoU 1 for rows 1 and 2 of B; row 2 has the higher score
    np.testing.assert_array_equal(counterparts(ds_a, m_a, np.array([0]), ds_b, m_b, T), [2])


def test_ignored_predictions_have_no_counterpart_role():
    # B's prediction at A's FP's place is below B's minimum score: ignored, so A's FP is gone in B
    ds_a = make_dataset(LABELS, [(1, 1, [60, 60, 10, 10], 0.9)])
    ds_b = make_dataset(LABELS, [(1, 1, [60, 60, 10, 10], 0.1)])
    m_a, m_b = Evaluator(ds_a).match(T), Evaluator(ds_b).match(T, min_score=0.5)
    got = object_changes(ds_a, m_a, ds_b, m_b, T)
    assert list(got.predictions_a) == ["fixed"] and list(got.predictions_b) == [NO_GROUP]


def test_a_tp_counterpart_makes_b_fp_broken():
    # A finds the label; B finds it too and adds a duplicate: the duplicate's counterpart in A is A's TP
    got = changes([(1, 1, BOX, 0.9)], [(1, 1, BOX, 0.9), (1, 1, shifted(1), 0.8)])
    assert list(got.labels) == [""]
    assert list(got.predictions_b) == ["", "broken"]
    assert list(got.counterpart_b) == [-1, 0]


def test_crowd_labels_are_in_no_group():
    ds_labels = [(1, 1, BOX, {"iscrowd": 1})]
    got = changes([], [(1, 1, [60, 60, 10, 10], 0.9)], labels=ds_labels)
    assert list(got.labels) == [""]
    assert list(got.predictions_b) == ["broken"]


def test_runs_with_different_labels_are_refused():
    ds_a, ds_b = make_dataset(LABELS, []), make_dataset(LABELS * 2, [])
    with pytest.raises(ValueError, match="labels differ"):
        object_changes(ds_a, Evaluator(ds_a).match(T), ds_b, Evaluator(ds_b).match(T), T)
