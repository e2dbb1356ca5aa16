"""Calibration (core/calibration.py): live parity with hotcoco, hand-computed bins, per bucket."""

from __future__ import annotations

import numpy as np
import pytest

from detlens.core.calibration import calibration, calibration_by_bucket, reliability
from detlens.core.evaluation import Evaluator
from tests.coco_files import load_coco, write_coco
from tests.hotcoco_reference import hotcoco_eval
from tests.random_coco import random_coco

CASES = [(0, 0.3, 10), (1, 0.5, 10), (2, 0.75, 10), (3, 0.5, 7), (4, 0.3, 1), (5, 0.5, 25)]


@pytest.mark.parametrize("seed, iou, n_bins", CASES)
def test_equals_hotcoco(tmp_path, seed, iou, n_bins):
    gt, results = random_coco(seed, crowd_rate=0.15, score_levels=7)
    labels, preds = write_coco(tmp_path / "files", gt, results)
    ds = load_coco(tmp_path, gt, results)
    ours = calibration(ds, Evaluator(ds).match(iou, reasons=False), n_bins=n_bins)
    theirs = hotcoco_eval(labels, preds, iou).calibration(n_bins=n_bins, iou_threshold=iou)
    doc = ours.to_dict()
    assert doc["ece"] == pytest.approx(theirs["ece"], abs=1e-12)
    assert doc["mce"] == pytest.approx(theirs["mce"], abs=1e-12)
    assert [b["count"] for b in doc["bins"]] == [b["count"] for b in theirs["bins"]]
    for ours_bin, their_bin in zip(doc["bins"], theirs["bins"]):
        for key in ("bin_lower", "bin_upper", "avg_confidence", "avg_accuracy"):
            assert ours_bin[key] == pytest.approx(their_bin[key], abs=1e-12), key
    for name, ece in theirs["per_category"].items():
        assert doc["per_class"][name] == pytest.approx(ece, abs=1e-12), name


HAND = [
    # all correct at 0.95: one bin, gap 0.05
    ("overconfident-free", [0.95] * 4, [True] * 4, 0.05, 0.05),
    # half correct at 0.9: gap 0.4
    ("overconfident", [0.9] * 4, [True, False, True, False], 0.4, 0.4),
    # 1.0 lands in the last bin, 0.0 in the first: gaps 0 and 0
    ("ends", [1.0, 0.0], [True, False], 0.0, 0.0),
    # two bins, weights 3/4 and 1/4: |1 - 0.85| and |0 - 0.15|
    ("weighted", [0.85, 0.85, 0.85, 0.15], [True, True, True, False], 0.75 * 0.15 + 0.25 * 0.15, 0.15),
    ("nothing", [], [], 0.0, 0.0),
]


@pytest.mark.parametrize("name, scores, correct, ece, mce", HAND, ids=[h[0] for h in HAND])
def test_hand_computed(name, scores, correct, ece, mce):
    result = reliability(np.array(scores, float), np.array(correct, bool), 10)
    assert result.ece == pytest.approx(ece) and result.mce == pytest.approx(mce)
    assert int(result.counts.sum()) == len(scores)


@pytest.mark.parametrize("scores, n_bins, message", [([1.5], 10, "confidences in \\[0, 1\\]"),
                                                     ([float("nan")], 10, "confidences"),
                                                     ([0.5], 0, "bins")])
def test_bad_input(scores, n_bins, message):
    with pytest.raises(ValueError, match=message):
        reliability(np.array(scores), np.array([True]), n_bins)


def test_buckets_split_the_predictions(tmp_path):
    ds = load_coco(tmp_path, *random_coco(6))
    match = Evaluator(ds).match(0.5, reasons=False)
    bucket = np.where(ds.predictions.scores > 0.5, 1, 0)
    low, high = calibration_by_bucket(ds, match, bucket, 2)
    overall = calibration(ds, match).overall
    assert np.array_equal(low.counts + high.counts, overall.counts)
    assert low.counts[6:].sum() == 0 and high.counts[:5].sum() == 0
    assert overall.ece == pytest.approx((low.ece * low.counts.sum() + high.ece * high.counts.sum())
                                        / overall.counts.sum())
