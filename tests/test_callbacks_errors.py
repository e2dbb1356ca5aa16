"""The error analysis on the dashboard: queries, figures, clicks into the Explorer, against core and hotcoco live.

The chain checked: each figure's numbers equal :class:`~detlens.app.error_queries.ErrorQueries`'
result, and that result equals hotcoco run live on the demo's files at the view's settings
(the core rules themselves are parity-tested in test_tide/test_confusion/test_calibration).
The Explorer's counts after a click are checked against hotcoco's counts (an independent count).
"""

from __future__ import annotations

import json

import pytest
from dash.exceptions import PreventUpdate

from detlens.callbacks import error_figures, explorer_links as links
from detlens.callbacks.common import DEFAULT_RULE
from detlens.callbacks.errors_tab import confusion_part, update_bucket_errors, update_errors
from detlens.callbacks.explorer_tab import chips_of
from detlens.callbacks.inputs import InvalidInput, explorer_filter
from detlens.core.ap_rule import RULES_BY_CODE
from detlens.core.explorer import ExplorerFilter
from detlens.core.settings import CONFUSION_HEATMAP_MAX_CLASSES
from detlens.core.vocabulary import ErrorType, MinScoreMode, OutcomeGroup, TideOracle
from detlens.layouts import ids
from tests.dash_context import call_triggered
from tests.hotcoco_reference import hotcoco_eval

ALL = ["ellipse", "rectangle", "triangle", "cross"]
AREA = "Object Area - Relative (L)"
# (IoU, minimum confidence, classes): the views checked against hotcoco
VIEWS = [(0.5, None, ALL), (0.75, None, ALL), (0.3, 0.4, ALL), (0.5, None, ["ellipse", "cross"])]


def hotcoco_at(demo, tmp_path, iou, min_score, classes):
    """hotcoco on the demo's files with the predictions below ``min_score`` left out, over ``classes``."""
    labels = json.loads(open(demo.source.labels).read())
    preds = json.loads(open(demo.source.predictions).read())
    kept = tmp_path / "predictions.json"
    kept.write_text(json.dumps([p for p in preds if min_score is None or p["score"] >= min_score]))
    ids_of = {c["name"]: c["id"] for c in labels["categories"]}
    return hotcoco_eval(demo.source.labels, kept, iou, cat_ids=sorted(ids_of[c] for c in classes))


def view_of(demo, iou, min_score, classes):
    return demo.queries.view(demo.key, classes, iou, min_score)


@pytest.mark.parametrize("iou, min_score, classes", VIEWS)
def test_the_errors_card_shows_the_queries_numbers_and_they_are_hotcocos(demo, tmp_path, iou, min_score, classes):
    view = view_of(demo, iou, min_score, classes)
    tide, confusion, cal = (demo.queries.errors.tide(view), demo.queries.errors.confusion_doc(view),
                            demo.queries.errors.calibration(view))
    tide_fig, confusion_fig, reliability_fig, note = update_errors(demo.queries, demo.key, classes, iou,
                                                                   min_score or 0, ids.TAB_METRICS)
    assert note is None
    # figure == query result
    types, oracles = tide_fig["data"]
    assert [c[0] for c in types["customdata"]] == [e.value for e in ErrorType]
    assert list(types["y"]) == [tide["delta_ap"][e] for e in ErrorType]
    assert [c[1] for c in types["customdata"]] == [tide["counts"][e] for e in ErrorType]
    assert list(oracles["y"]) == [tide["delta_ap"][o] for o in TideOracle]
    rows = confusion_fig["data"]  # one trace per label class, one bar segment per cell
    assert [list(t["marker"]["color"]) for t in rows] == confusion["rates"]
    assert [[cell[2] for cell in t["customdata"]] for t in rows] == confusion["matrix"]
    assert [[cell[:2] for cell in t["customdata"]] for t in rows] == [[[a, b] for b in confusion["classes"]]
                                                                      for a in confusion["classes"]]
    assert f"ECE {cal['ece']:.3f}" in reliability_fig["layout"]["title"]["text"]
    assert list(reliability_fig["data"][0]["y"]) == [b["avg_accuracy"] for b in cal["bins"] if b["count"]]
    # query result == hotcoco at the view's settings
    ev = hotcoco_at(demo, tmp_path, iou, min_score, classes)
    theirs = ev.tide_errors(pos_thr=iou, bg_thr=0.1)
    assert tide["counts"] == theirs["counts"]
    assert tide["delta_ap"] == pytest.approx(theirs["delta_ap"], abs=1e-12)
    assert confusion["matrix"] == ev.confusion_matrix(iou_thr=iou)["matrix"].tolist()
    assert cal["ece"] == pytest.approx(ev.calibration(n_bins=10, iou_threshold=iou)["ece"], abs=1e-12)
    assert tide["oracle_counts"]["FP"] == sum(tide["counts"][e] for e in ErrorType.false_positive_types())


