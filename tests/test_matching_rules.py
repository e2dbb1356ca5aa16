"""The matching rules of core/matching.py, each tested exactly at its edge."""

import numpy as np
import pytest

from detlens.core.evaluation import Evaluator
from detlens.core.matching import OUTCOME_NAMES, REASON_NAMES
from tests.coco_files import load_coco, tiny_gt, tiny_preds


def outcomes(tmp_path, labels, preds, t=0.5, max_dets=100, method="coco"):
    ds = load_coco(tmp_path, tiny_gt(labels), tiny_preds(preds))
    m = Evaluator(ds).match(t, max_dets, method)
    pred = [(OUTCOME_NAMES[o], REASON_NAMES[r]) for o, r in zip(m.pred_outcome, m.pred_reason)]
    label = [OUTCOME_NAMES[o] for o in m.label_outcome]
    return pred, label, m


A = [0, 0, 10, 10]


@pytest.mark.parametrize(
    "t, expected",
    [(0.5, ("TP", "")), (0.5000001, ("FP", "low_iou")), (0.45, ("TP", ""))],
)
def test_iou_exactly_at_threshold_matches(tmp_path, t, expected):
    # IoU = 100 / 200 = 0.5 exactly
    pred, _, _ = outcomes(tmp_path, [(A, "a")], [([0, 0, 10, 20], "a", 0.9)], t=t)
    assert pred == [expected]


def test_threshold_one_matches_identical_box(tmp_path):
    pred, label, _ = outcomes(tmp_path, [(A, "a")], [(A, "a", 0.9)], t=1.0)
    assert pred == [("TP", "")] and label == ["TP"]


def test_equal_iou_goes_to_later_label(tmp_path):
    # prediction overlaps both labels with IoU 1/3
    pred, label, m = outcomes(tmp_path, [(A, "a"), ([10, 0, 10, 10], "a")], [([5, 0, 10, 10], "a", 0.9)], t=0.3)
    assert label == ["FN", "TP"] and m.pred_label.tolist() == [1]


def test_equal_scores_keep_file_order(tmp_path):
    pred, _, m = outcomes(tmp_path, [(A, "a")], [(A, "a", 0.5), ([0, 0, 10, 11], "a", 0.5)])
    assert pred == [("TP", ""), ("FP", "duplicate")]


def test_higher_score_takes_label_even_with_lower_iou(tmp_path):
    pred, _, _ = outcomes(tmp_path, [(A, "a")], [([0, 0, 10, 12], "a", 0.9), (A, "a", 0.3)])
    assert pred == [("TP", ""), ("FP", "duplicate")]


def test_coco_second_prediction_takes_next_free_label(tmp_path):
    # both predictions prefer label 0; the lower-scored one falls back to label 1
    labels = [(A, "a"), ([0, 2, 10, 10], "a")]
    pred, label, m = outcomes(tmp_path, labels, [(A, "a", 0.9), ([0, 1, 10, 10], "a", 0.8)])
    assert pred == [("TP", ""), ("TP", "")] and m.pred_label.tolist() == [0, 1]


def test_voc_matching_marks_taken_best_label_as_duplicate(tmp_path):
    labels = [(A, "a"), ([0, 2, 10, 10], "a")]
    pred, label, _ = outcomes(tmp_path, labels, [(A, "a", 0.9), ([0, 0.5, 10, 10], "a", 0.8)], method="voc")
    assert pred == [("TP", ""), ("FP", "duplicate")] and label == ["TP", "FN"]


def test_crowd_region_absorbs_predictions_without_counting(tmp_path):
    labels = [([0, 0, 50, 50], "a", 1)]
    preds = [([1, 1, 10, 10], "a", 0.9), ([20, 20, 10, 10], "a", 0.8)]
    pred, label, _ = outcomes(tmp_path, labels, preds)
    assert pred == [("ignored", "crowd"), ("ignored", "crowd")] and label == ["ignored"]


def test_regular_label_preferred_over_crowd_with_higher_iou(tmp_path):
    labels = [([0, 0, 50, 50], "a", 1), ([0, 0, 10, 14], "a")]
    pred, label, m = outcomes(tmp_path, labels, [(A, "a", 0.9)])
    assert pred == [("TP", "")] and m.pred_label.tolist() == [1]


