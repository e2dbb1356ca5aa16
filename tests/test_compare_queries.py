"""Compare mode's query service (app/compare_queries.py) on two prepared runs of the demo.

Its numbers are core/compare's on the runs loaded from their files (core/compare is checked against
pycocotools and a pandas bootstrap in tests/test_compare.py), each run's mAP is pycocotools', a run
compared with itself differs by 0 with zero-width intervals, and the Explorer's compare groups equal an
independent pandas computation of the pairing rule from the two single-run object tables.
"""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from detlens.app.queries import ViewParams
from detlens.core.ap_rule import APRule
from detlens.core.compare import compare_runs, run_outcomes
from detlens.core.evaluation import Evaluator
from detlens.core.explorer import ExplorerFilter
from detlens.core.io import load_dataset
from detlens.core.metrics.tables import compute_metric_tables
from detlens.core.vocabulary import CompareGroup
from tests.compare_pair import prepare_pair
from tests.pycoco_reference import pycocotools_per_class, pycocotools_stats

AREA = "Object Area - Relative (L)"
RESAMPLES = 200  # enough to compare intervals exactly; the dashboard's default is BOOTSTRAP_RESAMPLES


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    return prepare_pair(tmp_path_factory.mktemp("compare-pair"))


def compare_view(pair, key_b=None, **view):
    va = ViewParams.of(pair.key_a, **view)
    return replace(pair.queries.compare.view(va, key_b or pair.key_b, ("base", "small")), resamples=RESAMPLES)


def core_comparison(pair, iou=0.5, classes=None, min_score=None, rule=APRule(), metric=None):
    """core/compare on the runs loaded from their files (no cache, no dashboard)."""
    runs = []
    for name, path in (("base", pair.predictions_a), ("small", pair.predictions_b)):
        ds = load_dataset(str(pair.labels), str(path))
        tables = compute_metric_tables(ds) if metric else None
        runs.append(run_outcomes(name, Evaluator(ds), iou, classes, rule, min_score=min_score, tables=tables,
                                 metric=metric))
    return compare_runs(*runs, resamples=RESAMPLES).to_dict() if metric is None else \
        compare_runs(*runs, resamples=RESAMPLES, unit="%").to_dict()


@pytest.mark.parametrize("view", [
    {},
    {"iou": 0.75},
    {"classes": ["ellipse", "cross"]},
    {"min_score": 0.3},
    {"rule": APRule("voc_all_point", "voc")},
])
def test_the_dashboards_comparison_is_core_compares(pair, view):
    got = pair.queries.compare.summary(compare_view(pair, **view))
    expected = core_comparison(pair, **view)
    for field in ("mAP", "mAR", "mAP_50_95", "per_class"):
        assert got[field] == expected[field], field  # the same computation on the same matches: exactly
    assert got["runs"] == expected["runs"]


def test_each_runs_map_is_pycocotools(pair):
    got = pair.queries.compare.summary(compare_view(pair))
    gt = json.loads(pair.labels.read_text())
    ids = {c["name"]: c["id"] for c in gt["categories"]}
    for side, path in (("A", pair.predictions_a), ("B", pair.predictions_b)):
        results = json.loads(path.read_text())
        reference = pycocotools_per_class(gt, results, 0.5)
        assert got["mAP"][side] == pytest.approx(np.nanmean([ap for ap, _ in reference.values()]), abs=1e-12)
        for name, c in got["per_class"].items():
            assert c["AP"][side] == pytest.approx(reference[ids[name]][0], abs=1e-12)
        assert got["mAP_50_95"][side] == pytest.approx(pycocotools_stats(gt, results)[0], abs=1e-12)
    assert got["mAP"]["A"] == pytest.approx(pair.queries.evaluation_doc(ViewParams.of(pair.key_a))["mAP"], abs=0)


def test_the_by_metric_comparison_is_core_compares(pair):
    got = pair.queries.compare.by_metric(compare_view(pair), AREA, 10, "quantile")
    expected = core_comparison(pair, metric=AREA)
    assert got["edges"] == pytest.approx(expected["edges"], abs=1e-12)
    assert got["by_metric"] == expected["by_metric"]
    assert got["finding"] == expected["finding"]
    assert "B" not in got["finding"] or "small" in got["finding"]  # the runs' names, not A and B


def test_a_run_against_itself_differs_by_zero_with_zero_width(pair):
    cv = compare_view(pair, key_b=pair.key_a)
    doc = pair.queries.compare.summary(cv)
    for d in [doc["mAP"], doc["mAR"], doc["mAP_50_95"],
              *(c[s] for c in doc["per_class"].values() for s in ("AP", "AR"))]:
        assert d["delta"] == 0.0 and d["ci"] == [0.0, 0.0]
    buckets = pair.queries.compare.by_metric(cv, AREA, 10, "quantile")["by_metric"]
    for b in buckets:
        for rate in ("delta_TPR", "delta_FNR"):
            assert b[rate]["value"] in (0.0, None) and b[rate]["ci"] in ([0.0, 0.0], [None, None])
    table = pair.queries.compare.objects(cv)
    assert set(table["change"]) <= {"", CompareGroup.BOTH_WRONG.value}  # nothing fixed, nothing broken


