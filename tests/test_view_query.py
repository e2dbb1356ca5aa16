"""The view as a query string (layouts/view_query.py): round trips, defaults left out, every bad value dropped
with a notice naming its parameter."""

from __future__ import annotations

import pytest

from detlens.core.ap_rule import APRule, every_rule
from detlens.core.explorer import ExplorerFilter
from detlens.core.settings import BUCKETS_DEFAULT, IOU_DEFAULT, IOU_SLIDER_VALUES, SCORE_SLIDER_VALUES
from detlens.core.vocabulary import OutcomeGroup
from detlens.layouts import ids
from detlens.layouts.view_query import (MAX_QUERY_CHARS, Choices, canonical_filter, decode, defaults, encode,
                                        rule_name, same)

CHOICES = Choices(classes=("cat", "dog", "traffic light", "a,b", "x&y=z"),
                  metrics=("Object Area - Relative (L)", "Image Brightness", "Object Aspect Ratio (P)"),
                  explorer_metrics=("Object Area - Relative", "Image Brightness"),
                  sort_columns=("score", "iou", "Object Area - Relative", "Image Brightness"),
                  rule=APRule().code,
                  pickers={"dataset": (("coco", "voc"), "coco"), "score_mode": (("global", "per_class_f1"), "global")})


def view(**changes) -> dict:
    return {**defaults(CHOICES), **changes}


def assert_same_view(a: dict, b: dict) -> None:
    assert set(a) == set(b)
    for name in a:
        assert same(name, a[name], b[name]), (name, a[name], b[name])


@pytest.mark.parametrize("changes, query", [
    ({}, ""),
    (dict(classes=["dog", "cat"]), "?classes=cat,dog"),
    (dict(classes=[]), "?classes="),
    (dict(classes=["traffic light", "a,b"]), "?classes=traffic+light,a%2Cb"),
    (dict(classes=["x&y=z"]), "?classes=x%26y%3Dz"),
    (dict(iou=0.6, score=0.3), "?iou=0.6&score=0.3"),
    (dict(rule="voc_11_point:voc:0"), "?rule=voc11"),
    (dict(tab=ids.TAB_PERFORMANCE, metric="Image Brightness"), "?tab=perf&metric=Image+Brightness"),
    (dict(metric="Object Aspect Ratio (P)"), "?metric=Object+Aspect+Ratio+(P)"),
    (dict(buckets=5, edges="equal_width"), "?buckets=5&edges=equal_width"),
    (dict(filter=ExplorerFilter(outcomes=("FN",))), "?ex_outcomes=FN"),
    (dict(filter=ExplorerFilter(outcomes=("TP", "FP"))), "?ex_outcomes=TP,FP:duplicate,FP:wrong_class,"
                                                         "FP:low_iou,FP:background"),
    (dict(filter=ExplorerFilter(outcomes=("TP", "FP", "FN"))), ""),  # the default filter, FP as its reasons or not
    (dict(filter=ExplorerFilter(classes=("dog",), metric="Image Brightness", low=0.25, high=0.5, high_closed=False,
                                score_low=0.2, score_high=0.9)),
     "?ex_classes=dog&ex_metric=Image+Brightness&ex_low=0.25&ex_high=0.5&ex_score_low=0.2&ex_score_high=0.9"
     "&ex_high_open=1"),
    (dict(filter=ExplorerFilter(metric="Image Brightness", low=0.1 + 0.2)),
     "?ex_metric=Image+Brightness&ex_low=0.30000000000000004"),  # exact float
    (dict(filter=ExplorerFilter(error_types=("Loc", "Dupe"))), "?ex_errors=Loc,Dupe"),
    (dict(filter=ExplorerFilter(confusion=("cat", "background"))), "?ex_cell=cat,background"),
    (dict(filter=ExplorerFilter(confusion=("dog", "dog"))), "?ex_cell=dog,dog"),
    (dict(filter=ExplorerFilter(compare="fixed")), "?ex_change=fixed"),
    (dict(sort="iou", order="asc", page=3), "?sort=iou&order=asc&page=3"),
    (dict(dataset="voc", score_mode="per_class_f1"), "?dataset=voc&score_mode=per_class_f1"),
    (dict(classes=["cat"], iou=0.7, score=0.3, rule="voc_11_point:voc:0", tab=ids.TAB_PERFORMANCE,
          metric="Image Brightness"),
     "?classes=cat&iou=0.7&score=0.3&rule=voc11&tab=perf&metric=Image+Brightness"),
])
def test_encode_leaves_defaults_out_and_decode_reads_it_back(changes, query):
    assert encode(view(**changes), CHOICES) == query
    decoded, notices = decode(query, CHOICES)
    assert notices == []
    assert_same_view(decoded, view(**changes))


