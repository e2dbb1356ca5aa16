"""Which metrics drive model performance: importance ranking and performance by metric.

Joins the per-object outcomes of :mod:`detlens.core.matching` with the metric values
of :mod:`detlens.core.metrics.tables`, restricted to a class subset, and hands them to
the statistics in :mod:`detlens.core.importance` and :mod:`detlens.core.buckets`.

Rows used
    Prediction side: predictions of the selected classes that are TP or FP
    (ignored ones are left out); Y = 1 for TP. Label side: counted labels of
    the selected classes; Y = 1 for detected (TP), 0 for missed (FN).

Too few to rank
    When no metric's 90% importance interval has its low end above 0, the ranking
    is noise-level and :func:`too_few_to_rank` gives the one sentence to show
    instead of trusting it (the CLI prints it under the ranking).
"""

from __future__ import annotations

import numpy as np

from detlens.core.buckets import BucketTable, bucket_rates
from detlens.core.dataset import Dataset
from detlens.core.importance import (DEFAULT_MAX_ROWS, INTERVAL_REPLICATES, GatheredValues, MetricDependency,
                                     metric_dependencies)
from detlens.core.matching import FN, FP, TP, MatchResult
from detlens.core.metrics.registry import FRAME, base_of, level_of
from detlens.core.metrics.tables import MetricTables
from detlens.core.vocabulary import Side


def _selected(category_index: np.ndarray, classes: np.ndarray, n_categories: int) -> np.ndarray | bool:
    """``(N,)`` bool: the rows of the selected class indices (in ``[0, n_categories)``); True, every row, when
    every class is selected (the usual view: no 5M-row set lookup)."""
    if np.unique(classes).shape[0] >= n_categories:
        return True
    return np.isin(category_index, classes)


def prediction_rows(dataset: Dataset, match: MatchResult, classes: np.ndarray) -> np.ndarray:
    """``(K,)`` int64 rows of counted (TP or FP) predictions of the selected class indices."""
    counted = (match.pred_outcome == TP) | (match.pred_outcome == FP)
    return np.flatnonzero(counted & _selected(dataset.predictions.category_index, classes, dataset.n_categories))


def label_rows(dataset: Dataset, match: MatchResult, classes: np.ndarray) -> np.ndarray:
    """``(K,)`` int64 rows of counted (TP or FN) labels of the selected class indices."""
    counted = (match.label_outcome == TP) | (match.label_outcome == FN)
    return np.flatnonzero(counted & _selected(dataset.labels.category_index, classes, dataset.n_categories))


def rank_metrics(
    dataset: Dataset,
    tables: MetricTables,
    match: MatchResult,
    classes: list[str] | None = None,
    side: Side | str = Side.PREDICTIONS,
    max_rows: int = DEFAULT_MAX_ROWS,
    replicates: int = INTERVAL_REPLICATES,
) -> list[MetricDependency]:
    """Importance (with its interval) and correlation of every metric of one side, most important first.

    Args:
        dataset, tables, match: the data, its metrics and its outcomes at one threshold.
        classes: class names to include (None = all).
        side: :class:`~detlens.core.vocabulary.Side` or its value: ``predictions`` (Y = TP vs FP;
            (P) and (F) metrics) or ``labels`` (Y = detected vs missed; (L) and (F) metrics).
        max_rows: subsample above this many rows.
        replicates: image bootstrap replicates of the importance intervals (0 = none).

    Returns:
        list of :class:`MetricDependency`, sorted by importance (NaN last), then name.

    Raises:
        ValueError: ``side`` is not a :class:`~detlens.core.vocabulary.Side`.
    """
    if side not in tuple(Side):
        raise ValueError(f"side must be one of {tuple(s.value for s in Side)}, got {side!r}")
    selected = dataset.category_indices(classes)
    if Side(side) is Side.PREDICTIONS:
        rows = prediction_rows(dataset, match, selected)
        outcome = match.pred_outcome[rows] == TP
        image = dataset.predictions.image_index[rows]
        names, values_of = tables.prediction_side(), tables.prediction_values
    else:
        rows = label_rows(dataset, match, selected)
        outcome = match.label_outcome[rows] == TP
        image = dataset.labels.image_index[rows]
        names, values_of = tables.label_side(), tables.label_values
    def values_at_rows(name: str) -> GatheredValues:  # a frame metric read at the rows' images: one gather
        if level_of(name) == FRAME and name in tables.frame:
            return GatheredValues(tables.frame[name], image)
        return GatheredValues(values_of(name, dataset), rows)
    metrics = ((n, values_at_rows(n)) for n in names)  # read at the rows the ranking uses, one metric at a time
    out = metric_dependencies(metrics, outcome, image, max_rows, replicates)
    return sorted(out, key=lambda d: (np.isnan(d.importance), -np.nan_to_num(d.importance), d.metric))


