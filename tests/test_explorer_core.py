"""core.explorer: the object table, filters with the bucket rule, sorting, the histogram, CSV and the COCO subset."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest

from detlens.core.analysis import performance_by_metric
from detlens.core.evaluation import Evaluator
from detlens.core.explorer import (ExplorerFilter, coco_subset, expand_fp, filter_objects, histogram, metric_columns,
                                   object_table, outcome_counts, outcome_groups, range_mask, sort_objects, to_csv)
from detlens.core.io import load_dataset
from detlens.core.metrics.tables import compute_metric_tables
from detlens.core.vocabulary import Side
from tests.coco_files import load_coco, tiny_gt


@pytest.fixture(scope="module")
def hand_built(tmp_path_factory):
    """One 100x100 image: labels a1 (found), a2 (missed), b1 (found); predictions TP, duplicate, wrong class,
    background, TP."""
    gt = tiny_gt([((10, 10, 20, 20), "a"), ((60, 60, 20, 20), "a"), ((40, 10, 30, 10), "b")])
    results = [
        {"image_id": 1, "category_id": 1, "bbox": [10, 10, 20, 20], "score": 0.9},   # TP (a1)
        {"image_id": 1, "category_id": 1, "bbox": [11, 10, 20, 20], "score": 0.8},   # FP duplicate
        {"image_id": 1, "category_id": 2, "bbox": [60, 60, 20, 20], "score": 0.7},   # FP wrong_class (a2)
        {"image_id": 1, "category_id": 1, "bbox": [0, 80, 5, 5], "score": 0.6},      # FP background
        {"image_id": 1, "category_id": 2, "bbox": [40, 10, 30, 10], "score": 0.5},   # TP (b1)
    ]
    ds = load_coco(tmp_path_factory.mktemp("explorer"), gt, results)
    match = Evaluator(ds).match(0.5)
    tables = compute_metric_tables(ds)
    return ds, match, tables, object_table(ds, match, tables)


def test_one_row_per_prediction_then_per_label(hand_built):
    ds, match, tables, table = hand_built
    assert len(table) == 5 + 3 and list(table["row"]) == list(range(8)) and list(table.index) == list(range(8))
    assert list(table["kind"]) == ["prediction"] * 5 + ["label"] * 3
    assert list(table["outcome"]) == ["TP", "FP", "FP", "FP", "TP", "TP", "FN", "TP"]
    assert list(table["reason"][:5]) == ["", "duplicate", "wrong_class", "background", ""]
    assert np.isnan(table["score"][5:]).all()
    assert {"Object Area - Relative", "Image Area (F)", "Model Confidence"} <= set(table.columns)
    assert set(metric_columns(tables)) <= set(table.columns)


def test_object_metrics_share_a_column_per_base_name(hand_built):
    ds, _, tables, table = hand_built
    area = table["Object Area - Relative"].to_numpy()
    assert np.array_equal(area[:5], tables.predictions["Object Area - Relative (P)"])
    assert np.array_equal(area[5:], tables.labels["Object Area - Relative (L)"])
    assert np.isnan(table["Model Confidence"][5:]).all()
    assert np.array_equal(table["Model Confidence"][:5], ds.predictions.scores)


@pytest.mark.parametrize("outcomes, expected", [
    (("TP", "FP", "FN"), [0, 1, 2, 3, 4, 6]),
    (("TP",), [0, 4]),
    (("FP:duplicate",), [1]),
    (("FP:wrong_class", "FP:background"), [2, 3]),
    (("FP:duplicate", "FP:wrong_class", "FP:low_iou", "FP:background"), [1, 2, 3]),
    (("FN", "detected"), [5, 6, 7]),
    (("detected",), [5, 7]),
    ((), []),
])
def test_outcome_groups(hand_built, outcomes, expected):
    table = hand_built[3]
    assert list(filter_objects(table, ExplorerFilter(outcomes=outcomes))["row"]) == expected


@pytest.mark.parametrize("outcomes, expected", [
    (("FP",), [1, 2, 3]),
    (("FP:duplicate", "FP:wrong_class", "FP:low_iou", "FP:background"), [1, 2, 3]),
    (("FP:duplicate", "FP:wrong_class", "FP:low_iou"), []),
])
def test_false_positives_without_reasons_are_in_group_fp(hand_built, outcomes, expected):
    ds, _, tables, _ = hand_built
    table = object_table(ds, Evaluator(ds).match(0.5, reasons=False), tables)
    assert list(outcome_groups(table)[:5]) == ["TP", "FP", "FP", "FP", "TP"]
    assert list(filter_objects(table, ExplorerFilter(outcomes=outcomes))["row"]) == expected
    assert outcome_counts(table)["FP"] == 3


@pytest.mark.parametrize("groups, expected", [
    (("TP", "FP", "FN"), ("TP", "FP:duplicate", "FP:wrong_class", "FP:low_iou", "FP:background", "FN")),
    (("FP:low_iou", "FP", "detected"), ("FP:low_iou", "FP:duplicate", "FP:wrong_class", "FP:background", "detected")),
    ((), ()),
])
def test_expand_fp_writes_fp_as_its_reasons(groups, expected):
    assert expand_fp(groups) == expected


def test_filter_outcomes_are_outcome_groups():
    flt = ExplorerFilter(outcomes=["FN", "detected"])
    assert flt.outcomes == ("FN", "detected") and json.dumps(flt.to_dict()["outcomes"]) == '["FN", "detected"]'
    with pytest.raises(ValueError):
        ExplorerFilter(outcomes=("missed",))


def test_class_filters_combine_the_page_and_the_filter(hand_built):
    table = hand_built[3]
    flt = ExplorerFilter(outcomes=("TP", "FP", "FN"), classes=("b",))
    assert list(filter_objects(table, flt)["row"]) == [2, 4]
    assert list(filter_objects(table, flt, classes=["a"])["row"]) == []


@pytest.mark.parametrize("low, high, closed, expected", [
    (1.0, 2.0, False, [True, False, False, False]),
    (1.0, 2.0, True, [True, True, False, False]),
    (None, 2.0, False, [True, False, False, False]),
    (2.0, None, True, [False, True, True, False]),
])
def test_range_is_half_open_unless_closed_and_nan_never_passes(low, high, closed, expected):
    assert range_mask(np.array([1.0, 2.0, 3.0, np.nan]), low, high, closed).tolist() == expected


def test_confidence_range_applies_to_predictions_only(hand_built):
    table = hand_built[3]
    kept = filter_objects(table, ExplorerFilter(outcomes=("TP", "FP", "FN"), score_low=0.65))
    assert list(kept["row"]) == [0, 1, 2, 6]


def test_sort_keeps_nan_last_both_ways(hand_built):
    table = hand_built[3]
    assert list(sort_objects(table, "score", descending=True)["row"][:5]) == [0, 1, 2, 3, 4]
    assert list(sort_objects(table, "score")["row"]) == [4, 3, 2, 1, 0, 5, 6, 7]
    with pytest.raises(ValueError):
        sort_objects(table, "nope")


def test_counts(hand_built):
    counts = outcome_counts(hand_built[3])
    assert counts == {"objects": 8, "TP": 2, "FP": 3, "FN": 1, "detected": 2, "ignored": 0}


def test_filter_round_trips_through_json():
    flt = ExplorerFilter(outcomes=("FN", "detected"), classes=("a",), metric="Brightness (F)", low=0.1,
                         high=0.30000000000000004, high_closed=False, score_low=0.2)
    assert ExplorerFilter.from_dict(json.loads(json.dumps(flt.to_dict()))) == flt
    assert ExplorerFilter.from_dict(None) == ExplorerFilter()
    assert flt.without("metric").metric is None and flt.without("score").score_low is None
    assert flt.without("classes").classes is None and flt.without("outcomes").outcomes == ("TP", "FP", "FN")


def test_csv_rows_equal_the_core_outcome_and_metric_tables(hand_built):
    ds, match, tables, table = hand_built
    flt = ExplorerFilter(outcomes=("TP", "FP", "FN"), metric="Object Area - Relative", low=1.0)
    csv = pd.read_csv(io.StringIO(to_csv(filter_objects(table, flt))), keep_default_na=False, na_values=[""])
    preds, labels = match.prediction_table(ds), match.label_table(ds)
    area_p, area_l = tables.predictions["Object Area - Relative (P)"], tables.labels["Object Area - Relative (L)"]
    expected_p = np.flatnonzero(area_p >= 1.0)
    expected_l = np.flatnonzero((area_l >= 1.0) & (match.label_outcome == 2))
    got_p, got_l = csv[csv["kind"] == "prediction"], csv[csv["kind"] == "label"]
    assert list(got_p["object_id"]) == list(preds["prediction_id"][expected_p])
    assert list(got_l["object_id"]) == list(labels["label_id"][expected_l])
    for col, ref in (("outcome", "outcome"), ("reason", "reason"), ("matched_id", "matched_label_id"),
                     ("iou", "iou"), ("score", "score"), ("class", "class"), ("image_id", "image_id")):
        values = got_p[col].fillna("") if col == "reason" else got_p[col]
        assert list(values) == list(preds[ref][expected_p]), col
    assert list(got_l["matched_id"]) == list(labels["matched_prediction_id"][expected_l])
    assert list(got_l["iou"]) == list(labels["iou"][expected_l])
    for name in tables.names("P"):
        column = name[:-4]
        assert np.allclose(got_p[column], tables.predictions[name][expected_p], equal_nan=True, rtol=0, atol=0)
    assert list(got_p["file_name"]) == [ds.images.file_names[0]] * len(got_p)
    assert np.array_equal(got_p[["x", "y", "w", "h"]].to_numpy(), ds.predictions.boxes[expected_p])


def test_explorer_count_equals_the_bucket_count_on_demo_data(tmp_path):
    from detlens.core.buckets import assign_buckets  # noqa: F401  (the rule the filter mirrors)
    from detlens.core.demo import DemoConfig, write_demo

    paths = write_demo(tmp_path, DemoConfig.preset("default", n_images=60), render_images=False)
    ds = load_dataset(paths.labels, paths.predictions)
    match = Evaluator(ds).match(0.5, min_score=0.3)
    tables = compute_metric_tables(ds)
    table = object_table(ds, match, tables)
    for metric, column in (("Object Area - Relative (L)", "Object Area - Relative"), ("Image Area (F)", "Image Area (F)")):
        buckets = performance_by_metric(ds, tables, match, metric, ["ellipse", "cross"], 5).to_dict()
        edges = json.loads(json.dumps(buckets["edges"]))
        for b in range(len(edges) - 1):
            last = b == len(edges) - 2
            for side in Side:  # a side's groups are the rows of its rate's bucket
                flt = ExplorerFilter(outcomes=side.groups, metric=column, low=edges[b], high=edges[b + 1],
                                     high_closed=last)
                kept = filter_objects(table, flt, ["ellipse", "cross"])
                assert len(kept) == buckets[side.rate]["totals"][b], (metric, side, b)


def test_coco_subset_loads_back_and_reproduces_the_outcomes(hand_built, tmp_path):
    ds, match, tables, table = hand_built
    rows = filter_objects(table, ExplorerFilter(outcomes=("FP:duplicate", "FN")))
    labels, predictions = coco_subset(ds, rows)
    assert [im["file_name"] for im in labels["images"]] == [ds.images.file_names[0]]
    assert len(labels["annotations"]) == 3 and len(predictions) == 5
    (tmp_path / "labels.json").write_text(json.dumps(labels))
    (tmp_path / "predictions.json").write_text(json.dumps(predictions))
    again = load_dataset(tmp_path / "labels.json", tmp_path / "predictions.json")
    rematch = Evaluator(again).match(0.5)
    t2 = object_table(again, rematch, compute_metric_tables(again))
    key = ["kind", "object_id", "outcome", "reason", "matched_id"]
    assert t2[key].sort_values(key).values.tolist() == table[key].sort_values(key).values.tolist()


def test_coco_subset_of_nothing_is_empty(hand_built):
    ds, _, _, table = hand_built
    labels, predictions = coco_subset(ds, table.iloc[:0])
    assert labels["images"] == [] and labels["annotations"] == [] and predictions == []
    assert len(labels["categories"]) == 2


@pytest.mark.parametrize("values, lo, hi, bins, edges, counts", [
    ([0.0, 0.5, 1.0, 1.0], 0.0, 1.0, 2, [0.0, 0.5, 1.0], [1, 3]),  # [0, 0.5), [0.5, 1]: the last bin closed
    ([-0.1, 0.2, 1.1, np.nan], 0.0, 1.0, 2, [0.0, 0.5, 1.0], [1, 0]),  # outside the range and NaN left out
    ([2.0, 2.0, 3.0, np.nan], 2.0, 2.0, 40, [2.0, 2.0], [3]),  # lo == hi: one bin, every value
    ([1.0], 0.0, np.inf, 4, [], []),  # a bound that is not finite: empty
])
def test_histogram(values, lo, hi, bins, edges, counts):
    doc = histogram(np.array(values), lo, hi, bins).to_dict()
    assert doc == {"edges": edges, "counts": counts}


@pytest.mark.parametrize("min_score", [None, 0.4])
def test_object_columns_at_any_rows_equal_the_whole_table(tmp_path, min_score):
    """The Explorer reads columns at some rows (a page, an image) without the whole table: every column at any
    rows, in any order and with repeats, equals the whole table's rows, dtype included; the metric tables are
    read only for a metric column."""
    from detlens.core.demo import DemoConfig, write_demo
    from detlens.core.explorer.table import ObjectColumns

    paths = write_demo(tmp_path, DemoConfig.preset("default", n_images=40), render_images=False)
    ds = load_dataset(paths.labels, paths.predictions)
    match = Evaluator(ds).match(0.5, min_score=min_score)
    tables = compute_metric_tables(ds)
    whole = object_table(ds, match, tables)
    reads = []
    columns = ObjectColumns(ds, match, lambda: reads.append(1) or tables)
    assert len(columns) == len(whole) and columns.has("score") and reads == []
    rng = np.random.default_rng(3)
    n_p = len(ds.predictions)
    base = ["row", "kind", "class", "outcome", "reason", "matched_id", "iou", "x", "score", "image_id", "file_name"]
    for rows in (rng.integers(0, len(whole), 50), np.arange(n_p - 3, n_p + 3), np.array([5, 5, 0]),
                 np.array([len(whole) - 1]), np.array([], np.int64)):
        pd.testing.assert_frame_equal(columns.frame(base, rows), whole.iloc[rows][base], check_index_type=False)
    assert reads == []
    for rows in (rng.integers(0, len(whole), 50), np.arange(n_p - 3, n_p + 3), np.array([5, 5, 0])):
        pd.testing.assert_frame_equal(columns.frame(columns.names, rows), whole.iloc[rows], check_index_type=False)
    assert reads == [1]  # once, whatever the number of metric columns read
    assert columns.names == list(whole.columns)
    pd.testing.assert_frame_equal(columns.frame(columns.names), whole)
    with pytest.raises(KeyError):
        columns.values("nope")
