"""Bucket edges, rates and Wilson intervals (core/buckets.py)."""

import numpy as np
import pytest

from detlens.core.buckets import assign_buckets, bucket_edges, bucket_rates, wilson_interval
from detlens.core.settings import BUCKETS_MAX, BUCKETS_MIN


@pytest.mark.parametrize(
    "k, n, low, high",
    [(5, 10, 0.236593, 0.763407), (0, 10, 0.0, 0.277533), (10, 10, 0.722467, 1.0), (1, 100, 0.001767, 0.054486)],
)
def test_wilson_interval_hand_computed(k, n, low, high):
    lo, hi = wilson_interval(np.array([k]), np.array([n]))
    assert lo[0] == pytest.approx(low, abs=1e-6) and hi[0] == pytest.approx(high, abs=1e-6)


def test_wilson_interval_empty_bucket_is_nan():
    lo, hi = wilson_interval(np.array([0]), np.array([0]))
    assert np.isnan(lo[0]) and np.isnan(hi[0])


@pytest.mark.parametrize("method", ["quantile", "equal_width"])
def test_uniform_values_fill_buckets_evenly(method):
    edges = bucket_edges(np.arange(100.0), 10, method)
    counts = np.bincount(assign_buckets(np.arange(100.0), edges))
    assert edges.shape == (11,) and counts.tolist() == [10] * 9 + [10]


def test_quantile_edges_collapse_on_repeated_values():
    values = np.array([0.0] * 80 + list(range(1, 21)), float)
    edges = bucket_edges(values, 10)
    assert edges.shape[0] < 11 and np.all(np.diff(edges) > 0)


@pytest.mark.parametrize(
    "value, bucket",
    [(0.0, 0), (0.999, 0), (1.0, 1), (2.0, 1), (np.nan, -1), (-0.1, -1), (2.1, -1)],
)
def test_bucket_boundaries_half_open_last_closed(value, bucket):
    assert assign_buckets(np.array([value]), np.array([0.0, 1.0, 2.0]))[0] == bucket


@pytest.mark.parametrize("n", [BUCKETS_MIN - 1, BUCKETS_MAX + 1])
def test_bucket_count_limits(n):
    with pytest.raises(ValueError, match=f"between {BUCKETS_MIN} and {BUCKETS_MAX}"):
        bucket_edges(np.arange(10.0), n)


@pytest.mark.parametrize("n", [BUCKETS_MIN, BUCKETS_MAX])
def test_bucket_count_limits_are_allowed(n):
    assert bucket_edges(np.arange(100.0), n, "equal_width").shape == (n + 1,)


def test_rates_per_bucket_and_class_hand_computed():
    # predictions: values 0..3, classes 0/1; labels: values 0..3
    table = bucket_rates(
        "m",
        pred_values=np.array([0.0, 0.5, 2.5, 3.0, 3.0]), pred_tp=np.array([1, 0, 1, 1, 1], bool),
        pred_class=np.array([0, 1, 0, 0, 1]),
        label_values=np.array([0.2, 2.6, 2.7]), label_fn=np.array([1, 0, 1], bool), label_class=np.array([0, 0, 1]),
        class_names=["a", "b"], n_buckets=2, method="equal_width",
    )
    assert table.edges.tolist() == [0.0, 1.5, 3.0]
    assert table.tpr.totals.tolist() == [2, 3] and table.tpr.rate.tolist() == [0.5, 1.0]
    assert table.fnr.totals.tolist() == [1, 2] and table.fnr.rate.tolist() == [1.0, 0.5]
    assert table.tpr.average == pytest.approx(0.8) and table.fnr.average == pytest.approx(2 / 3)
    tpr_a, fnr_a = table.per_class["a"]
    assert tpr_a.totals.tolist() == [1, 2] and tpr_a.rate.tolist() == [1.0, 1.0]
    assert fnr_a.totals.tolist() == [1, 1] and fnr_a.rate.tolist() == [1.0, 0.0]
    doc = table.to_dict()
    assert doc["TPR"]["rate"] == [0.5, 1.0] and set(doc["per_class"]) == {"a", "b"}


def test_metric_without_label_twin_reports_no_fnr():
    table = bucket_rates("Model Confidence", np.array([0.1, 0.9]), np.array([0, 1], bool), np.array([0, 0]),
                         None, None, None, ["a"], n_buckets=2)
    assert table.fnr is None and table.to_dict()["FNR"] is None and table.tpr.rate.tolist() == [0.0, 1.0]


def test_empty_metric_gives_no_buckets():
    table = bucket_rates("m", np.array([np.nan]), np.array([True]), np.array([0]), None, None, None, ["a"])
    assert table.n_buckets == 0 and table.tpr.count == 0
