"""core.vocabulary: the enums are the words matching and the Explorer produce, and their display words."""

from __future__ import annotations

import json

import pytest

from detlens.core.evaluation import Evaluator
from detlens.core.explorer import object_table, outcome_groups
from detlens.core.matching import FN, FP, IGNORED, OUTCOME_NAMES, REASON_NAMES, TP
from detlens.core.metrics.tables import compute_metric_tables
from detlens.core.vocabulary import FPReason, IgnoreReason, ObjectKind, Outcome, OutcomeGroup, Side
from tests.coco_files import load_coco
from tests.random_coco import random_coco


@pytest.fixture(scope="module")
def matched(tmp_path_factory):
    """A crowd-heavy random set matched with a low max_dets and a minimum score, so every reason occurs."""
    gt, results = random_coco(5, n_images=40, crowd_rate=0.3)
    ds = load_coco(tmp_path_factory.mktemp("vocabulary"), gt, results)
    match = Evaluator(ds).match(0.5, max_dets=3, min_score=0.2)
    return ds, match


def test_codes_name_their_outcomes():
    assert [OUTCOME_NAMES[c] for c in (TP, FP, FN, IGNORED)] == [Outcome.TP, Outcome.FP, Outcome.FN, Outcome.IGNORED]
    assert sorted(REASON_NAMES) == sorted(["", *FPReason, *IgnoreReason])


def test_every_string_of_a_match_is_a_member(matched):
    ds, match = matched
    preds, labels = match.prediction_table(ds), match.label_table(ds)
    assert set(preds["outcome"]) == {Outcome.TP, Outcome.FP, Outcome.IGNORED}
    assert set(labels["outcome"]) <= set(Outcome) and Outcome.FN in set(labels["outcome"])
    assert set(preds["reason"]) == {"", *FPReason, *IgnoreReason} - {IgnoreReason.AREA}
    assert all(type(v) is str for v in preds["outcome"].tolist() + preds["reason"].tolist())  # plain str in tables


def test_every_row_of_the_object_table_is_in_a_group(matched):
    ds, match = matched
    table = object_table(ds, match, compute_metric_tables(ds))
    assert set(table["kind"]) == set(ObjectKind)
    assert set(outcome_groups(table)) == set(OutcomeGroup.choices())


def test_members_are_their_strings():
    assert Outcome("ignored") is Outcome.IGNORED and OutcomeGroup("FP:low_iou") is OutcomeGroup.FP_LOW_IOU
    assert json.dumps([Side.LABELS, OutcomeGroup.DETECTED]) == '["labels", "detected"]'


@pytest.mark.parametrize("side, rate, noun, title, groups", [
    (Side.PREDICTIONS, "TPR", "predictions", "predictions (TP vs FP)",
     ("TP", "FP:duplicate", "FP:wrong_class", "FP:low_iou", "FP:background")),
    (Side.LABELS, "FNR", "labels", "labels (detected vs missed)", ("FN", "detected")),
])
def test_side_words(side, rate, noun, title, groups):
    assert (side.rate, side.noun, side.title, side.groups) == (rate, noun, title, groups)
    assert Side.of_rate(rate) is side


def test_an_unknown_rate_has_no_side():
    with pytest.raises(ValueError, match="TPR or FNR"):
        Side.of_rate("AP")


@pytest.mark.parametrize("group, label", [
    ("TP", "TP"), ("FP", "FP"), ("FP:duplicate", "FP · duplicate"), ("FP:wrong_class", "FP · wrong class"),
    ("FP:low_iou", "FP · low IoU"), ("FP:background", "FP · background"), ("FN", "FN (missed label)"),
    ("detected", "detected label"), ("ignored", "ignored"),
])
def test_group_labels(group, label):
    assert OutcomeGroup(group).label == label


def test_group_lists():
    assert OutcomeGroup.fp_groups() == tuple(OutcomeGroup.of_reason(r) for r in FPReason)
    assert OutcomeGroup.prediction_side() == ("TP", *OutcomeGroup.fp_groups())
    assert OutcomeGroup.label_side() == ("FN", "detected")
    assert OutcomeGroup.defaults() == ("TP", "FP", "FN")
    assert OutcomeGroup.choices() == ("TP", *OutcomeGroup.fp_groups(), "FN", "detected", "ignored")
