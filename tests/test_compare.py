"""Run A against run B (core/compare.py, core/bootstrap.py): pycocotools parity of each run, weighted AP with
weights 1 equal to core/ap.py bit for bit, self-comparison, a planted improvement on small objects, and the
paired bootstrap against a reference that copies rows of pandas frames image by image."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from detlens.core import bootstrap
from detlens.core.ap import RECALL_THRESHOLDS, average_precision
from detlens.core.ap_rule import APRule
from detlens.core.bootstrap import (VOC11_THRESHOLDS, image_weights, least_counts, percentile_interval, weighted_ap,
                                    weighted_curves)
from detlens.core.buckets import assign_buckets
from detlens.core.compare import compare_runs, run_outcomes, same_dataset
from detlens.core.demo import DemoConfig, generate, to_coco
from detlens.core.evaluation import Evaluator
from detlens.core.matching import FN, FP, TP
from detlens.core.metrics.tables import compute_metric_tables
from tests.coco_files import load_coco
from tests.pycoco_reference import pycocotools_per_class, pycocotools_stats
from tests.random_coco import random_coco

AREA = "Object Area - Relative (L)"


def other_run(results: list[dict], seed: int, drop: float = 0.25) -> list[dict]:
    """Another model's results on the same labels: a seeded share dropped, the scores of the rest moved."""
    rng = np.random.default_rng(seed)
    keep = rng.random(len(results)) >= drop
    jitter = rng.uniform(-0.2, 0.2, len(results))
    return [{**r, "score": float(np.clip(r["score"] + j, 0.01, 1.0))} for r, k, j in zip(results, keep, jitter) if k]


def evaluators(tmp_path, gt: dict, runs: list[list[dict]]) -> list[Evaluator]:
    return [Evaluator(load_coco(tmp_path / f"run{i}", gt, results)) for i, results in enumerate(runs)]


# ----- each run is pycocotools' -------------------------------------------------------------------------------

@pytest.mark.parametrize("seed, iou", [(0, 0.5), (1, 0.75), (2, 0.3), (3, 0.5)])
def test_each_run_equals_pycocotools(tmp_path, seed, iou):
    gt, results_a = random_coco(seed, n_images=30)
    results_b = other_run(results_a, seed)
    runs = evaluators(tmp_path, gt, [results_a, results_b])
    comparison = compare_runs(*(run_outcomes(n, ev, iou) for n, ev in zip("AB", runs)), resamples=20)
    for side, results in (("a", results_a), ("b", results_b)):
        reference = pycocotools_per_class(gt, results, iou)
        defined = [ap for ap, _ in reference.values() if not np.isnan(ap)]
        assert getattr(comparison.m_ap, side) == pytest.approx(np.mean(defined), abs=1e-12)
        assert getattr(comparison.m_ap_50_95, side) == pytest.approx(pycocotools_stats(gt, results)[0], abs=1e-12)
        for c in comparison.per_class:
            ref_ap, ref_ar = reference[int(c.name[1:])]
            assert getattr(c.ap, side) == pytest.approx(ref_ap, abs=1e-12, nan_ok=True)
            assert getattr(c.ar, side) == pytest.approx(ref_ar, abs=1e-12, nan_ok=True)


def test_unweighted_bootstrap_statistic_equals_pycocotools(tmp_path):
    gt, results = random_coco(5, n_images=30)
    (ev,) = evaluators(tmp_path, gt, [results])
    ds = ev.dataset
    curves = weighted_curves(ds, ev.match(0.5, reasons=False), ev.orders().by_class, ds.category_indices(None))
    ap, ar = weighted_ap(curves, np.ones((1, len(ds.images)), np.int64))
    reference = pycocotools_per_class(gt, results, 0.5)
    expected = np.array([reference[int(name[1:])] for name in ds.category_names])
    np.testing.assert_allclose(ap[0], expected[:, 0], atol=1e-12)
    np.testing.assert_allclose(ar[0], expected[:, 1], atol=1e-12)


# ----- weights all 1 are core/ap.py exactly ---------------------------------------------------------------------

