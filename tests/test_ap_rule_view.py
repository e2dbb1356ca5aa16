"""The AP rule as part of the dashboard's view: names, selector, cache keys, every callback, mAP@[.50:.95]."""

from __future__ import annotations

import json

import numpy as np
import pytest

from detlens.app.cache import Entry, SharedCache, cache_key
from detlens.app.config import ServeConfig
from detlens.app.preparation import is_warmed, prepare, warm_thresholds
from detlens.app.queries import Queries, ViewParams
from detlens.app.server import create_app
from detlens.app.source import DataSource
from detlens.callbacks.explorer_tab import update_grid
from detlens.callbacks.metrics_tab import map_text, update_importance, update_summary
from detlens.callbacks.performance_tab import update_performance
from detlens.core.ap_rule import COCO_RANGE_IOUS, APRule, every_rule
from detlens.core.explorer import ExplorerFilter
from detlens.core.evaluation import Evaluator
from detlens.core.settings import IOU_DEFAULT, SCORE_SLIDER_VALUES
from detlens.core.vocabulary import Side
from detlens.layouts import ids
from tests.dash_requests import call, layout_values, prepared_app, request_body, request_inputs
from tests.pycoco_reference import pycocotools_stats
from tests.refdata import REFDATA, expected

VOC_PLUS_ONE = APRule("voc_all_point", "voc", True)
COCO_VAL = REFDATA / "coco_val2014_100"


@pytest.mark.parametrize("rule, title", [
    (APRule(), "COCO 101-point"),
    (APRule("voc_all_point", "voc"), "VOC all-point"),
    (VOC_PLUS_ONE, "VOC all-point, +1 px"),
    (APRule("voc_11_point", "voc"), "VOC 11-point"),
    (APRule("voc_11_point", "voc", True), "VOC 11-point, +1 px"),
    (APRule("coco101", "voc"), "COCO 101-point, VOC matching"),
    (APRule("coco101", "coco", True), "COCO 101-point, +1 px"),
    (APRule("voc_all_point", "coco", True), "VOC all-point, COCO matching, +1 px"),
])
def test_each_rule_has_one_name(rule, title):
    assert rule.title == title


def test_the_selector_lists_every_rule_once_default_first():
    rules = every_rule()
    assert rules[0] == APRule() and len(rules) == 3 * 2 * 2
    assert len({r.code for r in rules}) == len({r.title for r in rules}) == len(rules)


@pytest.mark.parametrize("ap_method, match", [("coco", "coco"), ("voc_all_point", "pascal")])
def test_unknown_methods_are_refused(ap_method, match):
    with pytest.raises(ValueError, match="must be one of"):
        APRule(ap_method, match)


def test_the_rule_is_part_of_every_cache_key():
    views = [ViewParams.of("k", rule=rule) for rule in every_rule()]
    assert [v.rule for v in views] == list(every_rule())
    assert len({cache_key(Entry.EVALUATION, v) for v in views}) == len(views)
    # who matches whom does not depend on the AP method: one match serves both
    voc_all, voc_11 = ViewParams.of("k", rule=APRule("voc_all_point", "voc")), ViewParams.of(
        "k", rule=APRule("voc_11_point", "voc"))
    assert voc_all.outcomes() == voc_11.outcomes() != ViewParams.of("k").outcomes()


@pytest.mark.parametrize("rule", every_rule(), ids=lambda r: r.code)
def test_the_summary_shows_the_cli_map_of_each_rule_and_names_it(demo, rule):
    m_ap, named, m_range, *_, note = update_summary(demo.queries, demo.key, list(demo.classes), 0.5, 0,
                                                    ids.TAB_METRICS, rule.code)
    direct = demo.queries.evaluator(demo.key).evaluate(0.5, ap_method=rule.ap_method, match_method=rule.match_method,
                                                       pixel_plus_one=rule.pixel_plus_one)
    assert note is None and m_ap == map_text(direct.m_ap) and named == f"{rule.title} · IoU 0.50"
    assert float(m_range) > 0


def test_range_map_is_the_mean_over_the_ten_thresholds_under_the_rule(demo):
    rule = APRule("voc_11_point", "voc", True)
    classes = ["cross", "ellipse"]
    view = demo.queries.view(demo.key, classes, 0.7, 0.2, rule)
    evaluator = Evaluator(demo.queries.dataset(demo.key))
    per_iou = [evaluator.evaluate(t, classes, rule.ap_method, 100, rule.match_method, rule.pixel_plus_one, 0.2).m_ap
               for t in COCO_RANGE_IOUS]
    assert demo.queries.map_coco_range(view) == pytest.approx(np.mean(per_iou), abs=1e-12)
    # one entry for every IoU and class selection of the rule
    assert demo.queries.ap_by_iou(view) == demo.queries.ap_by_iou(demo.queries.view(demo.key, ["cross"], 0.3, 0.2,
                                                                                        rule))


