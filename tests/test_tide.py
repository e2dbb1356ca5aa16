"""TIDE breakdown (core/tide.py): live parity with hotcoco, hand-computed cases of every type, per bucket."""

from __future__ import annotations

import numpy as np
import pytest

from detlens.core.evaluation import Evaluator
from detlens.core.metrics.tables import compute_metric_tables
from detlens.core.tide import classify_errors, tide_by_bucket, tide_by_metric, tide_errors
from detlens.core.vocabulary import ErrorType, TideOracle
from tests.coco_files import load_coco, tiny_gt, tiny_preds, write_coco
from tests.hotcoco_reference import hotcoco_eval
from tests.random_coco import random_coco

TOL = 1e-12
CASES = [(seed, iou) for seed in (0, 1, 2, 7) for iou in (0.3, 0.5, 0.75)]


def detlens_tide(tmp_path, gt, results, iou, classes=None):
    ds = load_coco(tmp_path, gt, results)
    evaluator = Evaluator(ds)
    return tide_errors(evaluator, evaluator.match(iou, reasons=False), classes)


@pytest.mark.parametrize("seed, iou", CASES)
def test_equals_hotcoco(tmp_path, seed, iou):
    gt, results = random_coco(seed, crowd_rate=0.15)
    labels, preds = write_coco(tmp_path, gt, results)
    ours = detlens_tide(tmp_path, gt, results, iou).overall
    theirs = hotcoco_eval(labels, preds, iou).tide_errors(pos_thr=iou, bg_thr=0.1)
    assert ours.counts == theirs["counts"]
    assert set(ours.delta_ap) == set(theirs["delta_ap"])
    for key, value in theirs["delta_ap"].items():
        assert ours.delta_ap[key] == pytest.approx(value, abs=TOL), key
    assert ours.ap_base == pytest.approx(theirs["ap_base"], abs=TOL)


@pytest.mark.parametrize("seed, iou, classes", [(3, 0.5, ["c1", "c3"]), (4, 0.3, ["c2"]), (5, 0.75, ["c4", "c2", "c1"])])
def test_a_class_subset_equals_hotcoco_with_those_categories(tmp_path, seed, iou, classes):
    gt, results = random_coco(seed, crowd_rate=0.15)
    labels, preds = write_coco(tmp_path, gt, results)
    ours = detlens_tide(tmp_path, gt, results, iou, classes).overall
    cat_ids = sorted(int(c[1:]) for c in classes)
    theirs = hotcoco_eval(labels, preds, iou, cat_ids=cat_ids).tide_errors(pos_thr=iou, bg_thr=0.1)
    assert ours.counts == theirs["counts"]
    for key, value in theirs["delta_ap"].items():
        assert ours.delta_ap[key] == pytest.approx(value, abs=TOL), key


@pytest.mark.parametrize("seed", [0, 6])
def test_per_class_adds_up_to_overall(tmp_path, seed):
    gt, results = random_coco(seed)
    result = detlens_tide(tmp_path, gt, results, 0.5)
    with_labels = [b for b in result.per_class.values() if not np.isnan(b.ap_base)]
    for key, value in result.overall.delta_ap.items():
        assert value == pytest.approx(np.mean([b.delta_ap[key] for b in with_labels]), abs=TOL)
    for key, value in result.overall.counts.items():
        assert value == sum(b.counts[key] for b in result.per_class.values())


