"""Run A against run B on one dataset: differences with paired-bootstrap intervals.

Rules (tested in ``tests/test_compare.py``):

Runs
    Both runs are predictions on the same images with the same labels and
    classes (:func:`same_dataset` checks image ids, file names, labels and
    class names). Differences are always B - A (:class:`~detlens.core.vocabulary.RunSide`).

Point estimates
    mAP, mAR and per-class AP/AR of each run are
    :meth:`~detlens.core.evaluation.Evaluator.evaluate_match` at the chosen
    IoU threshold and AP rule (pycocotools' numbers under the COCO rule).
    mAP@[.50:.95] is the mean of AP over every (IoU in 0.50, 0.55, ..., 0.95,
    selected class with labels), as on the dashboard (pycocotools' ``stats[0]``
    under the COCO rule).

Paired bootstrap over images
    Each resample draws the images with replacement and holds them as image
    weights (:mod:`detlens.core.bootstrap`: its rules for weighted AP and
    the memory bound apply); the same weights serve both runs, so a resample
    is a paired draw. Every statistic is recomputed under the weights: AP and
    AR per class (NaN for a class without labels in the resample, left out of
    means), mAP, mAR, mAP@[.50:.95], and per bucket the weighted TPR and FNR.
    The interval of a difference is the percentile interval
    (:func:`~detlens.core.bootstrap.percentile_interval`) of the resampled
    B - A, resamples where it is undefined left out; the difference itself is
    B - A on the full data. A run compared with itself has difference 0 and
    an interval of zero width.

Performance by metric
    The rows are those of :func:`detlens.core.analysis.metric_rows` for each
    run. Bucket edges are computed once
    (:func:`~detlens.core.buckets.bucket_edges`) on the pooled values of both
    runs' counted predictions and labels, so both runs share one x axis. Per
    bucket and run: TPR = TP / (TP + FP) of its counted predictions, FNR =
    FN / (TP + FN) of its counted labels, ``n_pred`` and ``n_label`` the rows;
    a rate is NaN (None in JSON) without rows.

Finding
    A bucket is significantly better for B when the interval of its
    difference excludes 0 on the good side (TPR up, FNR down), worse on the
    other side; a side of a bucket is judged only when both runs have at least
    :func:`~detlens.core.findings.tested_minimum` rows in it. The sentence names
    every such bucket with its difference in percentage points and the
    interval, e.g. "B finds labels with Object Area - Relative below 0.3% 21
    points more often (95% CI 15-27); no bucket is significantly worse."
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse

from detlens.core.analysis import label_rows, metric_rows, prediction_rows
from detlens.core.ap_rule import COCO_RANGE_IOUS, APRule
from detlens.core.bootstrap import WeightedCurves, chunk_size, percentile_interval, weight_chunks, weighted_ap, weighted_curves
from detlens.core.buckets import assign_buckets, bucket_edges
from detlens.core.dataset import Dataset
from detlens.core.evaluation import EvaluationResult, Evaluator
from detlens.core.findings import bucket_phrase, tested_minimum
from detlens.core.matching import MatchResult
from detlens.core.metrics.registry import base_name
from detlens.core.metrics.tables import MetricTables
from detlens.core.settings import BOOTSTRAP_LEVEL, BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED, BUCKETS_DEFAULT
from detlens.core.vocabulary import BootstrapPart, RunSide, Side


def _json(x: float) -> float | None:
    return None if x is None or np.isnan(x) else float(x)


@dataclass(frozen=True)
class Difference:
    """A statistic of both runs and its difference B - A with the paired-bootstrap interval (NaN: undefined)."""

    a: float
    b: float
    delta: float
    low: float
    high: float

    def to_dict(self) -> dict:
        return {RunSide.A.value: _json(self.a), RunSide.B.value: _json(self.b), "delta": _json(self.delta),
                "ci": [_json(self.low), _json(self.high)]}


@dataclass(frozen=True)
class ClassComparison:
    """AP and AR differences of one class."""

    name: str
    ap: Difference
    ar: Difference

    def to_dict(self) -> dict:
        return {"AP": self.ap.to_dict(), "AR": self.ar.to_dict()}


@dataclass(frozen=True)
class BucketRates:
    """One run in one bucket: TPR of its predictions, FNR of its labels (NaN without rows) and the row counts."""

    tpr: float
    fnr: float
    n_pred: int
    n_label: int

    def to_dict(self) -> dict:
        return {"TPR": _json(self.tpr), "FNR": _json(self.fnr), "n_pred": self.n_pred, "n_label": self.n_label}


@dataclass(frozen=True)
class RateDifference:
    """A rate's difference B - A in one bucket and its paired-bootstrap interval."""

    value: float
    low: float
    high: float

    def to_dict(self) -> dict:
        return {"value": _json(self.value), "ci": [_json(self.low), _json(self.high)]}


