"""mAP / mAR at one IoU threshold over a class subset, reusing candidate IoUs.

:class:`Evaluator` holds one dataset and computes its candidate IoUs once per
box convention; every :meth:`Evaluator.evaluate` call (another threshold,
another class subset, another AP method) reuses them.

Settings come from one place: :meth:`Evaluator.evaluate` matches with its own
arguments; :meth:`Evaluator.evaluate_match` takes every matching setting (IoU
threshold, ``max_dets``, match method, ``min_score``, ``pixel_plus_one``) from
the :class:`~detlens.core.matching.MatchResult` it is given and only adds the
class subset and the AP method. The rules live in
:mod:`detlens.core.matching` (who matches whom) and :mod:`detlens.core.ap` (the curve).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from detlens.core.ap import AP_METHODS, average_precision
from detlens.core.candidates import CandidatePairs, compute_candidates
from detlens.core.dataset import Dataset
from detlens.core.matching import (BELOW_MIN_SCORE, FN, FP, IGNORED, TP, MatchingBasis, MatchResult, ScoreOrders,
                                   ignored_labels, match_on_basis, matching_basis, outcomes_at_thresholds,
                                   score_orders)


@dataclass(frozen=True)
class ClassResult:
    """AP/AR and counts of one class. AP and AR are NaN when the class has no counted labels."""

    name: str
    ap: float
    ar: float
    labels: int
    predictions: int
    tp: int
    fp: int
    fn: int
    ignored: int
    recall: np.ndarray = field(repr=False, compare=False, default_factory=lambda: np.zeros(0))
    precision: np.ndarray = field(repr=False, compare=False, default_factory=lambda: np.zeros(0))

    def to_dict(self) -> dict:
        return {
            "AP": _json_float(self.ap),
            "AR": _json_float(self.ar),
            "labels": self.labels,
            "predictions": self.predictions,
            "TP": self.tp,
            "FP": self.fp,
            "FN": self.fn,
            "ignored": self.ignored,
        }


@dataclass(frozen=True)
class EvaluationResult:
    """Result of one evaluation. ``m_ap``/``m_ar`` are NaN when no selected class has labels."""

    iou_threshold: float
    ap_method: str
    match_method: str
    max_dets: int | None
    min_score: float | None
    pixel_plus_one: bool
    classes: tuple[str, ...]
    m_ap: float
    m_ar: float
    per_class: tuple[ClassResult, ...]

    @property
    def counts(self) -> dict[str, int]:
        keys = ("labels", "predictions", "tp", "fp", "fn", "ignored")
        total = {k: sum(getattr(c, k) for c in self.per_class) for k in keys}
        return {"labels": total["labels"], "predictions": total["predictions"], "TP": total["tp"],
                "FP": total["fp"], "FN": total["fn"], "ignored": total["ignored"]}

    def to_dict(self) -> dict:
        """The ``detlens evaluate --json`` document (keys are only ever added, never renamed)."""
        return {
            "iou_threshold": self.iou_threshold,
            "ap_method": self.ap_method,
            "match_method": self.match_method,
            "max_dets": self.max_dets,
            "min_score": self.min_score,
            "pixel_plus_one": self.pixel_plus_one,
            "mAP": _json_float(self.m_ap),
            "mAR": _json_float(self.m_ar),
            "counts": self.counts,
            "per_class": {c.name: c.to_dict() for c in self.per_class},
        }


def _json_float(x: float) -> float | None:
    return None if np.isnan(x) else float(x)


class Evaluator:
    """Evaluates one dataset at any threshold and class subset, computing IoUs once.

    Args:
        dataset: the loaded dataset.
        candidates: precomputed same-class :class:`CandidatePairs` by ``pixel_plus_one``
            (e.g. from a cache), so they are not computed again.
        orders: precomputed :func:`detlens.core.matching.score_orders` of the dataset.
        other_class: precomputed other-class pairs by ``pixel_plus_one``.
        bases: precomputed :class:`~detlens.core.matching.MatchingBasis` of these candidates (and
            ``orders``' ranks), kept; :meth:`match` computes another setting's and keeps the last one
            computed (a sweep of thresholds at one setting computes it once; at 5M it holds about 200 MB).
    """

    def __init__(self, dataset: Dataset, candidates: dict[bool, CandidatePairs] | None = None,
                 orders: ScoreOrders | None = None, other_class: dict[bool, CandidatePairs] | None = None,
                 bases: list[MatchingBasis] | None = None):
        self.dataset = dataset
        # threshold-independent work, done once: IoUs per box convention, score ranks, the accumulation
        # order of pycocotools and what a match shares at every threshold
        self._candidates: dict[bool, CandidatePairs] = dict(candidates or {})
        self._other_class: dict[bool, CandidatePairs] = dict(other_class or {})
        self._orders: ScoreOrders | None = orders
        self._bases: tuple[MatchingBasis, ...] = tuple(bases or ())
        self._computed_basis: MatchingBasis | None = None
        self._class_order: tuple | None = None  # (match, class_order(match)) of the last match asked about

    def candidates(self, pixel_plus_one: bool = False) -> CandidatePairs:
        """The dataset's overlapping same-class pairs, computed on first use for each box convention."""
        if pixel_plus_one not in self._candidates:
            # without the matching priority: one threshold sorts only its qualifying pairs (the command line);
            # the dashboard's prepared candidates carry it, and a sweep of thresholds sorts once itself
            self._candidates[pixel_plus_one] = compute_candidates(self.dataset, pixel_plus_one)
        return self._candidates[pixel_plus_one]

    def other_class_candidates(self, pixel_plus_one: bool = False) -> CandidatePairs:
        """Overlapping pairs of different classes (for the ``wrong_class`` reason), computed on first use."""
        if pixel_plus_one not in self._other_class:
            self._other_class[pixel_plus_one] = compute_candidates(self.dataset, pixel_plus_one, same_class=False)
        return self._other_class[pixel_plus_one]

    def match(self, iou_threshold: float = 0.5, max_dets: int | None = 100, method: str = "coco",
              pixel_plus_one: bool = False, min_score: float | None = None, reasons: bool = True) -> MatchResult:
        """Per-object outcomes at ``iou_threshold`` (see :mod:`detlens.core.matching`).

        ``reasons=False`` skips the false-positive reasons (and the other-class
        pairs they need): AP and AR do not depend on them.
        """
        return match_on_basis(self.dataset, self.candidates(pixel_plus_one),
                              self.matching_basis(max_dets, method, pixel_plus_one, min_score, reasons), iou_threshold)

    def matching_basis(self, max_dets: int | None = 100, method: str = "coco", pixel_plus_one: bool = False,
                       min_score: float | None = None, reasons: bool = True) -> MatchingBasis:
        """The :class:`~detlens.core.matching.MatchingBasis` of these settings (given, or computed and kept until
        another setting's is computed)."""
        for basis in (*self._bases, self._computed_basis):
            if basis is not None and basis.serves(max_dets, method, min_score, pixel_plus_one, reasons):
                return basis
        other = self.other_class_candidates(pixel_plus_one) if reasons else None
        self._computed_basis = None  # not held beside the new one
        self._computed_basis = matching_basis(self.dataset, self.candidates(pixel_plus_one), max_dets, method,
                                              min_score, self.orders().rank, other)
        return self._computed_basis

    def orders(self) -> ScoreOrders:
        """Score ranks and pycocotools' accumulation order; threshold-independent, computed once."""
        if self._orders is None:
            self._orders = score_orders(self.dataset)
        return self._orders

    def class_order(self, match: MatchResult) -> tuple[np.ndarray, np.ndarray]:
        """The counted (TP and FP) predictions of a match in pycocotools' accumulation order, class by class.

        Returns:
            ``(order, bounds)``: ``(D,)`` int64 prediction rows and ``(C+1,)`` int64 bounds; class k's
            predictions, score descending, are ``order[bounds[k]:bounds[k + 1]]``.
        """
        return self._counted_in_order(match)[:2]

    def _counted_in_order(self, match: MatchResult) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`class_order`'s ``(order, bounds)`` and ``(D,)`` bool: the prediction at each place is a TP."""
        if self._class_order is not None and self._class_order[0] is match:  # asked again for one match
            return self._class_order[1]
        by_class = self.orders().by_class
        outcome = match.pred_outcome[by_class]  # one gather in class order, for the counted and their TPs
        counted = outcome != IGNORED
        order = by_class[counted]
        # by_class lists class 0's predictions first, then class 1's...: the bounds are the counted per class
        per_class = np.bincount(self.dataset.predictions.category_index[match.pred_outcome != IGNORED],
                                minlength=self.dataset.n_categories)
        result = order, np.concatenate(([0], np.cumsum(per_class))), outcome[counted] == TP
        self._class_order = (match, result)
        return result

    def evaluate(
        self,
        iou_threshold: float = 0.5,
        classes: list[str] | None = None,
        ap_method: str = "coco101",
        max_dets: int | None = 100,
        match_method: str = "coco",
        pixel_plus_one: bool = False,
        min_score: float | None = None,
    ) -> EvaluationResult:
        """mAP and mAR over the selected classes: :meth:`evaluate_match` of :meth:`match` at these settings.

        Args:
            iou_threshold: t in (0, 1].
            classes: category names to include; None = all.
            ap_method: one of ``coco101``, ``voc_all_point``, ``voc_11_point``.
            max_dets: per image and class prediction cap; None = all.
            match_method: "coco" or "voc" (see :mod:`detlens.core.matching`).
            pixel_plus_one: legacy VOC "+1 pixel" box areas.
            min_score: predictions scoring below it are treated as absent; None = keep all.

        Returns:
            :class:`EvaluationResult`.
        """
        match = self.match(iou_threshold, max_dets, match_method, pixel_plus_one, min_score, reasons=False)
        return self.evaluate_match(match, classes, ap_method)

    def aps_at_thresholds(self, iou_thresholds: tuple[float, ...], ap_method: str = "coco101",
                          max_dets: int | None = 100, match_method: str = "coco", pixel_plus_one: bool = False,
                          min_score: float | None = None) -> np.ndarray:
        """AP of every class at each threshold: ``evaluate(t, ...).per_class[k].ap`` for every t and class k,
        from the outcomes alone (:func:`~detlens.core.matching.outcomes_at_thresholds`: no match result,
        no false-positive reasons). For mAP@[.50:.95].

        Args:
            iou_thresholds: T thresholds in (0, 1].
            ap_method, max_dets, match_method, pixel_plus_one, min_score: as :meth:`evaluate`.

        Returns:
            ``(T, C)`` float64 AP in [0, 1]; NaN for a class without counted labels.
        """
        if ap_method not in AP_METHODS:
            raise ValueError(f"ap_method must be one of {AP_METHODS}, got {ap_method!r}")
        ds = self.dataset
        n_labels = np.bincount(ds.labels.category_index[~ignored_labels(ds)], minlength=ds.n_categories)
        by_class = self.orders().by_class
        # each class's predictions are one slice of the accumulation order, whatever the threshold
        bounds = np.searchsorted(ds.predictions.category_index[by_class], np.arange(ds.n_categories + 1))
        aps = np.full((len(iou_thresholds), ds.n_categories), np.nan)
        outcomes = outcomes_at_thresholds(ds, self.candidates(pixel_plus_one), iou_thresholds, max_dets,
                                          match_method, min_score, self.orders().rank)
        for row, outcome in enumerate(outcomes):
            in_order = outcome[by_class]
            for k in np.flatnonzero(n_labels):
                segment = in_order[bounds[k]:bounds[k + 1]]
                # the counted predictions (as class_order), score descending
                aps[row, k] = average_precision(segment[segment != IGNORED] == TP, int(n_labels[k]), ap_method)[0]
        return aps

    def evaluate_match(self, match: MatchResult, classes: list[str] | None = None,
                       ap_method: str = "coco101") -> EvaluationResult:
        """mAP and mAR over the selected classes of an existing match of this dataset.

        Every matching setting of the result (IoU threshold, ``max_dets``, match
        method, ``min_score``, ``pixel_plus_one``) is the match's own: evaluate
        several class subsets or AP methods without matching again.

        Args:
            match: a :meth:`match` (or :func:`detlens.core.matching.match_predictions`) result of this dataset.
            classes: category names to include; None = all.
            ap_method: one of ``coco101``, ``voc_all_point``, ``voc_11_point``.

        Returns:
            :class:`EvaluationResult`.

        Raises:
            ValueError: unknown ``ap_method``, or a match of another dataset (other numbers of objects).
        """
        if ap_method not in AP_METHODS:
            raise ValueError(f"ap_method must be one of {AP_METHODS}, got {ap_method!r}")
        ds = self.dataset
        if match.pred_outcome.shape[0] != len(ds.predictions) or match.label_outcome.shape[0] != len(ds.labels):
            raise ValueError("the match is of another dataset: its numbers of predictions and labels differ")
        selected = ds.category_indices(classes)
        preds, labels = ds.predictions, ds.labels
        order, bounds, is_tp = self._counted_in_order(match)
        n_labels = np.bincount(labels.category_index[~match.label_ignored], minlength=ds.n_categories)
        n_preds = np.bincount(preds.category_index[match.pred_reason != BELOW_MIN_SCORE], minlength=ds.n_categories)
        # counted = TP or FP, each class's in order[bounds[k]:bounds[k + 1]]
        n_tp = np.array([np.count_nonzero(is_tp[bounds[k]:bounds[k + 1]]) for k in range(ds.n_categories)], np.int64)
        n_fp = np.diff(bounds) - n_tp
        counted_ignored = (match.pred_outcome == IGNORED) & (match.pred_reason != BELOW_MIN_SCORE)
        n_ig = np.bincount(preds.category_index[counted_ignored], minlength=ds.n_categories)
        n_fn = np.bincount(labels.category_index[match.label_outcome == FN], minlength=ds.n_categories)

        results = []
        for k in selected:
            tp = is_tp[bounds[k]:bounds[k + 1]]
            if n_labels[k] > 0:
                ap, ar, recall, precision = average_precision(tp, int(n_labels[k]), ap_method)
            else:
                ap, ar, recall, precision = np.nan, np.nan, np.zeros(0), np.zeros(0)
            results.append(ClassResult(
                name=str(ds.category_names[k]), ap=ap, ar=ar, labels=int(n_labels[k]),
                predictions=int(n_preds[k]), tp=int(n_tp[k]), fp=int(n_fp[k]), fn=int(n_fn[k]),
                ignored=int(n_ig[k]), recall=recall, precision=precision,
            ))
        aps = np.array([c.ap for c in results if not np.isnan(c.ap)])
        ars = np.array([c.ar for c in results if not np.isnan(c.ar)])
        return EvaluationResult(
            iou_threshold=match.iou_threshold,
            ap_method=ap_method,
            match_method=match.method,
            max_dets=match.max_dets,
            min_score=match.min_score,
            pixel_plus_one=match.pixel_plus_one,
            classes=tuple(str(ds.category_names[k]) for k in selected),
            m_ap=float(aps.mean()) if aps.size else float("nan"),
            m_ar=float(ars.mean()) if ars.size else float("nan"),
            per_class=tuple(results),
        )