@pytest.mark.parametrize("rule", every_rule(), ids=lambda r: r.code)
def test_every_ap_rule_has_a_short_name_that_round_trips(rule):
    name = rule_name(rule)
    assert name.replace("-", "").isalnum()
    assert encode(view(rule=rule.code), CHOICES) == ("" if rule == APRule() else f"?rule={name}")
    assert decode(f"?rule={name}", CHOICES)[0]["rule"] == rule.code


@pytest.mark.parametrize("value", [*IOU_SLIDER_VALUES])
def test_every_iou_slider_step_round_trips(value):
    decoded, notices = decode(encode(view(iou=value), CHOICES), CHOICES)
    assert notices == [] and decoded["iou"] == value


@pytest.mark.parametrize("value", [*SCORE_SLIDER_VALUES])
def test_every_minimum_confidence_step_round_trips(value):
    decoded, notices = decode(encode(view(score=value), CHOICES), CHOICES)
    assert notices == [] and decoded["score"] == value


def test_the_server_default_rule_is_left_out_and_another_written():
    voc = Choices(**{**CHOICES.__dict__, "rule": "voc_all_point:voc:1"})
    assert encode({**defaults(voc), "rule": "voc_all_point:voc:1"}, voc) == ""
    assert encode({**defaults(voc), "rule": APRule().code}, voc) == "?rule=coco"
    assert decode("", voc)[0]["rule"] == "voc_all_point:voc:1"


def test_the_default_metric_is_the_first_when_the_dataset_lacks_the_usual_one():
    plain = Choices(classes=("a",), metrics=("Image Brightness", "Object Aspect Ratio (P)"))
    assert defaults(plain)["metric"] == "Image Brightness"
    assert encode({**defaults(plain), "metric": "Image Brightness"}, plain) == ""