@dataclass(frozen=True)
class BucketComparison:
    """Both runs in one bucket ``[low, high)`` (the last bucket closed) and their differences."""

    low: float
    high: float
    a: BucketRates
    b: BucketRates
    delta_tpr: RateDifference
    delta_fnr: RateDifference

    def to_dict(self) -> dict:
        return {"low": self.low, "high": self.high, RunSide.A.value: self.a.to_dict(), RunSide.B.value: self.b.to_dict(),
                "delta_TPR": self.delta_tpr.to_dict(), "delta_FNR": self.delta_fnr.to_dict()}


@dataclass(frozen=True)
class MetricComparison:
    """Performance by one metric of both runs: shared buckets, differences and the finding sentence."""

    metric: str
    method: str
    edges: tuple[float, ...]
    buckets: tuple[BucketComparison, ...]
    finding: str


@dataclass(frozen=True)
class Comparison:
    """Run A against run B (see the module docstring); :meth:`to_dict` is the ``detlens compare --json`` document."""

    runs: tuple[str, str]
    rule: APRule
    iou_threshold: float
    max_dets: int | None
    min_score: float | None
    classes: tuple[str, ...]
    resamples: int
    seed: int
    level: float
    m_ap: Difference
    m_ar: Difference
    m_ap_50_95: Difference
    per_class: tuple[ClassComparison, ...]
    by_metric: MetricComparison | None = None

    def to_dict(self) -> dict:
        doc = {
            "runs": {side.value: {"name": name} for side, name in zip(RunSide, self.runs)},
            "iou_threshold": self.iou_threshold, "ap_method": self.rule.ap_method,
            "match_method": self.rule.match_method, "pixel_plus_one": self.rule.pixel_plus_one,
            "max_dets": self.max_dets, "min_score": self.min_score,
            "bootstrap": {"resamples": self.resamples, "seed": self.seed, "level": self.level},
            "mAP": self.m_ap.to_dict(), "mAR": self.m_ar.to_dict(), "mAP_50_95": self.m_ap_50_95.to_dict(),
            "per_class": {c.name: c.to_dict() for c in self.per_class},
        }
        if self.by_metric is not None:
            m = self.by_metric
            doc.update({"metric": m.metric, "bucket_method": m.method, "edges": list(m.edges),
                        "by_metric": [b.to_dict() for b in m.buckets], "finding": m.finding})
        return doc


@dataclass(frozen=True, eq=False)
class MetricSide:
    """One run's counted rows of one side of a metric: ``(K,)`` values, hits (TP / FN), images."""

    values: np.ndarray
    hits: np.ndarray
    image: np.ndarray


@dataclass(frozen=True, eq=False)
class RunOutcomes:
    """One run's outcomes as a comparison needs them (computed once; the bootstrap only reads them).

    Attributes:
        name: the run's name.
        dataset: the run's dataset (the shared labels and its predictions).
        rule: the AP rule of the matches and curves.
        evaluation: evaluation at the chosen IoU threshold and rule.
        curves: :class:`~detlens.core.bootstrap.WeightedCurves` of that match.
        range_curves: the curves at each IoU of ``COCO_RANGE_IOUS``.
        range_ap: ``(10, K)`` float64 AP per IoU of ``COCO_RANGE_IOUS`` and selected class (NaN: no labels).
        metric: display name of the by-metric rows, or None.
        predictions, labels: :class:`MetricSide` of the metric (None: no such side or no metric).
    """

    name: str
    dataset: Dataset
    rule: APRule
    evaluation: EvaluationResult
    curves: WeightedCurves
    range_curves: tuple[WeightedCurves, ...]
    range_ap: np.ndarray
    metric: str | None = None
    predictions: MetricSide | None = None
    labels: MetricSide | None = None