@pytest.mark.parametrize("iou, min_score, classes", VIEWS[:3])
def test_a_click_opens_exactly_the_objects_hotcoco_counts(demo, tmp_path, iou, min_score, classes):
    view = view_of(demo, iou, min_score, classes)
    ev = hotcoco_at(demo, tmp_path, iou, min_score, classes)
    counts, matrix = ev.tide_errors(pos_thr=iou, bg_thr=0.1)["counts"], ev.confusion_matrix(iou_thr=iou)["matrix"]
    tide_fig, confusion_fig, *_ = update_errors(demo.queries, demo.key, classes, iou, min_score or 0, ids.TAB_METRICS)
    for bar in tide_fig["data"][0]["customdata"]:
        flt = links.filter_from_tide_bar({"points": [{"customdata": bar}]})
        shown = demo.queries.explorer.filtered(view, flt, "score", True)["counts"]
        assert shown["objects"] == counts[bar[0]] == bar[1]
    for r, trace in enumerate(confusion_fig["data"]):
        for c, cell in enumerate(trace["customdata"]):
            flt = ExplorerFilter.from_dict(call_triggered(links.open_errors, ids.CONFUSION_GRAPH,
                                                          {"points": [{"customdata": cell}]}, None,
                                                          {"points": [{"customdata": cell}]}, None, None,
                                                          prop="clickData")[0])
            assert demo.queries.explorer.filtered(view, flt, "score", True)["counts"]["objects"] == matrix[r][c]


def test_oracle_bars_open_every_false_positive_or_false_negative(demo):
    view = view_of(demo, 0.5, None, ALL)
    doc = demo.queries.evaluation_doc(view)["counts"]
    for oracle, outcome in ((TideOracle.FP, "FP"), (TideOracle.FN, "FN")):
        flt = links.filter_from_tide_bar({"points": [{"customdata": [oracle.value, 0]}]})
        assert demo.queries.explorer.filtered(view, flt, "score", True)["counts"]["objects"] == doc[outcome]
        assert demo.queries.errors.tide(view)["oracle_counts"][oracle] == doc[outcome]


@pytest.mark.parametrize("n_buckets, method", [(4, "quantile"), (3, "equal_width")])
def test_errors_per_bucket_share_the_tpr_buckets_and_segments_open_their_objects(demo, n_buckets, method):
    view = view_of(demo, 0.5, None, ALL)
    fig, note = update_bucket_errors(demo.queries, demo.key, ALL, 0.5, 0, AREA, n_buckets, method,
                                     ids.TAB_PERFORMANCE)
    doc = demo.queries.errors.tide_by_metric(view, AREA, n_buckets, method)
    assert note is None and doc["edges"] == demo.queries.buckets(view, AREA, n_buckets, method)["edges"]
    assert [t["customdata"][0][0] for t in fig["data"]] == [e.value for e in ErrorType]
    tide = demo.queries.errors.tide(view)
    for trace, error in zip(fig["data"], ErrorType):
        assert list(trace["y"]) == [b["counts"][error] for b in doc["buckets"]]
        assert sum(trace["y"]) == tide["counts"][error]  # every error lies in one bucket of an object metric
        for b, segment in enumerate(trace["customdata"]):
            assert segment[4] == error_figures.delta_text(doc["buckets"][b]["delta_ap"][error])
            click = {"points": [{"customdata": segment}]}
            flt = ExplorerFilter.from_dict(call_triggered(links.open_errors, ids.PERF_ERRORS_GRAPH, click, None, None,
                                                          click, AREA, prop="clickData")[0])
            assert flt.metric == "Object Area - Relative" and flt.error_types == (error,)
            assert demo.queries.explorer.filtered(view, flt, "score", True)["counts"]["objects"] == trace["y"][b]