@pytest.mark.parametrize(
    "pred_box, pred_class, reason",
    [
        (A, "b", "wrong_class"),  # perfect box, other class
        ([0, 0, 10, 40], "a", "low_iou"),  # IoU 0.25
        ([0, 0, 10, 100], "a", "low_iou"),  # IoU exactly 0.1: the floor is inclusive
        ([0, 0, 20, 100], "a", "background"),  # IoU 0.05 < 0.1
        ([60, 60, 10, 10], "a", "background"),
    ],
)
def test_false_positive_reasons(tmp_path, pred_box, pred_class, reason):
    pred, label, _ = outcomes(tmp_path, [(A, "a")], [(pred_box, pred_class, 0.9)])
    assert pred == [("FP", reason)] and label == ["FN"]


def test_max_dets_caps_per_image_and_class(tmp_path):
    preds = [([60, 60, 10, 10], "a", 0.9), ([70, 70, 10, 10], "a", 0.8), (A, "a", 0.7), (A, "b", 0.1)]
    pred, label, _ = outcomes(tmp_path, [(A, "a")], preds, max_dets=2)
    assert pred[2] == ("ignored", "beyond_max_dets") and label == ["FN"]
    assert pred[3][0] == "FP"  # class b has its own cap


def test_max_dets_none_keeps_all(tmp_path):
    preds = [([60, 60, 10, 10], "a", 0.9), ([70, 70, 10, 10], "a", 0.8), (A, "a", 0.7)]
    pred, label, _ = outcomes(tmp_path, [(A, "a")], preds, max_dets=None)
    assert pred[2] == ("TP", "") and label == ["TP"]


def test_empty_predictions_give_empty_shaped_arrays(tmp_path):
    _, label, m = outcomes(tmp_path, [(A, "a")], [])
    assert m.pred_outcome.shape == (0,) and m.pred_label.dtype == np.int64 and label == ["FN"]


@pytest.mark.parametrize("labels, preds", [
    ([], [(A, "a", 0.9), ([60, 60, 5, 5], "b", 0.4)]),  # images but no labels: every prediction an FP
    ([(A, "a")], []),                                    # labels but no predictions: every label an FN
    ([], []),
])
def test_tables_of_a_side_with_no_objects(tmp_path, labels, preds):
    pred, label, m = outcomes(tmp_path, labels, preds)
    ds = load_coco(tmp_path / "again", tiny_gt(labels), tiny_preds(preds))
    pt, lt = m.prediction_table(ds), m.label_table(ds)
    assert pt["outcome"].tolist() == ["FP"] * len(preds) and pt["matched_label_id"].tolist() == [-1] * len(preds)
    assert lt["outcome"].tolist() == ["FN"] * len(labels) and lt["iou"].tolist() == [0.0] * len(labels)
    assert lt["matched_prediction_id"].tolist() == [-1] * len(labels)


def test_tables_have_one_row_per_object(tmp_path):
    _, _, m = outcomes(tmp_path, [(A, "a")], [(A, "a", 0.9), ([60, 60, 5, 5], "b", 0.4)])
    ds = load_coco(tmp_path / "again", tiny_gt([(A, "a")]), tiny_preds([(A, "a", 0.9), ([60, 60, 5, 5], "b", 0.4)]))
    pt, lt = m.prediction_table(ds), m.label_table(ds)
    assert pt["outcome"].tolist() == ["TP", "FP"] and pt["matched_label_id"].tolist() == [1, -1]
    assert lt["outcome"].tolist() == ["TP"] and lt["iou"].tolist() == [1.0]


VOC_XML = """<annotation><filename>{stem}.jpg</filename><size><width>100</width><height>100</height></size>
<object><name>a</name><difficult>0</difficult><bndbox><xmin>0</xmin><ymin>0</ymin><xmax>10</xmax><ymax>10</ymax></bndbox></object>
<object><name>a</name><difficult>1</difficult><bndbox><xmin>50</xmin><ymin>50</ymin><xmax>60</xmax><ymax>60</ymax></bndbox></object>
</annotation>"""