# Hand-computed cases on one 100x100 image, t = 0.5. Boxes are [x, y, w, h].
SQUARE = (0, 0, 10, 10)
P1 = 1 / (1 + np.spacing(1))  # pycocotools' precision of a lone true positive
HALF = 1 / (2 + np.spacing(1))  # ... of a true positive after one false positive
HAND = [
    # a box of the right class at IoU 0.4: Loc; fixing it recovers the only label (AP 0 -> 1)
    ("loc", [(SQUARE, "a")], [((0, 0, 10, 4), "a", 0.9)],
     {"Loc": 1}, {"Loc": P1, "FP": 0.0, "FN": 0.0}),
    # right box, wrong class: Cls; the fix scores it as a TP of class b (the only class with labels)
    ("cls", [(SQUARE, "b")], [(SQUARE, "a", 0.9)],
     {"Cls": 1}, {"Cls": P1, "FN": 0.0}),
    # class a box on a class-b label at IoU 0.3, above class a's TP: Both; removing it doubles a's precision;
    # class b's label is a Miss (nothing targets it): dropping it from b's labels leaves b without labels (AP 0)
    ("both", [(SQUARE, "b"), ((50, 50, 10, 10), "a")], [((0, 0, 10, 3), "a", 0.9), ((50, 50, 10, 10), "a", 0.5)],
     {"Both": 1, "Miss": 1}, {"Both": (P1 - HALF) / 2, "FP": (P1 - HALF) / 2, "Miss": 0.0, "FN": 0.0}),
    # a second box on a taken label, between the two TPs: Dupe
    ("dupe", [(SQUARE, "a"), ((50, 50, 10, 10), "a")],
     [(SQUARE, "a", 0.9), ((0, 0, 10, 9), "a", 0.8), ((50, 50, 10, 10), "a", 0.7)],
     {"Dupe": 1}, {"Dupe": P1 - (51 * P1 + 50 * 2 / 3) / 101, "FP": P1 - (51 * P1 + 50 * 2 / 3) / 101}),
    # a box far from every label, above the TP: Bkg
    ("bkg", [(SQUARE, "a")], [((60, 60, 10, 10), "a", 0.9), (SQUARE, "a", 0.5)],
     {"Bkg": 1}, {"Bkg": P1 - HALF, "FP": P1 - HALF}),
    # (FN: dropping a class's only label leaves it without labels, AP 0, as hotcoco)
    # one of two labels found: one Miss; dropping it from the labels doubles recall (51/101 -> 1)
    ("miss", [(SQUARE, "a"), ((50, 50, 10, 10), "a")], [(SQUARE, "a", 0.9)],
     {"Miss": 1}, {"Miss": P1 - 51 * P1 / 101, "FN": P1 - 51 * P1 / 101}),
    # two Loc boxes on one missed label: the higher score wins it, the other is removed by the fix
    ("loc contest", [(SQUARE, "a")], [((0, 0, 10, 4), "a", 0.6), ((0, 0, 10, 3), "a", 0.9)],
     {"Loc": 2}, {"Loc": P1, "FP": 0.0, "FN": 0.0}),
    # IoU exactly t with a taken label: Loc (closed window), not Dupe; its label is taken, so the fix removes it
    ("loc at t", [(SQUARE, "a")], [(SQUARE, "a", 0.9), ((0, 0, 10, 5), "a", 0.5)],
     {"Loc": 1}, {"Loc": 0.0, "Dupe": 0.0, "FP": 0.0}),
]


@pytest.mark.parametrize("name, label_boxes, pred_boxes, counts, deltas", HAND, ids=[h[0] for h in HAND])
def test_hand_computed_cases(tmp_path, name, label_boxes, pred_boxes, counts, deltas):
    result = detlens_tide(tmp_path, tiny_gt(label_boxes), tiny_preds(pred_boxes), 0.5).overall
    assert result.counts == {e.value: counts.get(e.value, 0) for e in ErrorType}
    for key, value in deltas.items():
        assert result.delta_ap[key] == pytest.approx(value, abs=TOL), key


@pytest.mark.parametrize("name, label_boxes, pred_boxes, counts, deltas", HAND, ids=[h[0] for h in HAND])
def test_hand_cases_equal_hotcoco(tmp_path, name, label_boxes, pred_boxes, counts, deltas):
    gt, results = tiny_gt(label_boxes), tiny_preds(pred_boxes)
    labels, preds = write_coco(tmp_path / "files", gt, results)
    theirs = hotcoco_eval(labels, preds, 0.5).tide_errors(pos_thr=0.5, bg_thr=0.1)
    ours = detlens_tide(tmp_path, gt, results, 0.5).overall
    assert ours.counts == theirs["counts"]
    for key, value in theirs["delta_ap"].items():
        assert ours.delta_ap[key] == pytest.approx(value, abs=TOL), key


@pytest.mark.parametrize("label_boxes, pred_boxes, counts, defined", [
    ([(SQUARE, "a")], [], {"Miss": 1}, True),
    ([], [(SQUARE, "a", 0.5)], {"Bkg": 1}, False),
    ([], [], {}, False),
], ids=["no predictions", "no labels", "nothing"])
def test_one_side_empty(tmp_path, label_boxes, pred_boxes, counts, defined):
    result = detlens_tide(tmp_path, tiny_gt(label_boxes), tiny_preds(pred_boxes), 0.5)
    assert result.overall.counts == {e.value: counts.get(e.value, 0) for e in ErrorType}
    # no class with labels: ΔAP undefined (null in JSON), where hotcoco reports 0
    assert all((v == 0.0) if defined else (v is None) for v in result.to_dict()["delta_ap"].values())