def test_many_classes_show_the_most_confused_pairs():
    names = [f"class number {k} with a long descriptive name" for k in range(CONFUSION_HEATMAP_MAX_CLASSES + 1)]
    k = len(names)
    matrix = [[(5 if r == c else (r + c) % 3) for c in range(k + 1)] for r in range(k + 1)]
    doc = {"classes": [*names, "background"], "matrix": matrix, "rates": matrix,
           "top": [[names[0], names[1], 9], [names[2], "background", 4]]}
    fig = confusion_part(doc, "IoU 0.50").to_dict()
    bars = fig["data"][0]
    assert len(fig["data"]) == 1 and [c[:2] for c in bars["customdata"]] == [p[:2] for p in doc["top"]]
    assert all(len(t.split(" → ")[0]) <= 24 for t in fig["layout"]["yaxis"]["ticktext"])  # names cut
    few = dict(doc, classes=[*names[:3], "background"], matrix=[r[:4] for r in matrix[:4]])
    assert len(confusion_part(few, "IoU 0.50").to_dict()["data"]) == 4  # the heatmap: a trace per row


def test_long_class_names_are_cut_on_the_axes_and_whole_on_hover():
    long = "a class name far longer than the axis can hold"
    doc = {"classes": [long, "b", "background"], "matrix": [[1, 0, 2], [0, 3, 0], [1, 1, 0]],
           "rates": [[1 / 3, 0, 2 / 3], [0, 1, 0], [0.5, 0.5, 0]]}
    fig = error_figures.confusion_figure(doc, "t").to_dict()
    assert fig["layout"]["xaxis"]["ticktext"][0].endswith("…") and len(fig["layout"]["xaxis"]["ticktext"][0]) == 24
    assert fig["data"][0]["customdata"][2][:3] == [long, "background", 2]
    assert list(fig["data"][0]["text"]) == ["1", "0", "2"] and fig["layout"]["yaxis"]["ticktext"][0].endswith("…")


def test_the_filter_keeps_its_error_fields_through_json_and_chips():
    flt = ExplorerFilter(outcomes=("FP",), error_types=("Cls", "Both"), confusion=("cat", "background"))
    assert flt.error_types == (ErrorType.CLS, ErrorType.BOTH)
    assert ExplorerFilter.from_dict(json.loads(json.dumps(flt.to_dict()))) == flt
    assert explorer_filter(flt.to_dict()) == flt
    chips = [str(c.children) for c in chips_of(flt)]
    assert any("TIDE error: Cls, Both" in c and "labelled cat, predicted background" in c for c in chips)
    assert flt.without("errors") == ExplorerFilter(outcomes=("FP",))
    chip = {"type": ids.EXPLORER_CHIP, "part": "errors"}
    doc = call_triggered(links.update_filter, chip, 1, None, None, None, [1], [], None, None, None, flt.to_dict(),
                         None, 0, 2, 0.01, False)[0]
    assert ExplorerFilter.from_dict(doc) == ExplorerFilter(outcomes=("FP",))


@pytest.mark.parametrize("doc", [{"error_types": ["Oops"]}, {"error_types": "Cls"}, {"confusion": ["a"]},
                                 {"confusion": "ab"}, {"confusion": ["a", 1]}, {"error_types": [["Cls"]]}])
def test_a_crafted_error_filter_is_refused_in_one_sentence(doc):
    with pytest.raises(InvalidInput, match="filter sent by the page is not valid"):
        explorer_filter(doc)


@pytest.mark.parametrize("trigger, data", [
    (ids.TIDE_GRAPH, ["Nope", 1]), (ids.TIDE_GRAPH, [{"x": 1}]), (ids.PERF_ERRORS_GRAPH, ["Cls", "low", 1, 0]),
    (ids.PERF_ERRORS_GRAPH, ["Wrong", 0, 1, 0]), (ids.CONFUSION_GRAPH, ["x" * 600, "y"]),
])
def test_a_crafted_click_is_refused(trigger, data):
    click = {"points": [{"customdata": data}]}
    with pytest.raises(InvalidInput):
        call_triggered(links.open_errors, trigger, click, click, click, click, AREA, prop="clickData")


def test_a_click_without_a_mark_changes_nothing():
    with pytest.raises(PreventUpdate):
        call_triggered(links.open_errors, ids.TIDE_GRAPH, {"points": []}, {"points": []}, None, None, None,
                       prop="clickData")