def too_few_to_rank(ranking: list[MetricDependency], side: Side | str) -> str | None:
    """The sentence to show instead of trusting a ranking in which no importance interval clears zero.

    Args:
        ranking: :func:`rank_metrics` of one side (or ``MetricDependency.from_dict`` of its dicts),
            computed with intervals (``replicates > 0``: without them nothing clears zero).
        side: the side it ranks.

    Returns:
        None when some metric's interval low is above 0; otherwise one sentence giving the
        rows and outcome counts (of the metric with the most rows, i.e. all rows unless every
        metric misses values, after subsampling), e.g. "No metric's importance clears zero on
        273 labels (226 detected, 47 missed): too few to rank; see Performance by metric."
    """
    if any(d.clears_zero for d in ranking):
        return None
    side = Side(side)
    most = max(ranking, key=lambda d: d.rows, default=None)
    rows, positives = (most.rows, most.positives) if most is not None else (0, 0)
    first, second = side.outcome_words
    return (f"No metric's importance clears zero on {rows} {side.noun} ({positives} {first}, "
            f"{rows - positives} {second}): too few to rank; see Performance by metric.")


def performance_by_metric(
    dataset: Dataset,
    tables: MetricTables,
    match: MatchResult,
    metric: str,
    classes: list[str] | None = None,
    n_buckets: int = 10,
    method: str = "quantile",
) -> BucketTable:
    """TPR of predictions and FNR of labels across the range of one metric.

    Frame metrics bucket predictions and labels by their image's value; an
    object metric ``X (P)`` or ``X (L)`` buckets predictions by ``X (P)`` and
    labels by ``X (L)``; a metric with no twin (``Model Confidence (P)``) has
    only one curve.

    Raises:
        ValueError: unknown metric name.
    """
    return bucket_rates(**metric_rows(dataset, tables, match, metric, classes), n_buckets=n_buckets, method=method)


def metric_rows(dataset: Dataset, tables: MetricTables, match: MatchResult, metric: str,
                classes: list[str] | None = None) -> dict:
    """The counted rows of one metric as :func:`detlens.core.buckets.bucket_rates` takes them (see
    :func:`performance_by_metric` for which values bucket which side).

    Returns:
        ``{"metric", "pred_values", "pred_tp", "pred_class", "label_values", "label_fn", "label_class",
        "class_names"}``; ``pred_values`` (``label_values``) is None when the metric has no prediction
        (label) side. The rows are :func:`prediction_rows` and :func:`label_rows` of the selected classes.

    Raises:
        ValueError: unknown metric name.
    """
    if metric not in tables.info:
        raise ValueError(f"unknown metric {metric!r}")
    selected = dataset.category_indices(classes)
    if level_of(metric) == FRAME:
        pred_name = label_name = metric
    else:
        pred_name, label_name = f"{base_of(metric)} (P)", f"{base_of(metric)} (L)"
    pred_values = tables.prediction_values(pred_name, dataset) if pred_name in tables.info else None
    label_values = tables.label_values(label_name, dataset) if label_name in tables.info else None
    p_rows, l_rows = prediction_rows(dataset, match, selected), label_rows(dataset, match, selected)
    return dict(
        metric=metric if level_of(metric) == FRAME else base_of(metric),
        pred_values=None if pred_values is None else pred_values[p_rows],
        pred_tp=match.pred_outcome[p_rows] == TP,
        pred_class=dataset.predictions.category_index[p_rows],
        label_values=None if label_values is None else label_values[l_rows],
        label_fn=match.label_outcome[l_rows] == FN,
        label_class=dataset.labels.category_index[l_rows],
        class_names=[str(n) for n in dataset.category_names],
    )
