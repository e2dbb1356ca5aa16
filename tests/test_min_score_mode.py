"""The per-class minimum-confidence mode on the demo: thresholds equal hotcoco's F1 maxima, and every number
(mAP, mAP@[.50:.95], TP/FP/FN, Explorer counts, buckets, ranking) equals pycocotools evaluated on the
predictions at or above their class's threshold; the callbacks that show and check the mode."""

from __future__ import annotations

import json

import pytest
from dash import html

from detlens.app.cache import Entry, cache_key
from detlens.app.queries import ViewParams
from detlens.callbacks.inputs import InvalidInput
from detlens.callbacks.metrics_tab import map_text, update_importance, update_summary
from detlens.callbacks.min_score_mode import show_thresholds, slider_disabled
from detlens.callbacks.shell import show_min_score
from detlens.core.explorer import ExplorerFilter
from detlens.core.metrics.registry import CONFIDENCE
from detlens.core.vocabulary import MinScoreMode
from detlens.layouts import ids
from detlens.layouts.min_score_mode import NO_THRESHOLD
from tests.dash_requests import call, prepared_app, request_body, request_inputs
from tests.hotcoco_reference import hotcoco_eval
from tests.pycoco_reference import pycocotools_counts, pycocotools_per_class, pycocotools_stats

PER_CLASS = MinScoreMode.PER_CLASS_F1.value
ALL = ["ellipse", "rectangle", "triangle", "cross"]


def files(demo) -> tuple[dict, list[dict]]:
    with open(demo.source.labels) as f, open(demo.source.predictions) as g:
        return json.load(f), json.load(g)


def kept_by_thresholds(gt: dict, results: list[dict], points: dict) -> list[dict]:
    """The results scoring at or above their class's threshold (a class without one keeps all)."""
    name = {c["id"]: c["name"] for c in gt["categories"]}
    return [r for r in results
            if points[name[r["category_id"]]]["score"] is None or r["score"] >= points[name[r["category_id"]]]["score"]]


@pytest.mark.parametrize("iou", [0.5, 0.75, 0.3])
def test_thresholds_equal_hotcoco_f1_maxima(demo, iou):
    gt, _ = files(demo)
    points = demo.queries.class_thresholds(ViewParams.of(demo.key, iou=iou, mode=PER_CLASS))
    assert list(points) == ALL
    for cat in gt["categories"]:
        theirs = hotcoco_eval(demo.source.labels, demo.source.predictions, iou, cat_ids=[cat["id"]]).f_scores()["F1"]
        assert points[cat["name"]]["F1"] == pytest.approx(theirs, abs=1e-12)
    assert any(p["score"] is not None for p in points.values())


@pytest.mark.parametrize("iou, classes", [(0.5, None), (0.75, None), (0.5, ["cross", "ellipse"])])
def test_per_class_numbers_equal_pycocotools_on_the_kept_predictions(demo, iou, classes):
    q = demo.queries
    gt, results = files(demo)
    view = q.view(demo.key, classes or ALL, iou, None, mode=PER_CLASS)
    kept = kept_by_thresholds(gt, results, q.class_thresholds(view))
    assert 0 < len(kept) < len(results)
    cat_ids = [c["id"] for c in gt["categories"] if classes is None or c["name"] in classes]
    doc = q.evaluation_doc(view)
    per_class = pycocotools_per_class(gt, kept, iou)
    assert doc["mAP"] == pytest.approx(sum(per_class[c][0] for c in cat_ids) / len(cat_ids), abs=1e-12)
    assert q.map_coco_range(view) == pytest.approx(pycocotools_stats(gt, kept, cat_ids)[0], abs=1e-12)
    counts = pycocotools_counts({**gt, "annotations": [a for a in gt["annotations"] if a["category_id"] in cat_ids]},
                                [r for r in kept if r["category_id"] in cat_ids], iou)
    assert {k: doc["counts"][k] for k in ("TP", "FP", "FN")} == counts
    explorer = q.explorer.filtered(view, ExplorerFilter(), "row", False)["counts"]
    assert {k: explorer[k] for k in ("TP", "FP", "FN")} == counts
    # the global view at the same IoU keeps more predictions: its numbers differ
    everything = q.evaluation_doc(q.view(demo.key, classes or ALL, iou, None))
    assert everything["counts"]["FP"] > counts["FP"]


def test_buckets_and_ranking_use_the_per_class_match(demo):
    q = demo.queries
    view = q.view(demo.key, ALL, 0.5, None, mode=PER_CLASS)
    counts = q.evaluation_doc(view)["counts"]
    tpr = q.buckets(view, CONFIDENCE, 5, "quantile")["TPR"]
    assert (sum(tpr["hits"]), sum(tpr["totals"])) == (counts["TP"], counts["TP"] + counts["FP"])
    assert q.ranking(view, "predictions") != q.ranking(q.view(demo.key, ALL, 0.5, None), "predictions")


def test_a_per_class_view_is_canonical(demo):
    ignored_slider = ViewParams.of(demo.key, iou=0.5, min_score=0.35, mode=PER_CLASS)
    assert ignored_slider == ViewParams.of(demo.key, mode=MinScoreMode.PER_CLASS_F1) and ignored_slider.min_score is None
    assert cache_key(Entry.MATCH, ignored_slider) == cache_key(Entry.MATCH, ViewParams.of(demo.key, mode=PER_CLASS))
    with pytest.raises(ValueError, match="no global minimum"):
        ViewParams(demo.key, min_score=0.3, min_score_mode=PER_CLASS)
    with pytest.raises(ValueError):
        ViewParams.of(demo.key, mode="per_class_f7")
    with pytest.raises(ValueError, match="per-class"):
        demo.queries.class_thresholds(ViewParams.of(demo.key))