def run_outcomes(name: str, evaluator: Evaluator, iou_threshold: float, classes: list[str] | None = None,
                 rule: APRule = APRule(), max_dets: int | None = 100, min_score: float | None = None,
                 tables: MetricTables | None = None, metric: str | None = None,
                 match_at: Callable[[float], MatchResult] | None = None) -> RunOutcomes:
    """Match one run at ``iou_threshold`` and at every IoU of mAP@[.50:.95] and keep what the bootstrap reads.

    Args:
        name: the run's name.
        evaluator: the run's :class:`~detlens.core.evaluation.Evaluator`.
        iou_threshold: t in (0, 1].
        classes: class names to include (None = all).
        rule: AP method, matching method and box convention.
        max_dets, min_score: as :meth:`~detlens.core.evaluation.Evaluator.match`.
        tables, metric: the run's metric tables and a metric name, for performance by metric (both or neither).
        match_at: the run's match at an IoU threshold at these settings (the dashboard passes its cached
            matches); None: ``evaluator.match`` without false-positive reasons.

    Raises:
        ValueError: an unknown class or metric, or a metric without tables.
    """
    if metric is not None and tables is None:
        raise ValueError("performance by metric needs the run's metric tables")
    ds = evaluator.dataset
    selected = ds.category_indices(classes)
    order = evaluator.orders().by_class

    def matched(t: float):
        if match_at is not None:
            return match_at(t)
        return evaluator.match(t, max_dets, rule.match_method, rule.pixel_plus_one, min_score, reasons=False)

    match = matched(iou_threshold)
    range_matches = [match if t == iou_threshold else matched(t) for t in COCO_RANGE_IOUS]
    range_ap = np.array([[c.ap for c in evaluator.evaluate_match(m, classes, rule.ap_method).per_class]
                         for m in range_matches])
    sides = {}
    if metric is not None:
        rows = metric_rows(ds, tables, match, metric, classes)
        p_rows, l_rows = prediction_rows(ds, match, selected), label_rows(ds, match, selected)
        if rows["pred_values"] is not None:
            sides["predictions"] = MetricSide(rows["pred_values"], rows["pred_tp"], ds.predictions.image_index[p_rows])
        if rows["label_values"] is not None:
            sides["labels"] = MetricSide(rows["label_values"], rows["label_fn"], ds.labels.image_index[l_rows])
        metric = rows["metric"]
    return RunOutcomes(name, ds, rule, evaluator.evaluate_match(match, classes, rule.ap_method),
                       weighted_curves(ds, match, order, selected),
                       tuple(weighted_curves(ds, m, order, selected) for m in range_matches), range_ap, metric, **sides)


def same_dataset(a: Dataset, b: Dataset) -> str | None:
    """Why two runs' datasets cannot be compared (one line), or None when they share images, labels and classes."""
    checks = (
        ("images", lambda d: (d.images.ids, d.images.file_names)),
        ("classes", lambda d: (d.category_names,)),
        ("labels", lambda d: (d.labels.image_index, d.labels.category_index, d.labels.boxes, d.labels.iscrowd)),
    )
    for what, arrays in checks:
        if any(x.shape != y.shape or not np.array_equal(x, y) for x, y in zip(arrays(a), arrays(b))):
            return f"the runs' {what} differ: both runs must be predictions on the same labels"
    return None


def _mean_defined(values: np.ndarray, axis) -> np.ndarray:
    """Mean over ``axis`` of the non-NaN values; NaN where none."""
    defined = ~np.isnan(values)
    count = defined.sum(axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, np.where(defined, values, 0.0).sum(axis=axis) / np.maximum(count, 1), np.nan)


def _rates(hits: np.ndarray, totals: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, hits / np.where(totals > 0, totals, 1), np.nan)


def _per_image(side: MetricSide | None, edges: np.ndarray, n_images: int) -> tuple | None:
    """``(hits, totals)``: ``(B, n_images)`` sparse CSR float64 counts per bucket and image of one run's side
    (sparse: a resample's weighted sums are single-threaded products, no BLAS threads)."""
    if side is None:
        return None
    shape = (edges.shape[0] - 1, n_images)
    bucket = assign_buckets(side.values, edges)
    ok = bucket >= 0
    hit = ok & side.hits

    def counts(rows: np.ndarray):
        matrix = scipy.sparse.csr_matrix((np.ones(int(rows.sum())), (bucket[rows], side.image[rows])), shape=shape)
        matrix.sum_duplicates()
        return matrix
    return counts(hit), counts(ok)