def test_only_coco_matching(tmp_path):
    evaluator = Evaluator(load_coco(tmp_path, *random_coco(0)))
    with pytest.raises(ValueError, match="COCO matching"):
        classify_errors(evaluator, evaluator.match(0.5, method="voc", reasons=False))


def planted(small: str, n_images: int = 60) -> tuple[dict, list[dict]]:
    """Each image: a large and a small label of one class. Large ones are found (every fifth missed, with a
    background box instead); small ones are either ``mislocalised`` (a box at IoU 0.33) or ``missed``."""
    gt = {"images": [{"id": i + 1, "file_name": f"{i}.jpg", "width": 100, "height": 100} for i in range(n_images)],
          "annotations": [], "categories": [{"id": 1, "name": "a"}]}
    results = []
    for i in range(n_images):
        for box in ((10, 10, 40, 40), (70, 70, 6, 6)):
            gt["annotations"].append({"id": len(gt["annotations"]) + 1, "image_id": i + 1, "category_id": 1,
                                      "bbox": list(box), "area": box[2] * box[3], "iscrowd": 0})
        score = 0.3 + 0.6 * (i % 10) / 10
        if i % 5:
            results.append({"image_id": i + 1, "category_id": 1, "bbox": [10, 10, 40, 40], "score": score})
        else:
            results.append({"image_id": i + 1, "category_id": 1, "bbox": [55, 5, 40, 40], "score": score})
        if small == "mislocalised":
            results.append({"image_id": i + 1, "category_id": 1, "bbox": [72, 72, 6, 4], "score": score})
    return gt, results


@pytest.mark.parametrize("small, dominant", [("mislocalised", ErrorType.LOC), ("missed", ErrorType.MISS)])
def test_planted_small_objects_errors_by_area(tmp_path, small, dominant):
    ds = load_coco(tmp_path, *planted(small))
    evaluator = Evaluator(ds)
    match = evaluator.match(0.5, reasons=False)
    errors = classify_errors(evaluator, match)
    table = tide_by_metric(evaluator, match, errors, compute_metric_tables(ds), "Object Area - Relative (L)",
                           n_buckets=2, method="equal_width")
    small_bucket, large_bucket = table.buckets
    assert max(small_bucket.counts, key=small_bucket.counts.get) == dominant
    assert small_bucket.counts[dominant] / sum(small_bucket.counts.values()) > 0.9
    assert max(ErrorType, key=lambda e: small_bucket.delta_ap[e]) == dominant
    # the large objects' errors are the planted misses and background boxes, in the large bucket only
    assert large_bucket.counts[ErrorType.MISS] == 12 and large_bucket.counts[ErrorType.BKG] == 12
    assert small_bucket.counts[ErrorType.BKG] == 0


@pytest.mark.parametrize("seed", [1, 2])
def test_one_bucket_holding_everything_is_the_overall_breakdown(tmp_path, seed):
    ds = load_coco(tmp_path, *random_coco(seed))
    evaluator = Evaluator(ds)
    match = evaluator.match(0.5, reasons=False)
    errors = classify_errors(evaluator, match)
    overall = tide_errors(evaluator, match, errors=errors).overall
    everything = tide_by_bucket(evaluator, match, errors, np.zeros(len(ds.predictions), np.int64),
                                np.zeros(len(ds.labels), np.int64), 1)[0]
    assert everything.counts == overall.counts
    for key, value in overall.delta_ap.items():
        assert everything.delta_ap[key] == pytest.approx(value, abs=TOL)


@pytest.mark.parametrize("seed", [3, 4])
def test_bucket_counts_add_up_and_empty_buckets_fix_nothing(tmp_path, seed):
    ds = load_coco(tmp_path, *random_coco(seed))
    evaluator = Evaluator(ds)
    match = evaluator.match(0.5, reasons=False)
    errors = classify_errors(evaluator, match)
    table = tide_by_metric(evaluator, match, errors, compute_metric_tables(ds), "Object Area - Relative (L)",
                           n_buckets=4)
    overall = tide_errors(evaluator, match, errors=errors).overall
    for e in ErrorType:
        assert sum(b.counts[e] for b in table.buckets) == overall.counts[e]
    nothing = tide_by_bucket(evaluator, match, errors, np.full(len(ds.predictions), -1),
                             np.full(len(ds.labels), -1), 1)[0]
    assert all(v == 0.0 for v in nothing.delta_ap.values()) and not any(nothing.counts.values())
    assert set(nothing.delta_ap) == {e.value for e in ErrorType} | {o.value for o in TideOracle}