# how the first point reaching each recall threshold is found: by counting (classes with few true positives),
# by a sorted search, and with least counts computed rather than read from the table
FIRST_POINT_PATHS = {"counting": {"COUNT_BELOW": 10**9}, "search": {"COUNT_BELOW": 0},
                     "computed": {"COUNT_BELOW": 0, "LEAST_COUNT_TABLE": 0}}


@pytest.mark.parametrize("path", FIRST_POINT_PATHS)
@pytest.mark.parametrize("ap_method", ["coco101", "voc_all_point", "voc_11_point"])
@pytest.mark.parametrize("match_method", ["coco", "voc"])
@pytest.mark.parametrize("seed", [0, 4, 7])
def test_unit_weights_reproduce_core_ap_bit_for_bit(tmp_path, monkeypatch, path, ap_method, match_method, seed):
    for name, value in FIRST_POINT_PATHS[path].items():
        monkeypatch.setattr(bootstrap, name, value)
    gt, results = random_coco(seed)  # score ties, IoU ties, crowd labels, empty images
    (ev,) = evaluators(tmp_path, gt, [results])
    ds = ev.dataset
    for iou in (0.1, 0.5, 0.9):
        match = ev.match(iou, method=match_method, reasons=False)
        result = ev.evaluate_match(match, ap_method=ap_method)
        curves = weighted_curves(ds, match, ev.orders().by_class, ds.category_indices(None))
        ap, ar = weighted_ap(curves, np.ones((3, len(ds.images)), np.int64), ap_method)
        for row in range(3):
            assert np.array_equal(ap[row], [c.ap for c in result.per_class], equal_nan=True)
            assert np.array_equal(ar[row], [c.ar for c in result.per_class], equal_nan=True)


@pytest.mark.parametrize("thresholds", [RECALL_THRESHOLDS, VOC11_THRESHOLDS])
@pytest.mark.parametrize("table", [True, False])
def test_least_counts_are_the_least_counts_whose_recall_reaches_each_threshold(monkeypatch, thresholds, table):
    if not table:
        monkeypatch.setattr(bootstrap, "LEAST_COUNT_TABLE", 0)
    n = np.arange(1, 5001, dtype=np.float64)[:, None]
    need = least_counts(n, thresholds)
    assert np.all(need / n >= thresholds)  # the recall of that count reaches the threshold ...
    assert np.all((need == 0) | ((need - 1) / n < thresholds))  # ... and one fewer does not


def test_a_class_subset_keeps_its_curves(tmp_path):
    gt, results = random_coco(2)
    (ev,) = evaluators(tmp_path, gt, [results])
    ds, match = ev.dataset, ev.match(0.5, reasons=False)
    result = ev.evaluate_match(match, ["c2", "c4"])
    curves = weighted_curves(ds, match, ev.orders().by_class, ds.category_indices(["c2", "c4"]))
    ap, _ = weighted_ap(curves, np.ones((1, len(ds.images))))
    assert np.array_equal(ap[0], [c.ap for c in result.per_class])


@pytest.mark.parametrize("path", FIRST_POINT_PATHS)
@pytest.mark.parametrize("counts", [[2, 0, 1], [0, 0, 3], [1, 1, 1], [3, 0, 0]])
def test_integer_weights_are_copied_images(tmp_path, monkeypatch, path, counts):
    for name, value in FIRST_POINT_PATHS[path].items():
        monkeypatch.setattr(bootstrap, name, value)
    # three images; weights [2, 0, 1] must give the AP of a dataset holding image 1 twice and image 3 once
    # seed 7: every image has labels and predictions; no equal scores
    gt, results = random_coco(7, n_images=3, n_classes=2, score_levels=10**6)
    (ev,) = evaluators(tmp_path / "w", gt, [results])
    ds = ev.dataset
    curves = weighted_curves(ds, ev.match(0.5, reasons=False), ev.orders().by_class, ds.category_indices(None))
    ap, ar = weighted_ap(curves, np.array([counts]))
    copied_gt, copied_results = copy_images(gt, results, ds.images.ids, counts)
    (copied,) = evaluators(tmp_path / "c", copied_gt, [copied_results])
    expected = copied.evaluate(0.5)
    np.testing.assert_allclose(ap[0], [c.ap for c in expected.per_class], atol=1e-12)
    np.testing.assert_allclose(ar[0], [c.ar for c in expected.per_class], atol=1e-12)