class ResampledStatistics:
    """The resampled statistics of both runs, filled chunk by chunk: ``data[name]`` holds one ``(R, ...)``
    float64 array per run (NaN where undefined)."""

    def __init__(self, n_resamples: int):
        self.n = n_resamples
        self.data: dict[str, list[np.ndarray]] = {}

    def put(self, name: str, run: int, rows: slice, values: np.ndarray) -> None:
        """Store resamples ``rows`` of one run's statistic ``name``."""
        if name not in self.data:
            self.data[name] = [np.full((self.n, *values.shape[1:]), np.nan) for _ in range(2)]
        self.data[name][run][rows] = values

    def difference(self, name: str, level: float, a: np.ndarray, b: np.ndarray) -> list[Difference]:
        """Differences (flattened) of the statistic whose full-data values are ``a`` and ``b``."""
        low, high = percentile_interval(self.data[name][1] - self.data[name][0], level)
        a, b = np.atleast_1d(a), np.atleast_1d(b)
        return [Difference(float(x), float(y), float(y - x), float(lo), float(hi))
                for x, y, lo, hi in zip(a, b, np.atleast_1d(low), np.atleast_1d(high))]


def shared_edges(runs: tuple[RunOutcomes, RunOutcomes], n_buckets: int, method: str) -> np.ndarray:
    """``(B + 1,)`` bucket edges on the pooled metric values of both runs' predictions and labels (``(0,)``
    without a metric)."""
    if runs[0].metric is None:
        return np.zeros(0)
    pooled = [s.values for r in runs for s in (r.predictions, r.labels) if s is not None]
    return bucket_edges(np.concatenate(pooled) if pooled else np.zeros(0), n_buckets, method)


def bucket_counts(runs: tuple[RunOutcomes, RunOutcomes], edges: np.ndarray) -> list[dict]:
    """Per run, ``{"predictions": (hits, totals) or None, "labels": ...}``: ``(B, n_images)`` sparse float64
    counts of TP (FN) and counted rows per bucket and image, what a resample's weighted rates are sums of."""
    n_images = len(runs[0].dataset.images)
    return [{side: _per_image(getattr(r, side), edges, n_images) if edges.shape[0] > 1 else None
             for side in ("predictions", "labels")} for r in runs]


def resample(runs: tuple[RunOutcomes, RunOutcomes], counts: list[dict], resamples: int, seed: int,
             parts: tuple[BootstrapPart, ...] = tuple(BootstrapPart)) -> ResampledStatistics:
    """The paired bootstrap: every resample's statistics of both runs under the same image weights.

    Args:
        runs: :func:`run_outcomes` of A and B.
        counts: :func:`bucket_counts` of the runs (used by ``BootstrapPart.BUCKETS``).
        resamples: number of resamples.
        seed: seed of ``numpy.random.default_rng``.
        parts: which statistics to compute (all by default; the benchmark times them one by one).

    Returns:
        :class:`ResampledStatistics` with ``class_ap``, ``class_ar`` ``(R, K)``, ``mAP``, ``mAR``
        (``AT_IOU``), ``mAP_50_95`` (``COCO_RANGE``) ``(R,)``, ``TPR``, ``FNR`` (``BUCKETS``) ``(R, B)``.
    """
    samples = ResampledStatistics(resamples)
    columns = max(int(c.tp_start[-1]) for r in runs for c in (r.curves, *r.range_curves))
    chunk = chunk_size(columns, resamples)
    n_images = len(runs[0].dataset.images)

    def one_run(i: int, weights: np.ndarray) -> dict[str, np.ndarray]:
        run, out = runs[i], {}
        if BootstrapPart.AT_IOU in parts:
            ap, ar = weighted_ap(run.curves, weights, run.rule.ap_method)
            out.update(class_ap=ap, class_ar=ar, mAP=_mean_defined(ap, 1), mAR=_mean_defined(ar, 1))
        if BootstrapPart.COCO_RANGE in parts:
            range_ap = np.stack([weighted_ap(c, weights, run.rule.ap_method)[0] for c in run.range_curves], axis=1)
            out["mAP_50_95"] = _mean_defined(range_ap.reshape(range_ap.shape[0], -1), 1)
        for side, rate in (("predictions", "TPR"), ("labels", "FNR")):
            if BootstrapPart.BUCKETS in parts and counts[i][side] is not None:
                hits, totals = counts[i][side]
                out[rate] = _rates((hits @ weights.T).T, (totals @ weights.T).T)
        return out

    for start, weights in zip(range(0, resamples, chunk), weight_chunks(seed, n_images, resamples, chunk)):
        rows = slice(start, start + weights.shape[0])
        weights = np.asfortranarray(weights, dtype=np.float64)  # converted once for every weighted_ap
        for i in range(len(runs)):
            for name, values in one_run(i, weights).items():
                samples.put(name, i, rows, values)
    return samples