@pytest.fixture(scope="module")
def coco_val(tmp_path_factory):
    """``(queries, key, gt, results)`` of coco_val2014_100 prepared in a fresh cache, and its JSON documents."""
    source = DataSource(str(COCO_VAL / "instances_val2014_100.json"),
                        str(COCO_VAL / "instances_val2014_fakebbox100_results.json"))
    queries = Queries(SharedCache(tmp_path_factory.mktemp("coco-val-cache")))
    key = prepare(queries, source)
    warm_thresholds(queries, key, ious=(0.5,))  # and every minimum confidence, as the server does after start
    gt = json.loads((COCO_VAL / "instances_val2014_100.json").read_text())
    results = json.loads((COCO_VAL / "instances_val2014_fakebbox100_results.json").read_text())
    return queries, key, gt, results


def test_preparation_warms_the_range_map_of_the_default_view(coco_val):
    queries, key, *_ = coco_val
    warmed = cache_key(Entry.EVALUATION, ViewParams.of(key, iou=0.0), "ap_by_iou")
    assert warmed in queries.cache.results


@pytest.mark.parametrize("classes", [None, ["person", "dog", "cat"]])
def test_range_map_of_the_coco_rule_is_pycocotools_stats_0(coco_val, classes):
    queries, key, gt, results = coco_val
    ids_by_name = {c["name"]: c["id"] for c in gt["categories"]}
    live = pycocotools_stats(gt, results, None if classes is None else [ids_by_name[c] for c in classes])[0]
    view = queries.view(key, classes or queries.summary(key)["classes"], 0.5, 0)
    assert abs(queries.map_coco_range(view) - live) <= 1e-12


@pytest.mark.parametrize("min_score", [0.3, 0.55, 0.9])
def test_range_map_at_a_minimum_confidence_is_pycocotools_on_the_predictions_kept(coco_val, min_score):
    """The matches at a minimum are derived from those without one (core/matching.py); pycocotools gets
    only the predictions scoring at least the minimum."""
    queries, key, gt, results = coco_val
    live = pycocotools_stats(gt, [r for r in results if r["score"] >= min_score], None)[0]
    view = queries.view(key, queries.summary(key)["classes"], 0.5, min_score)
    assert abs(queries.map_coco_range(view) - live) <= 1e-12


@pytest.mark.parametrize("min_score", [0.05, 0.55, 0.95])
def test_warmed_headline_at_a_minimum_confidence_is_pycocotools_on_the_predictions_kept(coco_val, min_score):
    """The headline the preparation warmed at a minimum (read back from the cache) is pycocotools' AP@0.5."""
    queries, key, gt, results = coco_val
    view = ViewParams.of(key, iou=IOU_DEFAULT, min_score=min_score)
    assert cache_key(Entry.EVALUATION, view) in queries.cache.results
    live = pycocotools_stats(gt, [r for r in results if r["score"] >= min_score], None)[1]
    assert abs(queries.evaluation_doc(view)["mAP"] - live) <= 1e-12


def test_preparation_warms_the_range_map_at_every_minimum_confidence(coco_val):
    queries, key, *_ = coco_val
    assert is_warmed(queries.cache, key)  # the fixture warmed it, as the server does after its start
    for min_score in SCORE_SLIDER_VALUES:
        view = ViewParams.of(key, iou=0.0, min_score=min_score)
        assert cache_key(Entry.EVALUATION, view, "ap_by_iou") in queries.cache.results
        # and the Metrics tab of the opening view at that minimum: headline and prediction-side ranking
        opening = ViewParams.of(key, iou=IOU_DEFAULT, min_score=min_score)
        assert cache_key(Entry.EVALUATION, opening) in queries.cache.results
        assert cache_key(Entry.RANKING, opening.outcomes(), Side.PREDICTIONS) in queries.cache.results
    explorer_view = cache_key(Entry.EXPLORER_VIEW, ViewParams.of(key, iou=IOU_DEFAULT), ExplorerFilter(), "score", True)
    assert explorer_view in queries.cache.results  # the Explorer's first view