def test_errors_wait_for_data_and_their_tab(demo):
    with pytest.raises(PreventUpdate):
        update_errors(demo.queries, None, ALL, 0.5, 0, ids.TAB_METRICS)
    with pytest.raises(PreventUpdate):
        update_errors(demo.queries, demo.key, ALL, 0.5, 0, ids.TAB_EXPLORER)
    with pytest.raises(PreventUpdate):
        update_bucket_errors(demo.queries, demo.key, ALL, 0.5, 0, AREA, 4, "quantile", ids.TAB_METRICS)


@pytest.mark.parametrize("args, expected", [
    ((ALL, "abc", 0, "coco101:coco:0"), "IoU threshold must be a number"),
    (([], 0.5, 0, "coco101:coco:0"), "Select at least one class"),
    ((ALL, 0.5, 0, "voc_11_point:voc:0"), "TIDE's error types are defined on COCO matching"),
])
def test_errors_card_problems_are_alerts(demo, args, expected):
    classes, iou, min_score, rule = args
    *figs, note = update_errors(demo.queries, demo.key, classes, iou, min_score, ids.TAB_METRICS, rule)
    assert expected in str(note)


def test_voc_matching_still_shows_confusion_and_calibration(demo):
    tide_fig, confusion_fig, reliability_fig, note = update_errors(demo.queries, demo.key, ALL, 0.5, 0,
                                                                   ids.TAB_METRICS, "voc_11_point:voc:0")
    assert tide_fig["data"] == [] and len(confusion_fig["data"]) == len(ALL) + 1
    assert reliability_fig["data"] and "COCO matching" in str(note)
    view = demo.queries.view(demo.key, ALL, 0.5, None, RULES_BY_CODE["voc_11_point:voc:0"])
    cell = ExplorerFilter(outcomes=OutcomeGroup.choices(), confusion=("ellipse", "background"))
    assert demo.queries.explorer.filtered(view, cell, "score", True)["counts"]["objects"] == \
        demo.queries.errors.confusion_doc(view)["matrix"][0][-1]
    with pytest.raises(ValueError, match="COCO matching"):
        demo.queries.explorer.filtered(view, ExplorerFilter(error_types=("Cls",)), "score", True)


@pytest.mark.parametrize("metric, n_buckets, method, expected", [
    ("No such metric", 4, "quantile", "Unknown metric"),
    (AREA, 1, "quantile", "number of buckets must be a whole number"),
    (AREA, 4, "median", "bucket method must be one of"),
])
def test_bucket_errors_problems_are_alerts(demo, metric, n_buckets, method, expected):
    fig, note = update_bucket_errors(demo.queries, demo.key, ALL, 0.5, 0, metric, n_buckets, method,
                                     ids.TAB_PERFORMANCE)
    assert expected in str(note) and fig["data"] == []


def test_the_per_class_f1_mode_shows_tide_on_the_kept_predictions_and_says_why_no_confusion(demo, tmp_path):
    mode = MinScoreMode.PER_CLASS_F1.value
    tide_fig, confusion_fig, reliability_fig, note = update_errors(demo.queries, demo.key, ALL, 0.5, 0,
                                                                   ids.TAB_METRICS, DEFAULT_RULE, mode)
    assert "one minimum confidence for every class" in str(note) and confusion_fig["data"] == []
    view = demo.queries.view(demo.key, ALL, 0.5, None, mode=mode)
    minimum = {name: point["score"] for name, point in demo.queries.class_thresholds(view).items()}
    labels = json.loads(open(demo.source.labels).read())
    name_of = {c["id"]: c["name"] for c in labels["categories"]}
    kept = tmp_path / "kept.json"
    kept.write_text(json.dumps([p for p in json.loads(open(demo.source.predictions).read())
                                if minimum[name_of[p["category_id"]]] is None
                                or p["score"] >= minimum[name_of[p["category_id"]]]]))
    theirs = hotcoco_eval(demo.source.labels, kept, 0.5).tide_errors(pos_thr=0.5, bg_thr=0.1)
    assert [c[1] for c in tide_fig["data"][0]["customdata"]] == [theirs["counts"][e] for e in ErrorType]
    assert list(tide_fig["data"][0]["y"]) == pytest.approx([theirs["delta_ap"][e] for e in ErrorType], abs=1e-12)
    assert reliability_fig["data"]