def compare_runs(a: RunOutcomes, b: RunOutcomes, n_buckets: int = BUCKETS_DEFAULT, bucket_method: str = "quantile",
                 resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED, level: float = BOOTSTRAP_LEVEL,
                 unit: str = "") -> Comparison:
    """Run B against run A with paired-bootstrap intervals (rules in the module docstring).

    Args:
        a, b: :func:`run_outcomes` of both runs, at the same settings.
        n_buckets, bucket_method: buckets of performance by metric (when the outcomes have a metric).
        resamples: bootstrap resamples (>= 1).
        seed: seed of ``numpy.random.default_rng``.
        level: interval coverage in (0, 1).
        unit: the metric's unit for the finding's bucket edges ("" for none).

    Returns:
        :class:`Comparison`.

    Raises:
        ValueError: the runs are not on the same dataset or not at the same settings, or a bad number of
            resamples or level.
    """
    if resamples < 1:
        raise ValueError(f"resamples must be at least 1, got {resamples}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    problem = same_dataset(a.dataset, b.dataset)
    if problem:
        raise ValueError(problem)
    settings = [(r.rule, r.evaluation.iou_threshold, r.evaluation.max_dets, r.evaluation.min_score,
                 r.evaluation.classes, r.metric) for r in (a, b)]
    if settings[0] != settings[1]:
        raise ValueError("the runs' outcomes differ in AP rule, IoU threshold, max dets, minimum score, classes "
                         "or metric: compute both at the same settings")
    runs = (a, b)
    edges = shared_edges(runs, n_buckets, bucket_method)
    counts = bucket_counts(runs, edges)
    samples = resample(runs, counts, resamples, seed)
    ev_a, ev_b = a.evaluation, b.evaluation
    per_class = [ClassComparison(ca.name, ap, ar) for ca, ap, ar in zip(
        ev_a.per_class,
        samples.difference("class_ap", level, [c.ap for c in ev_a.per_class], [c.ap for c in ev_b.per_class]),
        samples.difference("class_ar", level, [c.ar for c in ev_a.per_class], [c.ar for c in ev_b.per_class]))]
    by_metric = None
    if a.metric is not None:
        by_metric = _metric_comparison(runs, counts, edges, samples, bucket_method, level, unit)
    return Comparison(
        runs=(a.name, b.name), rule=a.rule, iou_threshold=ev_a.iou_threshold, max_dets=ev_a.max_dets,
        min_score=ev_a.min_score, classes=ev_a.classes, resamples=resamples, seed=seed, level=level,
        m_ap=samples.difference("mAP", level, ev_a.m_ap, ev_b.m_ap)[0],
        m_ar=samples.difference("mAR", level, ev_a.m_ar, ev_b.m_ar)[0],
        m_ap_50_95=samples.difference("mAP_50_95", level, _mean_defined(a.range_ap.ravel(), 0),
                                      _mean_defined(b.range_ap.ravel(), 0))[0],
        per_class=tuple(per_class), by_metric=by_metric)


def _metric_comparison(runs, counts, edges, samples: ResampledStatistics, method: str, level: float, unit: str) -> MetricComparison:
    """The buckets of both runs, their differences and the finding sentence."""
    n_b = max(edges.shape[0] - 1, 0)
    full = []  # per run: {rate: (rates (B,), totals (B,))}, unweighted
    for run_counts in counts:
        found = {}
        for side, rate in (("predictions", "TPR"), ("labels", "FNR")):
            if run_counts[side] is not None:
                hits, totals = (np.asarray(x.sum(axis=1)).ravel() for x in run_counts[side])
                found[rate] = (_rates(hits, totals), totals.astype(np.int64))
            else:
                found[rate] = (np.full(n_b, np.nan), np.zeros(n_b, np.int64))
        full.append(found)
    deltas = {}
    for rate in ("TPR", "FNR"):
        value = full[1][rate][0] - full[0][rate][0]
        if rate in samples.data:
            low, high = percentile_interval(samples.data[rate][1] - samples.data[rate][0], level)
        else:
            low, high = np.full(n_b, np.nan), np.full(n_b, np.nan)
        deltas[rate] = [RateDifference(float(v), float(lo), float(hi)) for v, lo, hi in zip(value, low, high)]
    buckets = tuple(BucketComparison(
        float(edges[k]), float(edges[k + 1]),
        *(BucketRates(float(f["TPR"][0][k]), float(f["FNR"][0][k]), int(f["TPR"][1][k]), int(f["FNR"][1][k]))
          for f in full),
        deltas["TPR"][k], deltas["FNR"][k]) for k in range(n_b))
    metric = runs[0].metric
    finding = comparison_finding(buckets, list(map(float, edges)), metric, unit, tuple(r.name for r in runs), level)
    return MetricComparison(metric, method, tuple(map(float, edges)), buckets, finding)


def _points(x: float, decimals: int) -> str:
    return f"{abs(x) * 100:.{decimals}f}"


def _decimals(x: float) -> int:
    """Decimals that keep a difference of ``x`` (a rate difference, in points x 100) from reading 0: whole points
    from 1 point up, then one decimal, then two (large sets make tenths of a point significant)."""
    points = abs(x) * 100
    return 0 if points >= 0.95 else 1 if points >= 0.095 else 2


def _clause(run: str, side: Side, better: bool, items: list[tuple[str, RateDifference]], name: str,
            level: float) -> str:
    """One side's significant buckets of one direction in words, e.g. "B finds labels with Area below 0.3% 21
    points more often (95% CI 15-27) and between 0.3% and 0.6% 9 points more often (95% CI 4-14)"."""
    how = "more" if better or side is Side.LABELS else "less"  # "misses ... more often"
    verb = "" if side is Side.LABELS else "are right "  # said once, before the first bucket's number
    said = []
    for n, (where, diff) in enumerate(items):
        ends = sorted((abs(diff.low), abs(diff.high)))
        digits = _decimals(diff.value)
        said.append(f"{where} {verb if n == 0 else ''}{_points(diff.value, digits)} points {how} often "
                    f"({level * 100:g}% CI {_points(ends[0], digits)}-{_points(ends[1], digits)})")
    listed = said[0] if len(said) == 1 else f"{', '.join(said[:-1])} and {said[-1]}"
    if side is Side.LABELS:
        return f"{run} {'finds' if better else 'misses'} labels with {name} {listed}"
    return f"{run}'s predictions with {name} {listed}"


def comparison_finding(buckets: tuple[BucketComparison, ...], edges: list[float], metric: str, unit: str,
                       runs: tuple[str, str], level: float = BOOTSTRAP_LEVEL) -> str:
    """The sentence naming the buckets where run B is significantly better or worse than run A.

    Args:
        buckets: :class:`BucketComparison` per bucket.
        edges: the ``B + 1`` bucket edges.
        metric: display name of the metric.
        unit: unit of the edges ("" for none).
        runs: the names of runs A and B.
        level: the intervals' coverage.
    """
    name, minimum = base_name(metric), tested_minimum()
    better, worse = [], []
    sides = ((Side.LABELS, "delta_fnr", "n_label", -1), (Side.PREDICTIONS, "delta_tpr", "n_pred", 1))
    for side, delta, count, good_sign in sides:  # labels first: "B finds ..." leads
        found = {True: [], False: []}
        for k, bucket in enumerate(buckets):
            diff, rows = getattr(bucket, delta), min(getattr(bucket.a, count), getattr(bucket.b, count))
            if rows < minimum or np.isnan(diff.low) or np.isnan(diff.high) or diff.low <= 0 <= diff.high:
                continue
            found[(diff.low > 0) == (good_sign > 0)].append((bucket_phrase(edges, k, unit), diff))
        better += [_clause(runs[1], side, True, found[True], name, level)] if found[True] else []
        worse += [_clause(runs[1], side, False, found[False], name, level)] if found[False] else []
    if not better and not worse:
        return (f"No bucket of {name} differs significantly between {runs[0]} and {runs[1]} "
                f"({level * 100:g}% paired-bootstrap intervals).")
    first = "; ".join(better) if better else "No bucket is significantly better"
    second = "; ".join(worse) if worse else "no bucket is significantly worse"
    return f"{first}; {second}."