@pytest.fixture(scope="module")
def cartucho(tmp_path_factory):
    """``(queries, key)`` of the Cartucho text files prepared in a fresh cache."""
    folder = REFDATA / "cartucho_map"
    queries = Queries(SharedCache(tmp_path_factory.mktemp("cartucho-cache")))
    return queries, prepare(queries, DataSource(str(folder / "ground-truth"), str(folder / "detection-results")))


@pytest.mark.parametrize("rule, shown", [(VOC_PLUS_ONE, f"{expected('cartucho_map')['mAP']:.4f}"),
                                         (APRule("voc_all_point", "voc"), "0.3103"), (APRule(), "0.3120")])
def test_cartucho_shows_its_published_map_under_the_voc_rules(cartucho, rule, shown):
    queries, key = cartucho
    m_ap, named, *_ = update_summary(queries, key, queries.summary(key)["classes"], 0.5, 0, ids.TAB_METRICS,
                                     rule.code)
    assert (m_ap, named) == (shown, f"{rule.title} · IoU 0.50")


BAD_RULES = ["coco101", "voc_all_point:voc:2", "", 3, None, ["coco101:coco:0"]]


@pytest.mark.parametrize("bad", BAD_RULES, ids=repr)
def test_every_view_callback_checks_the_rule(demo, bad):
    every = list(demo.classes)
    notes = [update_summary(demo.queries, demo.key, every, 0.5, 0, ids.TAB_METRICS, bad)[-1],
             update_importance(demo.queries, demo.key, every, 0.5, 0, "predictions", ids.TAB_METRICS, bad)[-1],
             update_performance(demo.queries, demo.key, every, 0.5, 0, "Object Area - Relative (L)", 10, "quantile",
                                "aggregate", ids.TAB_PERFORMANCE, bad)[3],
             update_grid(demo.queries, demo.key, every, 0.5, 0, None, "score", "desc", 1, ids.TAB_EXPLORER, bad)[-1]]
    for note in notes:
        assert "AP rule must be one of the rules the selector lists" in str(note.children)


def test_a_crafted_rule_request_gets_the_alert_from_the_job(demo, tmp_path):
    app, key = prepared_app(demo.source, tmp_path / "cache")
    output = next(o for o in app.callback_map if f"{ids.MAP_VALUE}." in o)
    index = [d["id"] for d in request_inputs(app, output)].index(ids.AP_RULE)
    response = call(app.server.test_client(), request_body(app, key, demo.classes, output, {index: "x:y:1"}))
    assert response.status_code == 200 and "AP rule must be one of" in response.get_data(as_text=True)


def test_the_page_selects_the_servers_rule_at_first(tmp_path):
    source = DataSource(labels=str(tmp_path / "labels.json"), predictions=str(tmp_path / "predictions.json"))
    app = create_app(ServeConfig(cache_dir=tmp_path, source=source, ap_method="voc_all_point", match_method="voc",
                                 pixel_plus_one=True))
    assert layout_values(app)[(ids.AP_RULE, "value")] == VOC_PLUS_ONE.code
    default = create_app(ServeConfig(cache_dir=tmp_path, source=source))
    assert layout_values(default)[(ids.AP_RULE, "value")] == APRule().code


@pytest.mark.parametrize("environ, rule", [
    ({}, APRule()),
    ({"DETLENS_AP_METHOD": "voc_all_point", "DETLENS_MATCH": "voc", "DETLENS_PIXEL_PLUS_ONE": "1"}, VOC_PLUS_ONE),
    ({"DETLENS_AP_METHOD": "voc_11_point", "DETLENS_PIXEL_PLUS_ONE": "no"}, APRule("voc_11_point", "coco")),
])
def test_the_wsgi_entry_reads_the_rule_from_the_environment(environ, rule):
    assert ServeConfig.from_env({"DETLENS_CACHE_DIR": "/tmp/x", **environ}).rule == rule


@pytest.mark.parametrize("environ, named", [({"DETLENS_AP_METHOD": "voc"}, "DETLENS_AP_METHOD"),
                                            ({"DETLENS_MATCH": "pascal"}, "DETLENS_MATCH"),
                                            ({"DETLENS_PIXEL_PLUS_ONE": "maybe"}, "DETLENS_PIXEL_PLUS_ONE")])
def test_a_malformed_rule_setting_is_named(environ, named):
    with pytest.raises(ValueError, match=named):
        ServeConfig.from_env({"DETLENS_CACHE_DIR": "/tmp/x", **environ})
