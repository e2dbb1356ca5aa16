"""Metric importance and correlation (core/importance.py) on planted signals."""

import numpy as np
import pytest
from sklearn.feature_selection import mutual_info_classif

from detlens.core import importance
from detlens.core.importance import (
    ALPHA,
    GatheredValues,
    MetricDependency,
    bootstrap_image_sums,
    folds_of_images,
    held_out_losses,
    metric_dependencies,
    metric_dependency,
    pearson,
)


def clustered_outcome(seed: int, n_images: int = 1500):
    """Objects grouped in images whose difficulty varies: Y depends on the image, not on any metric."""
    rng = np.random.default_rng(seed)
    image = np.repeat(np.arange(n_images), rng.integers(1, 25, n_images))
    difficulty = rng.normal(0, 1.5, n_images)[image]
    y = rng.random(image.shape[0]) < 1 / (1 + np.exp(-difficulty))
    return rng, image, y


def entropy(y: np.ndarray) -> float:
    p = y.mean()
    return float(-(p * np.log(p) + (1 - p) * np.log(1 - p)))


@pytest.mark.parametrize("seed", range(4))
def test_independent_noise_scores_below_0_02_and_its_interval_starts_at_0(seed):
    rng, image, y = clustered_outcome(seed)
    dep = metric_dependency("noise", rng.random(y.shape[0]), y, image)
    assert dep.importance < 0.02 and dep.importance_low == 0.0 and not dep.clears_zero


@pytest.mark.parametrize("seed", range(4))
def test_frame_metric_repeated_per_image_without_effect_stays_below_0_05(seed):
    rng, image, y = clustered_outcome(seed)
    frame_value = rng.random(image.max() + 1)[image]  # one value repeated for all objects of an image
    dep = metric_dependency("frame", frame_value, y, image)
    ours = dep.importance
    assert ours < 0.05 and dep.importance_low == 0.0
    # the estimator the issue warns about sees a dependency that is not there
    leaky = mutual_info_classif(frame_value[:, None], y, random_state=0)[0] / 0.693
    assert leaky > 0.1 > ours


def identity_importance(y: np.ndarray, folds: np.ndarray) -> float:
    """U of X = Y in closed form: X's 0s and 1s fall in separate bins, whose smoothed rates
    2p / (n_0 + 2) and (n_1 + 2p) / (n_1 + 2) fall short of 0 and 1 only by the smoothing."""
    metric = constant = 0.0
    for k in np.unique(folds):
        train, test = y[folds != k], y[folds == k]
        n_1, p = train.sum(), train.mean()
        n_0 = train.shape[0] - n_1
        m_1 = test.sum()
        m_0 = test.shape[0] - m_1
        metric -= m_0 * np.log(1 - ALPHA * p / (n_0 + ALPHA)) + m_1 * np.log((n_1 + ALPHA * p) / (n_1 + ALPHA))
        constant -= m_0 * np.log(1 - p) + m_1 * np.log(p)
    return 1 - metric / constant


@pytest.mark.parametrize("seed", range(3))
def test_metric_equal_to_outcome_scores_1_minus_the_smoothing_cost(seed):
    _, image, y = clustered_outcome(seed)
    dep = metric_dependency("outcome", y.astype(float), y, image)
    expected = identity_importance(y, folds_of_images(image))
    assert dep.importance == pytest.approx(expected, rel=1e-12)
    # the smoothing costs about ALPHA / n_train nats per row
    n_train = 0.8 * y.shape[0]
    assert dep.importance == pytest.approx(1 - ALPHA / (n_train * entropy(y)), abs=2e-4)
    assert 0.999 < dep.importance < 1 and dep.correlation == pytest.approx(1.0)
    assert dep.importance_low <= dep.importance <= dep.importance_high < 1


@pytest.mark.parametrize("level, n_images", [(0.0, 300), (7.5, 50), (-3.0, 2000)])
def test_constant_metric_scores_exactly_0(level, n_images):
    _, image, y = clustered_outcome(0, n_images)
    dep = metric_dependency("constant", np.full(y.shape[0], level), y, image)
    assert dep.importance == 0.0 and dep.importance_low == 0.0 and dep.importance_high == 0.0
    assert np.isnan(dep.correlation)