def copy_images(gt: dict, results: list[dict], image_ids: np.ndarray, counts: list[int]) -> tuple[dict, list[dict]]:
    """COCO dicts holding image ``image_ids[i]`` ``counts[i]`` times; copy k of image i gets id 1000 * i + k + 1, so
    copies keep the canonical order of their originals (and equal scores stay in that order)."""
    images, anns, preds = [], [], []
    by_id = {im["id"]: im for im in gt["images"]}
    for i, (image_id, count) in enumerate(zip(image_ids.tolist(), counts)):
        for k in range(count):
            new_id = 1000 * i + k + 1
            images.append({**by_id[image_id], "id": new_id, "file_name": f"{new_id}.jpg"})
            anns += [{**a, "id": len(anns) + j + 1, "image_id": new_id}
                     for j, a in enumerate(a for a in gt["annotations"] if a["image_id"] == image_id)]
            preds += [{**r, "image_id": new_id} for r in results if r["image_id"] == image_id]
    return {**gt, "images": images, "annotations": anns}, preds


# ----- a run against itself -----------------------------------------------------------------------------------

def demo_runs(n_images: int = 150, seed: int = 0, **detector) -> tuple[dict, list[dict], list[dict]]:
    """Labels and two runs on the same demo scene: A the default detector, B with ``detector`` changed."""
    gt, results_a = to_coco(generate(DemoConfig(n_images=n_images, seed=seed)))
    gt_b, results_b = to_coco(generate(DemoConfig(n_images=n_images, seed=seed, **detector)))
    assert gt_b == gt  # detector knobs never change the scene
    return gt, results_a, results_b


def outcomes_with_metric(evaluator: Evaluator, name: str, **kwargs):
    return run_outcomes(name, evaluator, 0.5, tables=compute_metric_tables(evaluator.dataset), metric=AREA, **kwargs)


@pytest.mark.parametrize("rule", [APRule(), APRule("voc_all_point", "voc"), APRule("voc_11_point", "coco", True)])
def test_a_run_against_itself_differs_by_zero_with_zero_width(tmp_path, rule):
    gt, results, _ = demo_runs(60)
    ev_a, ev_b = evaluators(tmp_path, gt, [results, results])
    comparison = compare_runs(outcomes_with_metric(ev_a, "A", rule=rule), outcomes_with_metric(ev_b, "B", rule=rule),
                              n_buckets=5, resamples=200)
    differences = [comparison.m_ap, comparison.m_ar, comparison.m_ap_50_95]
    differences += [d for c in comparison.per_class for d in (c.ap, c.ar)]
    for d in differences:
        assert (d.a == d.b, d.delta, d.low, d.high) == (True, 0.0, 0.0, 0.0)
    for bucket in comparison.by_metric.buckets:
        assert bucket.a == bucket.b
        for d in (bucket.delta_tpr, bucket.delta_fnr):
            assert (d.value, d.low, d.high) == (0.0, 0.0, 0.0)
    assert comparison.by_metric.finding.startswith("No bucket of Object Area - Relative differs significantly")


def test_runs_on_other_labels_are_refused(tmp_path):
    gt, results = random_coco(0)
    other_gt, other_results = random_coco(1)
    ev_a, = evaluators(tmp_path / "a", gt, [results])
    ev_b, = evaluators(tmp_path / "b", other_gt, [other_results])
    assert same_dataset(ev_a.dataset, ev_a.dataset) is None
    with pytest.raises(ValueError, match="the runs' (images|labels|classes) differ"):
        compare_runs(run_outcomes("A", ev_a, 0.5), run_outcomes("B", ev_b, 0.5), resamples=10)


def test_runs_at_other_settings_are_refused(tmp_path):
    gt, results = random_coco(0, n_images=10)
    ev, = evaluators(tmp_path, gt, [results])
    with pytest.raises(ValueError, match="compute both at the same settings"):
        compare_runs(run_outcomes("A", ev, 0.5), run_outcomes("B", ev, 0.75), resamples=10)
    with pytest.raises(ValueError, match="compute both at the same settings"):
        compare_runs(run_outcomes("A", ev, 0.5), run_outcomes("B", ev, 0.5, rule=APRule("voc_11_point")), resamples=10)