@pytest.mark.parametrize("method", ["coco", "voc"])
def test_voc_difficult_labels_are_ignored(tmp_path, method):
    from detlens.core.io import load_dataset

    (tmp_path / "gt").mkdir()
    (tmp_path / "gt" / "img1.xml").write_text(VOC_XML.format(stem="img1"))
    (tmp_path / "det").mkdir()
    (tmp_path / "det" / "img1.txt").write_text("a 0.9 50 50 60 60\na 0.8 80 80 90 90\n")
    ds = load_dataset(tmp_path / "gt", tmp_path / "det")
    ev = Evaluator(ds)
    m = ev.match(0.5, method=method)
    assert [OUTCOME_NAMES[o] for o in m.label_outcome] == ["FN", "ignored"]
    assert [OUTCOME_NAMES[o] for o in m.pred_outcome] == ["ignored", "FP"]
    result = ev.evaluate(0.5, match_method=method)
    assert result.counts["labels"] == 1 and result.counts["FP"] == 1


@pytest.mark.parametrize("seed", [0, 1])
def test_outcomes_do_not_depend_on_computing_reasons(tmp_path, seed):
    from tests.random_coco import random_coco

    ds = load_coco(tmp_path, *random_coco(seed))
    ev = Evaluator(ds)
    full, lean = ev.match(0.5), ev.match(0.5, reasons=False)
    assert full.has_reasons and not lean.has_reasons
    assert np.array_equal(full.pred_outcome, lean.pred_outcome) and np.array_equal(full.pred_label, lean.pred_label)
    fp = full.pred_outcome == 1
    assert (full.pred_reason[fp] > 0).all() and (lean.pred_reason[fp] == 0).all()


MATCH_FIELDS = ("pred_outcome", "pred_reason", "pred_label", "pred_iou", "pred_rank", "label_outcome", "label_pred",
                "label_ignored")


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("method", ["coco", "voc"])
@pytest.mark.parametrize("max_dets", [100, 2])  # 2: the cap binds in most images
@pytest.mark.parametrize("t", [0.3, 0.5, 0.75])
def test_a_minimum_score_restricts_the_match_without_one(tmp_path, seed, method, max_dets, t):
    """Scores lie on twelfths (ties at every minimum tried, some exactly at it): derived equals from scratch."""
    from detlens.core.matching import restrict_to_min_score
    from tests.random_coco import random_coco

    ds = load_coco(tmp_path, *random_coco(seed))
    ev = Evaluator(ds)
    base = ev.match(t, max_dets, method)
    for min_score in (1 / 12, 0.25, 0.5, 7 / 12, 1.0, 1.5):
        direct = ev.match(t, max_dets, method, min_score=min_score)
        derived = restrict_to_min_score(base, ds.predictions.scores, min_score)
        assert derived.min_score == min_score
        for name in MATCH_FIELDS:
            assert np.array_equal(getattr(derived, name), getattr(direct, name)), (min_score, name)


def test_restricting_frees_the_labels_of_removed_predictions(tmp_path):
    from detlens.core.matching import restrict_to_min_score

    ds = load_coco(tmp_path, tiny_gt([(A, "a")]), tiny_preds([(A, "a", 0.9), (A, "a", 0.3)]))
    base = Evaluator(ds).match(0.5)
    assert [OUTCOME_NAMES[o] for o in base.pred_outcome] == ["TP", "FP"]
    kept_first = restrict_to_min_score(base, ds.predictions.scores, 0.3)  # a score equal to the minimum is kept
    assert [OUTCOME_NAMES[o] for o in kept_first.pred_outcome] == ["TP", "FP"]
    neither = restrict_to_min_score(base, ds.predictions.scores, 0.95)
    assert [OUTCOME_NAMES[o] for o in neither.pred_outcome] == ["ignored", "ignored"]
    assert [REASON_NAMES[r] for r in neither.pred_reason] == ["below_min_score"] * 2
    assert [OUTCOME_NAMES[o] for o in neither.label_outcome] == ["FN"] and neither.label_pred.tolist() == [-1]
    with pytest.raises(ValueError, match="without a minimum"):
        restrict_to_min_score(neither, ds.predictions.scores, 0.5)