def test_runs_of_other_labels_are_refused_in_one_line(pair, tmp_path):
    from detlens.app.preparation import prepare
    from detlens.app.source import DataSource

    gt = json.loads(pair.labels.read_text())
    gt["annotations"] = gt["annotations"][1:]
    other = tmp_path / "labels.json"
    other.write_text(json.dumps(gt))
    key = prepare(pair.queries, DataSource(str(other), str(pair.predictions_a)))
    with pytest.raises(ValueError) as caught:
        pair.queries.compare.view(ViewParams.of(pair.key_a), key, ("base", "other"))
    assert "\n" not in str(caught.value) and "labels differ" in str(caught.value)
    with pytest.raises(ValueError, match="not prepared"):
        pair.queries.compare.view(ViewParams.of(pair.key_a), "0" * 24, ("base", "other"))


# ----- the Explorer's compare groups against pandas ---------------------------------------------------------

def pandas_groups(a: pd.DataFrame, b: pd.DataFrame, t: float) -> dict[str, set]:
    """The pairing rule (core/compare_objects.py) written again in pandas over the two single-run object tables:
    ``{group: {("label", id) | ("A", id) | ("B", id)}}``."""
    out = {g.value: set() for g in CompareGroup}
    labels = a[a.kind == "label"].merge(b[b.kind == "label"], on="object_id", suffixes=("_a", "_b"))
    for group, (oa, ob) in {"fixed": ("FN", "TP"), "broken": ("TP", "FN"), "both_wrong": ("FN", "FN")}.items():
        hit = labels[(labels.outcome_a == oa) & (labels.outcome_b == ob)]
        out[group] |= {("label", i) for i in hit.object_id}

    def side(x: pd.DataFrame, y: pd.DataFrame, run: str, wrong: str):
        fps = x[(x.kind == "prediction") & (x.outcome == "FP")]
        others = y[(y.kind == "prediction") & (y.outcome != "ignored")]
        pairs = fps.merge(others, on=["image_id", "class"], suffixes=("", "_y"))
        iw = (np.minimum(pairs.x + pairs.w, pairs.x_y + pairs.w_y) - np.maximum(pairs.x, pairs.x_y)).clip(lower=0)
        ih = (np.minimum(pairs.y + pairs.h, pairs.y_y + pairs.h_y) - np.maximum(pairs.y, pairs.y_y)).clip(lower=0)
        inter = iw * ih
        pairs["pair_iou"] = inter / (pairs.w * pairs.h + pairs.w_y * pairs.h_y - inter)
        pairs = pairs[pairs.pair_iou >= t].sort_values(["object_id", "pair_iou", "score_y", "row_y"],
                                                       ascending=[True, False, False, True])
        best = pairs.drop_duplicates("object_id").set_index("object_id")
        for oid in fps.object_id:
            partner = best.outcome_y.get(oid)
            out["both_wrong" if partner == "FP" else wrong].add((run, oid))

    side(a, b, "A", "fixed")
    side(b, a, "B", "broken")
    return out


@pytest.mark.parametrize("view", [{}, {"iou": 0.3}, {"min_score": 0.5}, {"classes": ["cross"]}])
def test_the_compare_filters_equal_pandas(pair, view):
    q = pair.queries
    cv = compare_view(pair, **view)
    single = [q.explorer.objects(v) for v in (cv.a, cv.b)]
    expected = pandas_groups(*single, cv.a.iou)
    table = q.compare.objects(cv)
    for group in CompareGroup:
        rows = q.compare.filtered(cv, ExplorerFilter(compare=group), "row", False)["rows"]
        kept = table.iloc[rows]
        got = {("label" if k == "label" else r, i) for k, r, i in zip(kept.kind, kept.run, kept.object_id)}
        wanted = expected[group.value]
        if view.get("classes"):
            classes = dict(zip(zip(np.where(table.kind == "label", "label", table.run), table.object_id),
                               table["class"]))
            wanted = {k for k in wanted if classes[k] in view["classes"]}
        assert got == wanted, group
        assert wanted, f"the pair has no {group} objects: the test would prove nothing"


def test_the_compare_table_holds_both_runs(pair):
    q = pair.queries
    cv = compare_view(pair)
    a, b = (q.explorer.objects(v) for v in (cv.a, cv.b))
    table = q.compare.objects(cv)
    n_pb = int((b.kind == "prediction").sum())
    assert len(table) == len(a) + n_pb
    np.testing.assert_array_equal(table["row"].to_numpy(), np.arange(len(table)))
    assert (table.iloc[:len(a)]["object_id"].to_numpy() == a["object_id"].to_numpy()).all()
    assert (table.iloc[len(a):]["object_id"].to_numpy() == b.iloc[:n_pb]["object_id"].to_numpy()).all()
    page = q.compare.page(cv, np.arange(len(table))[-3:], 1, None)
    assert [item["run"] for item in page] == ["B"] * 3
    assert all(o["run"] in ("A", "B", "") for item in page for o in item["others"])
    detail = q.compare.detail(cv, len(table) - 1)
    assert detail["object"]["run"] == "B" and detail["runs"] == ["base", "small"]
    assert {b["run"] for b in detail["boxes"]} >= {"", "B"}
    assert "run" not in detail["object_metrics"] and "change" not in detail["object_metrics"]


def test_error_filters_are_refused_in_compare_mode(pair):
    flt = ExplorerFilter.from_dict({**ExplorerFilter().to_dict(), "error_types": ["Loc"]})
    with pytest.raises(ValueError, match="compare mode"):
        pair.queries.compare.filtered(compare_view(pair), flt, "row", False)