@pytest.mark.parametrize("resamples, level", [(0, 0.95), (10, 1.0), (10, 0.0)])
def test_bad_bootstrap_settings_are_refused(tmp_path, resamples, level):
    gt, results = random_coco(0, n_images=10)
    ev, = evaluators(tmp_path, gt, [results])
    with pytest.raises(ValueError):
        compare_runs(run_outcomes("A", ev, 0.5), run_outcomes("B", ev, 0.5), resamples=resamples, level=level)


def test_the_same_seed_gives_the_same_intervals_and_another_seed_others(tmp_path):
    gt, results_a, results_b = demo_runs(60, base_recall=0.85)
    runs = [run_outcomes(n, ev, 0.5) for n, ev in zip("AB", evaluators(tmp_path, gt, [results_a, results_b]))]
    first, again = (compare_runs(*runs, resamples=100, seed=3).m_ap for _ in range(2))
    other = compare_runs(*runs, resamples=100, seed=4).m_ap
    assert first == again and (first.low, first.high) != (other.low, other.high)


# ----- a planted improvement on small objects ------------------------------------------------------------------

def test_a_run_planted_to_find_small_objects_is_significantly_better_there_only(tmp_path):
    data = generate(DemoConfig(n_images=400, seed=2))
    gt, results_a = to_coco(data)
    # B = A plus a box on most small labels A missed; nothing else changes
    small = float(np.quantile(data.label_rel_area[~data.label_iscrowd], 0.3))
    rng = np.random.default_rng(0)
    missed = np.flatnonzero(~data.label_detected & ~data.label_iscrowd & (data.label_rel_area < small))
    added = [{"image_id": a["image_id"], "category_id": a["category_id"], "bbox": a["bbox"], "score": 0.97}
             for a in (gt["annotations"][j] for j in missed[rng.random(missed.shape[0]) < 0.8])]
    ev_a, ev_b = evaluators(tmp_path, gt, [results_a, results_a + added])
    comparison = compare_runs(outcomes_with_metric(ev_a, "A"), outcomes_with_metric(ev_b, "B"), n_buckets=8,
                              unit="%")
    buckets = comparison.by_metric.buckets
    planted = [b for b in buckets if b.high <= small]
    untouched = [b for b in buckets if b.low >= small]
    assert planted and untouched
    for b in planted:  # B finds them: fewer misses, more true positives, intervals clear of 0
        assert b.delta_fnr.high < 0 and b.delta_tpr.low > 0, b
    for b in untouched:
        assert b.delta_fnr.low <= 0 <= b.delta_fnr.high and b.delta_tpr.low <= 0 <= b.delta_tpr.high, b
    finding = comparison.by_metric.finding
    assert finding.startswith("B finds labels with Object Area - Relative below ")
    assert finding.endswith("; no bucket is significantly worse.")
    assert comparison.m_ar.low > 0  # more labels found overall


def test_the_finding_names_worse_buckets_too(tmp_path):
    data = generate(DemoConfig(n_images=400, seed=2))
    gt, results_a = to_coco(data)
    # B loses every prediction on large objects: worse there
    large = float(np.quantile(data.label_rel_area, 0.7))
    keep = [r for r in results_a if r["bbox"][2] * r["bbox"][3] / (320 * 240) * 100 < large * 0.5]
    ev_a, ev_b = evaluators(tmp_path, gt, [results_a, keep])
    comparison = compare_runs(outcomes_with_metric(ev_a, "A"), outcomes_with_metric(ev_b, "B"), n_buckets=5,
                              resamples=300, unit="%")
    finding = comparison.by_metric.finding
    assert finding.startswith("No bucket is significantly better; B misses labels with Object Area - Relative ")
    assert " and above " in finding and finding.endswith(".")
    assert comparison.by_metric.buckets[-1].delta_fnr.low > 0


# ----- the bootstrap against a reference that copies rows -------------------------------------------------------

RESAMPLES = 400