def weak_effect(seed: int, n_images: int = 100):
    """About 300 labels in 100 images of varying difficulty; X shifts the log-odds of detection
    by 2 across its range, a weak effect next to the images' own difficulty."""
    rng = np.random.default_rng(seed)
    image = np.repeat(np.arange(n_images), rng.integers(1, 6, n_images))
    difficulty = rng.normal(0, 1.5, n_images)[image]
    x = rng.random(image.shape[0])
    y = rng.random(image.shape[0]) < 1 / (1 + np.exp(-(1.6 + difficulty + 2.0 * (x - 0.5))))
    return x, y, image


def test_weak_effect_on_a_small_set_gets_importance_where_the_old_baseline_gave_0():
    """The old estimator compared the same CE with H(Y) instead of CE0: U_old = max(0, 1 - CE / H)."""
    new, old = [], []
    for seed in range(40):
        x, y, image = weak_effect(seed)
        losses = held_out_losses(x, y, folds_of_images(image))
        new.append(losses.importance)
        old.append(max(0.0, 1 - losses.metric.mean() / entropy(y)))
        assert losses.constant.mean() > entropy(y)  # the constant also pays for estimating p out of fold
    new, old = np.array(new), np.array(old)
    assert (new > 0).sum() >= 32  # found in 34 of 40 small sets
    assert ((new > 0) & (old == 0)).sum() >= 5  # 8 of them the old estimator clipped to 0
    assert not ((old > 0) & (new == 0)).any()


@pytest.mark.parametrize("seed", range(3))
def test_interval_brackets_a_planted_effect_and_clears_zero(seed):
    rng = np.random.default_rng(seed)
    image = np.repeat(np.arange(400), 3)
    x = rng.random(image.shape[0])
    y = rng.random(image.shape[0]) < 0.2 + 0.6 * x
    dep = metric_dependency("x", x, y, image)
    assert 0 < dep.importance_low < dep.importance < dep.importance_high < 1 and dep.clears_zero


def test_intervals_are_deterministic_and_optional():
    x, y, image = weak_effect(0)
    a, b = (metric_dependency("x", x, y, image) for _ in range(2))
    assert a == b
    none = metric_dependency("x", x, y, image, replicates=0)
    assert none.importance == a.importance and np.isnan(none.importance_low) and np.isnan(none.importance_high)


def test_a_metric_scores_the_same_alone_or_among_others():
    x, y, image = weak_effect(1)
    noise = np.random.default_rng(9).random(x.shape[0])
    together = metric_dependencies([("noise", noise), ("x", x)], y, image)
    assert together[1] == metric_dependency("x", x, y, image) and together[0].metric == "noise"


def test_bootstrap_draws_each_image_a_whole_number_of_times_adding_up_to_the_image_count():
    n_images = 37
    counts = bootstrap_image_sums(np.eye(n_images), replicates=500, seed=4)
    assert counts.shape == (500, n_images) and np.all(counts == np.round(counts))
    assert np.all(counts.sum(axis=1) == n_images)
    assert np.all(np.abs(counts.mean(axis=0) - 1) < 0.2)  # every image equally likely (sd of a mean: 0.044)
    assert (counts == 0).any() and (counts >= 2).any()  # drawn with replacement
    assert np.array_equal(counts, bootstrap_image_sums(np.eye(n_images), replicates=500, seed=4))


@pytest.mark.parametrize("n_images, replicates", [(1, 3), (37, 500), (5_000, 200), (60_000, 200)])
def test_bootstrap_counts_kept_by_the_process_are_the_draws_made_afresh(n_images, replicates, monkeypatch):
    per_image = np.random.default_rng(n_images).random((n_images, 3))
    kept = bootstrap_image_sums(per_image, replicates)
    again = bootstrap_image_sums(per_image, replicates)  # from the counts kept by the first call
    monkeypatch.setattr(importance, "_BOOTSTRAP_KEPT_BYTES", 0)  # none kept: drawn at each call
    assert np.array_equal(kept, again) and np.array_equal(kept, bootstrap_image_sums(per_image, replicates))
    assert importance._kept_counts(n_images, replicates, importance.BOOTSTRAP_SEED).flags.writeable is False