def test_the_summary_names_the_mode_and_changes(demo):
    q = demo.queries
    out = update_summary(q, demo.key, ALL, 0.5, 0.35, ids.TAB_METRICS, mode=PER_CLASS)  # the slider's value is unused
    view = q.view(demo.key, ALL, 0.5, None, mode=PER_CLASS)
    doc = q.evaluation_doc(view)
    assert out[0] == map_text(doc["mAP"]) and out[1] == "COCO 101-point · IoU 0.50 · per class (F1)"
    assert out[2] == map_text(q.map_coco_range(view))
    assert out[4:7] == tuple(f"{doc['counts'][k]:,}" for k in ("TP", "FP", "FN")) and out[-1] is None
    assert "per class (F1)" in out[7]["layout"]["title"]["text"]
    assert out[0] != update_summary(q, demo.key, ALL, 0.5, 0, ids.TAB_METRICS)[0]


@pytest.mark.parametrize("mode", ["per_class", "", 1, None, ["global"]])
def test_a_bad_mode_is_a_one_line_alert(demo, mode):
    *_, note = update_summary(demo.queries, demo.key, ALL, 0.5, 0, ids.TAB_METRICS, mode=mode)
    assert str(note.children) == "The minimum-confidence mode must be one of: global, per_class_f1."
    *_, note = update_importance(demo.queries, demo.key, ALL, 0.5, 0, "labels", ids.TAB_METRICS, mode=mode)
    assert "minimum-confidence mode must be one of" in str(note.children)
    with pytest.raises(InvalidInput, match="minimum-confidence mode"):
        slider_disabled(mode)
    assert show_min_score(0.3, mode) == "score: not a valid mode"


@pytest.mark.parametrize("min_score, mode, badge, disabled", [
    (0.3, "global", "score ≥ 0.30", False),
    (0, "global", "all", False),
    (0.3, PER_CLASS, "per class (F1)", True),
    (0, PER_CLASS, "per class (F1)", True),
])
def test_the_badge_and_the_slider_follow_the_mode(min_score, mode, badge, disabled):
    assert show_min_score(min_score, mode) == badge and slider_disabled(mode) is disabled


def cells(component) -> list[list[str]]:
    """The text of every body row of the thresholds table."""
    body = next(c for c in component._traverse() if isinstance(c, html.Tbody))
    return [[str(td.children) for td in tr.children] for tr in body.children]


def test_the_thresholds_table_lists_the_shown_classes(demo):
    q = demo.queries
    assert show_thresholds(q, demo.key, ALL, 0.5, 0, mode="global") is None
    assert show_thresholds(q, None, ALL, 0.5, 0, mode=PER_CLASS) is None
    details = show_thresholds(q, demo.key, ["triangle", "cross"], 0.5, 0, mode=PER_CLASS)
    assert "F1-optimal at IoU 0.50 (2 classes)" in str(details.children[0].children)
    points = q.class_thresholds(q.view(demo.key, ALL, 0.5, None, mode=PER_CLASS))
    rows = cells(details)
    assert [r[0] for r in rows] == ["triangle", "cross"]
    for row in rows:
        p = points[row[0]]
        assert row[1] == (NO_THRESHOLD if p["score"] is None else f"{p['score']:.4f}")
        assert row[2:5] == [f"{p[k]:.3f}" for k in ("precision", "recall", "F1")]
    bad = show_thresholds(q, demo.key, ALL, 0.5, 0, mode="F2")
    assert "minimum-confidence mode must be one of" in str(bad.children)


@pytest.fixture(scope="module")
def served(demo, tmp_path_factory):
    app, key = prepared_app(demo.source, tmp_path_factory.mktemp("mode-cache"))
    return app.server.test_client(), app, key


def test_every_view_request_carries_the_mode(served):
    _, app, _ = served
    sent = {o: [d["id"] for d in request_inputs(app, o)] for o in app.callback_map}
    start = [ids.DATA_KEY, ids.CLASSES, ids.IOU, ids.MIN_SCORE]  # callbacks/common.py view_inputs
    viewing = [o for o, names in sent.items() if ids.DATA_KEY in names and names[names.index(ids.DATA_KEY):][:4] == start
               and f"{ids.MIN_SCORE}.value" not in o]  # not the URL's callback, which sets the controls
    assert len(viewing) >= 7  # the gated jobs (a gate stores the request), the detail, the download, the table
    for output in viewing:  # the mode after the AP rule
        names = sent[output]
        assert names[names.index(ids.MIN_SCORE):][:3] == [ids.MIN_SCORE, ids.AP_RULE, ids.MIN_SCORE_MODE], output
    assert sent[f"{ids.MIN_SCORE_VALUE}.children"] == [ids.MIN_SCORE, ids.MIN_SCORE_MODE]


def test_a_real_request_in_per_class_mode_answers_its_map(served, demo):
    client, app, key = served
    output = next(o for o in app.callback_map if f"{ids.MAP_VALUE}." in o)
    mode_at = [d["id"] for d in request_inputs(app, output)].index(ids.MIN_SCORE_MODE)
    response = call(client, request_body(app, key, demo.classes, output, {mode_at: PER_CLASS}))
    doc = demo.queries.evaluation_doc(demo.queries.view(demo.key, ALL, 0.5, None, mode=PER_CLASS))
    answer = response.get_json()["response"]
    assert answer[ids.MAP_VALUE]["children"] == map_text(doc["mAP"])
    assert answer[ids.MAP_RULE]["children"].endswith("· per class (F1)")