def reference_frames(evaluator: Evaluator, edges: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per counted prediction and per counted label, with what the reference recomputes from."""
    ds = evaluator.dataset
    match = evaluator.match(0.5, reasons=False)
    tables = compute_metric_tables(ds)
    counted = np.flatnonzero((match.pred_outcome == TP) | (match.pred_outcome == FP))
    preds = pd.DataFrame({
        "image": ds.predictions.image_index[counted], "cls": ds.predictions.category_index[counted],
        "score": ds.predictions.scores[counted], "rank": match.pred_rank[counted],
        "tp": match.pred_outcome[counted] == TP,
        "bucket": assign_buckets(tables.predictions["Object Area - Relative (P)"][counted], edges)})
    counted = np.flatnonzero((match.label_outcome == TP) | (match.label_outcome == FN))
    labels = pd.DataFrame({
        "image": ds.labels.image_index[counted], "cls": ds.labels.category_index[counted],
        "fn": match.label_outcome[counted] == FN,
        "bucket": assign_buckets(tables.labels[AREA][counted], edges)})
    return preds, labels


def reference_statistics(preds: pd.DataFrame, labels: pd.DataFrame, drawn: np.ndarray, n_classes: int,
                         n_buckets: int) -> np.ndarray:
    """mAP, mAR, AP per class, TPR and FNR per bucket of the resample that draws the images ``drawn``, computed
    the straightforward way: the drawn images' rows copied into new frames, sorted, evaluated with core/ap.py."""
    draws = pd.DataFrame({"image": drawn, "copy": np.arange(drawn.shape[0])})
    p = preds.merge(draws, on="image")
    # pycocotools' order: score, then image, then rank in the image; an image's copies next to each other
    p = p.sort_values(["cls", "score", "image", "rank", "copy"], ascending=[True, False, True, True, True])
    lab = labels.merge(draws, on="image")
    n_labels = lab.groupby("cls").size()
    ap, ar = np.full(n_classes, np.nan), np.full(n_classes, np.nan)
    for k in range(n_classes):
        if n_labels.get(k, 0) > 0:
            ap[k], ar[k] = average_precision(p.loc[p.cls == k, "tp"].to_numpy(), int(n_labels[k]))[:2]
    tpr = p[p.bucket >= 0].groupby("bucket").tp.mean().reindex(range(n_buckets)).to_numpy()
    fnr = lab[lab.bucket >= 0].groupby("bucket").fn.mean().reindex(range(n_buckets)).to_numpy()
    return np.concatenate(([np.nanmean(ap), np.nanmean(ar)], ap, tpr, fnr))


def reference_intervals(frames, n_images: int, n_classes: int, n_buckets: int, seed: int):
    """Percentile intervals of B - A of every :func:`reference_statistics`, and the resampled differences."""
    weights = image_weights(np.random.default_rng(seed), n_images, RESAMPLES)
    deltas = []
    for row in weights:
        drawn = np.repeat(np.arange(n_images), row)
        a, b = (reference_statistics(*f, drawn, n_classes, n_buckets) for f in frames)
        deltas.append(b - a)
    deltas = np.array(deltas)
    return (*percentile_interval(deltas, 0.95), deltas)


@pytest.fixture(scope="module")
def reference_case(tmp_path_factory):
    """Two demo runs, their comparison (400 resamples, seed 0) and the reference's frames."""
    gt, results_a, results_b = demo_runs(120, seed=1, base_recall=0.85, size_effect=1.0)
    evs = evaluators(tmp_path_factory.mktemp("reference"), gt, [results_a, results_b])
    comparison = compare_runs(*(outcomes_with_metric(ev, n) for n, ev in zip("AB", evs)), n_buckets=4,
                              resamples=RESAMPLES, seed=0)
    edges = np.array(comparison.by_metric.edges)
    frames = [reference_frames(ev, edges) for ev in evs]
    return comparison, frames, len(evs[0].dataset.images), evs[0].dataset.n_categories


def compared_intervals(comparison) -> np.ndarray:
    """``(S, 2)`` intervals of the comparison in the order of :func:`reference_statistics`."""
    rows = [comparison.m_ap, comparison.m_ar, *(c.ap for c in comparison.per_class)]
    rows += [b.delta_tpr for b in comparison.by_metric.buckets] + [b.delta_fnr for b in comparison.by_metric.buckets]
    return np.array([[d.low, d.high] for d in rows])


def test_the_bootstrap_equals_copied_rows_on_the_same_draws(reference_case):
    # the same images drawn: weights and copied rows give the same statistics (an image's copies are adjacent
    # in the copied evaluation order, which leaves every precision-recall point the weighted curve has)
    comparison, frames, n_images, n_classes = reference_case
    low, high, _ = reference_intervals(frames, n_images, n_classes, len(comparison.by_metric.buckets), seed=0)
    np.testing.assert_allclose(compared_intervals(comparison), np.column_stack([low, high]), atol=1e-9)


def test_the_bootstrap_agrees_with_the_reference_within_monte_carlo_error(reference_case):
    # independent draws (another seed): each interval end is a 2.5% or 97.5% quantile of 400 resampled
    # differences. For a roughly normal bootstrap distribution of spread s, such a quantile's standard error
    # is sqrt(0.025 * 0.975 / 400) / phi(1.96) * s = 0.134 s, so two independent estimates differ by
    # 0.19 s in standard deviation; 0.8 s is over 4 standard deviations (a false alarm ~1e-4 per end).
    comparison, frames, n_images, n_classes = reference_case
    low, high, deltas = reference_intervals(frames, n_images, n_classes, len(comparison.by_metric.buckets), seed=12345)
    spread = np.nanstd(deltas, axis=0)
    ours = compared_intervals(comparison)
    assert np.all(spread > 0)
    assert np.all(np.abs(ours[:, 0] - low) <= 0.8 * spread), (ours[:, 0], low, spread)
    assert np.all(np.abs(ours[:, 1] - high) <= 0.8 * spread), (ours[:, 1], high, spread)


# ----- the finding's words ------------------------------------------------------------------------------------

def bucket(low, high, d_tpr=(0.0, 0.0, 0.0), d_fnr=(0.0, 0.0, 0.0), rows=50):
    from detlens.core.compare import BucketComparison, BucketRates, RateDifference

    run = BucketRates(0.5, 0.5, rows, rows)
    return BucketComparison(low, high, run, run, RateDifference(*d_tpr), RateDifference(*d_fnr))


EDGES = [0.1, 0.3, 1.0, 5.0]


@pytest.mark.parametrize("buckets, expected", [
    ([bucket(0.1, 0.3, d_fnr=(-0.21, -0.27, -0.15)), bucket(0.3, 1.0), bucket(1.0, 5.0)],
     "new finds labels with Area below 0.3% 21 points more often (95% CI 15-27); no bucket is significantly worse."),
    ([bucket(0.1, 0.3), bucket(0.3, 1.0, d_tpr=(-0.1, -0.16, -0.04)), bucket(1.0, 5.0, d_tpr=(-0.2, -0.3, -0.1))],
     "No bucket is significantly better; new's predictions with Area between 0.3% and 1% are right 10 points less "
     "often (95% CI 4-16) and above 1% 20 points less often (95% CI 10-30)."),
    ([bucket(0.1, 0.3, d_fnr=(0.08, 0.02, 0.14)), bucket(0.3, 1.0, d_tpr=(0.05, 0.01, 0.09)), bucket(1.0, 5.0)],
     "new's predictions with Area between 0.3% and 1% are right 5 points more often (95% CI 1-9); new misses "
     "labels with Area below 0.3% 8 points more often (95% CI 2-14)."),
    ([bucket(0.1, 0.3, d_fnr=(-0.2, -0.3, -0.1), rows=4), bucket(0.3, 1.0, d_tpr=(0.1, -0.01, 0.2)), bucket(1.0, 5.0)],
     "No bucket of Area differs significantly between old and new (95% paired-bootstrap intervals)."),
    # on large sets tenths of a point are significant: they are not written as 0
    ([bucket(0.1, 0.3, d_tpr=(0.0042, 0.0012, 0.0071)), bucket(0.3, 1.0, d_tpr=(0.0004, 0.0001, 0.0008)),
      bucket(1.0, 5.0)],
     "new's predictions with Area below 0.3% are right 0.4 points more often (95% CI 0.1-0.7) and between 0.3% "
     "and 1% 0.04 points more often (95% CI 0.01-0.08); no bucket is significantly worse."),
])
def test_the_finding_names_significant_buckets_only(buckets, expected):
    from detlens.core.compare import comparison_finding

    assert comparison_finding(tuple(buckets), EDGES, "Area (L)", "%", ("old", "new")) == expected