@pytest.mark.parametrize("query, param, problem", [
    ("?iou=abc", "iou", "is not a number"),
    ("?iou=0.72", "iou", "slider's steps, 0.05 to 0.95"),
    ("?iou=0", "iou", "slider's steps"),
    ("?iou=1.5", "iou", "slider's steps"),
    ("?iou=nan", "iou", "slider's steps"),
    ("?iou=0.5,0.6", "iou", "needs exactly one value"),
    ("?iou=", "iou", "needs exactly one value"),
    ("?score=-0.1", "score", "slider's steps, 0 to 0.95"),
    ("?score=1", "score", "slider's steps"),
    ("?score=1e999", "score", "slider's steps"),
    ("?classes=cat,zebra", "classes", "'zebra' is not a class of this dataset"),
    ("?classes=zebra,lion,tiger", "classes", "(nor 2 more)"),
    ("?rule=voc12", "rule", "'voc12' is not an AP rule (coco, "),
    ("?rule=voc_11_point:voc:0", "rule", "is not an AP rule"),  # the selector's code is not a URL name
    ("?tab=errors", "tab", "'errors' is not a tab (metrics, perf, explorer)"),
    ("?metric=Nope", "metric", "'Nope' is not a metric of this dataset"),
    ("?buckets=1", "buckets", "whole number from 2 to 50"),
    ("?buckets=51", "buckets", "whole number from 2 to 50"),
    ("?buckets=5.5", "buckets", "whole number"),
    ("?buckets=" + "9" * 5000, "buckets", "whole number"),
    ("?buckets=²", "buckets", "whole number"),
    ("?edges=log", "edges", "is not a bucket method"),
    ("?sort=password", "sort", "is not a sort column"),
    ("?order=up", "order", "is not asc or desc"),
    ("?page=0", "page", "whole number from 1"),
    ("?page=-3", "page", "whole number from 1"),
    ("?dataset=secret", "dataset", "is not one of the dataset choices"),
    ("?score_mode=best", "score_mode", "is not one of the score_mode choices"),
    ("?ex_outcomes=TP,maybe", "ex_outcomes", "'maybe' is not an outcome group"),
    ("?ex_classes=zebra", "ex_classes", "is not a class of this dataset"),
    ("?ex_metric=Nope", "ex_metric", "is not an Explorer metric"),
    ("?ex_metric=Image+Brightness&ex_low=inf", "ex_low", "is not a finite number"),
    ("?ex_metric=Image+Brightness&ex_high=x", "ex_high", "is not a number"),
    ("?ex_metric=Image+Brightness&ex_low=0.5&ex_high=0.1", "ex_low", "is above ex_high"),
    ("?ex_low=0.1", "ex_low", "needs ex_metric"),
    ("?ex_metric=Image+Brightness&ex_high_open=yes", "ex_high_open", "is not 1 or 0"),
    ("?ex_score_low=2", "ex_score_low", "confidence from 0 to 1"),
    ("?ex_score_low=0.8&ex_score_high=0.2", "ex_score_low", "is above ex_score_high"),
    ("?ex_errors=Loc,Oops", "ex_errors", "'Oops' is not a TIDE error type"),
    ("?ex_cell=cat", "ex_cell", "needs a label class and a predicted class"),
    ("?ex_cell=cat,dog,cat", "ex_cell", "needs a label class and a predicted class"),
    ("?ex_cell=zebra,cat", "ex_cell", "'zebra' is not a class of this dataset or background"),
    ("?ex_change=better", "ex_change", "'better' is not a compare group"),
    ("?ex_change=fixed,broken", "ex_change", "needs exactly one value"),
    ("?colour=red", "'colour'", "is not a setting of this page"),
    ("?run=b", "'run'", "is not a setting of this page"),  # a picker this page does not have
    ("?%ZZ=1", "'%ZZ'", "is not a setting"),
    ("?iou=0.6&iou=0.7", "'iou'", "given more than once: the first is used"),
    ("?" + "a" * (MAX_QUERY_CHARS + 1), "link's settings", "not readable"),
])
def test_a_bad_value_is_dropped_with_a_notice_naming_it(query, param, problem):
    decoded, notices = decode(query, CHOICES)
    assert len(notices) == 1, notices
    assert notices[0].startswith(param) or param in notices[0], notices
    assert problem in notices[0] and "\n" not in notices[0] and len(notices[0]) < 400
    name = param.strip("'")
    if "more than once" not in problem and name in ("iou", "score", "classes", "rule", "tab", "metric", "buckets", "edges", "sort", "order", "page"):
        assert same(name, decoded[name], defaults(CHOICES)[name])  # the parameter keeps its default


def test_good_parameters_stay_when_others_are_dropped():
    decoded, notices = decode("?iou=9&score=0.3&classes=zebra&tab=explorer&ex_outcomes=FN&ex_low=1", CHOICES)
    assert [n.split(":")[0] for n in notices] == ["iou", "classes", "ex_low"]
    assert decoded["score"] == 0.3 and decoded["tab"] == ids.TAB_EXPLORER and decoded["iou"] == IOU_DEFAULT
    assert decoded["filter"] == canonical_filter(ExplorerFilter(outcomes=(OutcomeGroup.FN,)))


@pytest.mark.parametrize("query", [None, "", "?", "?&&", 12, ["?iou=0.6"]])
def test_no_query_or_a_non_string_gives_the_defaults(query):
    decoded, notices = decode(query, CHOICES)
    assert_same_view(decoded, defaults(CHOICES))
    assert notices == ([] if query in (None, "", "?", "?&&") else [notices[0]])


def test_values_the_page_cannot_hold_are_left_out_of_the_url():
    # a control showing something invalid (a crafted request, an empty number box) writes nothing for it
    assert encode(view(iou="abc", buckets=None, classes=["zebra"], metric=None, page=0), CHOICES) == ""
    assert encode(view(rule=["x"], tab={"a": 1}, classes=[1, {"b": 2}], sort=None, score=True, dataset=[]),
                  CHOICES) == ""
    assert encode(view(buckets=5.0), CHOICES) == "?buckets=5"  # a number box may send a whole float


def test_a_long_value_is_cut_in_its_notice():
    _, notices = decode("?classes=" + "z" * 5000, CHOICES)
    assert len(notices[0]) < 200 and "…" in notices[0]


def test_defaults_cover_every_view_setting():
    plain = defaults(CHOICES)
    assert plain["iou"] == IOU_DEFAULT and plain["buckets"] == BUCKETS_DEFAULT and plain["tab"] == ids.TAB_METRICS
    assert plain["classes"] == list(CHOICES.classes) and plain["metric"] == "Object Area - Relative (L)"