def test_to_dict_carries_the_interval_and_from_dict_inverts_it():
    x, y, image = weak_effect(2)
    dep = metric_dependency("x", x, y, image)
    row = dep.to_dict()
    assert row["importance_low"] == dep.importance_low and row["importance_high"] == dep.importance_high
    assert row["positives"] == int(y.sum()) and row["rows"] == y.shape[0]
    assert MetricDependency.from_dict(row) == dep
    undefined = metric_dependency("x", x, np.ones(x.shape[0], bool), image).to_dict()
    assert undefined["importance_low"] is None and undefined["importance_high"] is None
    back = MetricDependency.from_dict(undefined)
    assert np.isnan(back.importance) and np.isnan(back.importance_low) and not back.clears_zero


@pytest.mark.parametrize("scale, shift", [(10.0, 0.0), (1e-3, 5.0), (3.0, -100.0)])
def test_rescaling_or_shifting_does_not_change_importance(scale, shift):
    rng = np.random.default_rng(0)
    image = np.repeat(np.arange(3000), 4)
    x = rng.random(image.shape[0])
    y = rng.random(image.shape[0]) < x
    base = metric_dependency("x", x, y, image)
    moved = metric_dependency("x", x * scale + shift, y, image)
    assert moved.importance == pytest.approx(base.importance, abs=1e-12)
    assert moved.correlation == pytest.approx(base.correlation, abs=1e-9)
    assert 0.1 < base.importance < 0.9 and base.correlation > 0.3


def test_direction_shows_in_correlation_sign():
    rng = np.random.default_rng(1)
    image = np.repeat(np.arange(2000), 3)
    x = rng.random(image.shape[0])
    y = rng.random(image.shape[0]) < 1 - x
    assert metric_dependency("x", x, y, image).correlation < -0.3


def test_missing_values_are_left_out_not_zero_filled():
    rng = np.random.default_rng(2)
    image = np.repeat(np.arange(2000), 3)
    x = rng.random(image.shape[0])
    y = rng.random(image.shape[0]) < x
    with_nan = x.copy()
    with_nan[::3] = np.nan
    dep = metric_dependency("x", with_nan, y, image)
    assert dep.rows == image.shape[0] - len(range(0, image.shape[0], 3))
    assert dep.importance == pytest.approx(metric_dependency("x", x[~np.isnan(with_nan)], y[~np.isnan(with_nan)],
                                                             image[~np.isnan(with_nan)]).importance)


def test_large_inputs_are_subsampled_deterministically_and_say_so():
    rng = np.random.default_rng(3)
    image = np.repeat(np.arange(5000), 10)
    x = rng.random(image.shape[0])
    y = rng.random(image.shape[0]) < x
    a = metric_dependency("x", x, y, image, max_rows=20_000)
    b = metric_dependency("x", x, y, image, max_rows=20_000)
    assert a.subsampled and a.rows == 20_000 and a == b
    assert not metric_dependency("x", x, y, image).subsampled


@pytest.mark.parametrize("missing", ["none", "outside the rows", "in the rows", "every value"])
@pytest.mark.parametrize("max_rows", [1_000, 20_000, 100_000])
def test_values_gathered_at_the_used_rows_rank_as_the_gathered_array(missing, max_rows):
    """A :class:`GatheredValues` reads only the subsample's rows when nothing is missing; the result is
    that of the whole ``column[index]``, whatever is missing and wherever."""
    rng = np.random.default_rng(7)
    column = rng.random(60_000)
    index = np.sort(rng.choice(60_000, 30_000, replace=False))  # the ranked rows: some of the column's
    outside = np.setdiff1d(np.arange(60_000), index)
    column[{"none": [], "outside the rows": outside[::5], "in the rows": index[::7],
            "every value": slice(None)}[missing]] = np.nan
    image = rng.integers(0, 3_000, index.shape[0])
    y = rng.random(index.shape[0]) < np.nan_to_num(column[index], nan=0.5)
    gathered = metric_dependencies([("x", GatheredValues(column, index))], y, image, max_rows)
    whole = metric_dependencies([("x", column[index])], y, image, max_rows)
    assert [d.to_dict() for d in gathered] == [d.to_dict() for d in whole]  # to_dict: NaN as None, comparable
    assert gathered[0].subsampled == (max_rows < 30_000 and missing != "every value")
    assert GatheredValues(column, index).complete == (missing == "none")


