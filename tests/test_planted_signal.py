"""Planted signals: the demo generator's detector misses what we tell it to, and the
importance ranking and performance-by-metric curves must find exactly that."""

import numpy as np
import pytest

from detlens.core.analysis import performance_by_metric, rank_metrics
from detlens.core.demo import DemoConfig, generate, write_demo
from detlens.core.evaluation import Evaluator
from detlens.core.io import load_dataset
from detlens.core.metrics.tables import compute_metric_tables

# Frame metrics the generator never lets influence detection. (Object Count and Object
# Density are derived from the labels themselves, so a size effect legitimately leaks into them.)
UNPLANTED_FRAME = ["Image Area (F)", "Aspect Ratio (F)", "Random Values (F)"]
RANDOM = ["Random Values (F)", "Random Values (L)", "Random Values (P)"]


@pytest.fixture(scope="module")
def size_demo(tmp_path_factory):
    config = DemoConfig.preset("size", n_images=600, seed=3)
    paths = write_demo(tmp_path_factory.mktemp("size"), config, render_images=False)
    ds = load_dataset(paths.labels, paths.predictions)
    match = Evaluator(ds).match(0.5)
    return config, generate(config), ds, compute_metric_tables(ds), match


def importance(ranking):
    return {d.metric: d.importance for d in ranking}


@pytest.mark.parametrize("side, level", [("labels", "L"), ("predictions", "P")])
def test_size_ranks_first_on_both_sides(size_demo, side, level):
    _, _, ds, tables, match = size_demo
    ranking = [d for d in rank_metrics(ds, tables, match, side=side) if d.metric != "Model Confidence (P)"]
    assert ranking[0].metric == f"Object Area - Relative ({level})"
    scores = importance(ranking)
    for name in UNPLANTED_FRAME + [f"Random Values ({level})"]:
        assert scores[name] < 0.05, name
    assert ranking[0].clears_zero
    assert_random_values_interval_starts_at_0(ranking)


def assert_random_values_interval_starts_at_0(ranking):
    for d in ranking:
        if d.metric in RANDOM:
            assert d.importance_low == 0.0 and d.importance_high >= 0.0, d


def test_bucket_fnr_follows_the_planted_curve(size_demo):
    _, data, ds, tables, match = size_demo
    table = performance_by_metric(ds, tables, match, "Object Area - Relative (L)", n_buckets=8)
    # the generator's own detection probability of each label, bucketed the same way
    rel = tables.labels["Object Area - Relative (L)"]
    counted = ~ds.labels.iscrowd
    bucket = np.searchsorted(table.edges, rel[counted], side="right") - 1
    bucket = np.clip(bucket, 0, table.n_buckets - 1)
    planted_fnr = np.array([1 - data.label_detect_prob[counted][bucket == b].mean() for b in range(table.n_buckets)])
    inside = (table.fnr.low - 0.02 <= planted_fnr) & (planted_fnr <= table.fnr.high + 0.02)
    assert inside.mean() >= 0.85, (table.fnr.rate, planted_fnr)
    assert table.fnr.rate[0] > table.fnr.rate[-1] + 0.4  # small objects are missed far more often


def test_class_subset_and_threshold_change_the_rows(size_demo):
    _, _, ds, tables, match = size_demo
    one_class = str(ds.category_names[0])
    ranking = rank_metrics(ds, tables, match, classes=[one_class], side="labels")
    assert ranking[0].rows < rank_metrics(ds, tables, match, side="labels")[0].rows
    table = performance_by_metric(ds, tables, match, "Object Area - Relative (P)", classes=[one_class])
    assert set(table.per_class) == {one_class}
    assert table.fnr.count + table.tpr.count > 0


@pytest.fixture(scope="module")
def brightness_demo(tmp_path_factory):
    config = DemoConfig.preset("brightness", n_images=300, seed=5)
    paths = write_demo(tmp_path_factory.mktemp("brightness"), config)
    ds = load_dataset(paths.labels, paths.predictions)
    match = Evaluator(ds).match(0.5)
    return ds, compute_metric_tables(ds, paths.images_dir, workers=1), match


def test_brightness_drives_misses_on_the_label_side(brightness_demo):
    ds, tables, match = brightness_demo
    ranking = rank_metrics(ds, tables, match, side="labels")
    assert ranking[0].metric == "Brightness (F)" and ranking[0].correlation > 0.3
    scores = importance(ranking)
    # colour, geometry and the controls carry no planted effect here
    for name in ["Redness (F)", "Greenness (F)", "Blueness (F)", "Saturation (F)", "Object Area - Relative (L)",
                 "Image Area (F)", "Random Values (F)", "Random Values (L)"]:
        assert scores[name] < 0.05, name
    assert ranking[0].clears_zero
    assert_random_values_interval_starts_at_0(ranking)


def test_brightness_buckets_follow_the_planted_curve(brightness_demo):
    ds, tables, match = brightness_demo
    table = performance_by_metric(ds, tables, match, "Brightness (F)", n_buckets=5)
    assert table.fnr is not None and table.tpr is not None
    fnr = table.fnr.rate
    assert fnr[0] > fnr[-1] + 0.3  # dark images: many more misses
    assert np.all(np.diff(fnr) < 0.08)  # and the miss rate falls (almost) monotonically with brightness