def test_gathered_values_of_an_empty_column_are_complete_and_empty():
    values = GatheredValues(np.zeros(0), np.zeros(0, np.int64))
    assert values.complete and values.at(slice(None)).shape == (0,)


def unique_folds(image_index: np.ndarray) -> np.ndarray:
    """The module docstring's folds, by sorting: images present shuffled (seed 0) and dealt into five folds."""
    unique, code = np.unique(image_index, return_inverse=True)
    return (np.random.default_rng(0).permutation(unique.shape[0]) % 5)[code.reshape(-1)]


@pytest.mark.parametrize("image_index", [
    [], [0], [7, 7, 7], [3, 0, 3, 9, 1, 1, 42], [-2, 5, -2, 0],  # gaps, unsorted; negative codes are sorted
    np.random.default_rng(4).integers(0, 10_000, 50_000), np.repeat(np.arange(900, 0, -1), 3),
])
def test_folds_equal_those_of_the_images_present_sorted(image_index):
    image_index = np.asarray(image_index, dtype=np.int64)
    np.testing.assert_array_equal(folds_of_images(image_index), unique_folds(image_index))


def test_a_subsampled_metric_without_missing_values_uses_the_rule_of_one_with_them():
    """Above max_rows the subset is drawn among the rows with a value (seed 0), with or without missing rows."""
    rng = np.random.default_rng(5)
    image = np.repeat(np.arange(4000), 8)
    x = rng.random(image.shape[0])
    y = rng.random(image.shape[0]) < x
    with_nan = np.concatenate([x, [np.nan] * 50])  # 50 rows more, all missing: the same rows have a value
    padded_y, padded_image = np.concatenate([y, [True] * 50]), np.concatenate([image, [4000] * 50])
    [plain, nan_first] = metric_dependencies([("x", x), ("x", x)], y, image, max_rows=10_000)
    with_missing = metric_dependency("x", with_nan, padded_y, padded_image, max_rows=10_000)
    assert plain == nan_first and plain.rows == with_missing.rows == 10_000
    # the extra image changes the folds: compare with the held-out losses on the drawn rows by hand
    rows = np.sort(np.random.default_rng(0).choice(x.shape[0], size=10_000, replace=False))
    expected = held_out_losses(x[rows], y[rows], folds_of_images(image)[rows]).importance
    assert plain.importance == pytest.approx(expected, abs=1e-15)
    rows_nan = np.sort(np.random.default_rng(0).choice(x.shape[0], size=10_000, replace=False))
    expected_nan = held_out_losses(x[rows_nan], y[rows_nan], folds_of_images(padded_image)[rows_nan]).importance
    assert with_missing.importance == pytest.approx(expected_nan, abs=1e-15)


@pytest.mark.parametrize(
    "x, y, expected",
    [([1, 2, 3, 4], [0, 0, 1, 1], np.corrcoef([1, 2, 3, 4], [0, 0, 1, 1])[0, 1]),
     ([1, 1, 1], [0, 1, 0], np.nan), ([2.0], [1.0], np.nan)],
)
def test_pearson(x, y, expected):
    got = pearson(np.array(x, float), np.array(y, float))
    assert (np.isnan(got) and np.isnan(expected)) or got == pytest.approx(expected, abs=1e-12)


def test_constant_outcome_has_no_importance():
    image = np.arange(100)
    dep = metric_dependency("x", np.arange(100.0), np.ones(100, bool), image)
    assert np.isnan(dep.importance) and dep.to_dict()["importance"] is None
    assert np.isnan(dep.importance_low) and dep.to_dict()["importance_high"] is None


def test_interval_ignores_replicates_that_draw_no_image_with_a_value():
    """Values on 2 of 40 images: about 13% of the replicates draw neither, whose U is 0 / 0."""
    rng = np.random.default_rng(5)
    image = np.repeat(np.arange(40), 10)
    y = rng.random(image.shape[0]) < 0.6
    folds = folds_of_images(image)
    first = image[0]
    second = next(i for i in range(40) if folds[image == i][0] != folds[image == first][0])
    values = np.where(np.isin(image, [first, second]), rng.random(image.shape[0]), np.nan)
    dep = metric_dependency("sparse", values, y, image)
    assert dep.rows == 20 and 0.0 <= dep.importance_low <= dep.importance_high <= 1.0
