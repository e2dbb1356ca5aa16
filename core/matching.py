"""Matching predictions to labels at one IoU threshold, and per-object outcomes.

The rules that decide every number (written here once; tested at their edges
in ``tests/test_matching_rules.py``):

Which predictions take part
    Predictions scoring below ``min_score`` (default: none) are treated as
    absent: ``ignored`` with reason ``below_min_score``. Per image and class,
    the others are ranked by score, highest first, with a *stable* sort
    (equal scores keep file order). Only the first ``max_dets`` (default 100;
    None = all) take part; the rest are ``ignored`` with reason
    ``beyond_max_dets``. This is pycocotools' ``maxDets``.

Which labels count
    A label is *ignored* when it is a crowd region (``iscrowd``), marked VOC
    ``difficult``, or its COCO ``area`` lies outside pycocotools' "all" range
    [0, 1e10]. Ignored labels are not counted in recall and never produce a
    false negative.

COCO matching (``method="coco"``, the default; pycocotools ``evaluateImg``)
    Predictions are taken in rank order. Each takes, among the same-class
    labels not yet taken, the one with the highest IoU provided
    ``IoU >= min(t, 1 - 1e-10)``; on equal IoU the label later in file order
    wins. Regular labels are tried first; only if none qualifies are ignored
    labels tried. Crowd labels may be taken any number of times. A prediction
    that takes an ignored label is ``ignored`` (reason ``crowd``): neither TP
    nor FP.

VOC matching (``method="voc"``; VOC devkit, Padilla, Cartucho)
    Each prediction looks only at its highest-IoU same-class label (first in
    file order on ties), taken or not. If ``IoU >= t``: an ignored label makes
    it ``ignored``; a free label makes it TP; a taken label makes it an FP
    ``duplicate``. Otherwise it is an FP.

Why a false positive is false (first rule that applies)
    ``duplicate``   a same-class regular label with ``IoU >= t`` exists, but
                    every such label was taken by a higher-ranked prediction;
    ``wrong_class`` a label of another class overlaps it with ``IoU >= t``;
    ``low_iou``     its best same-class IoU is at least 0.1 (TIDE's
                    background threshold) but below ``t``;
    ``background``  otherwise.

Predictions with area ``w * h`` outside [0, 1e10] that match nothing are
``ignored`` (reason ``area``), as in pycocotools.

A minimum score, from the match without one (:func:`restrict_to_min_score`)
    Both methods take predictions in score order, and a prediction's outcome
    and reason depend only on the labels and on higher-ranked predictions; the
    ``max_dets`` cap keeps the same predictions among those kept (they rank
    first). So the match at ``min_score`` s is the match without a minimum in
    which every prediction scoring below s becomes ``ignored`` (reason
    ``below_min_score``, no label, IoU 0) and the labels only those
    predictions had matched become FN. This is what :func:`match_predictions`
    computes from scratch (``tests/test_matching_rules.py`` checks they agree).

A minimum per prediction, from the match without one (:func:`restrict_to_class_min_scores`)
    Each prediction may have its own minimum; the dashboard's per-class mode
    gives every prediction its class's F1-optimal threshold, and minus
    infinity (keep all) to the predictions of a class without one. A
    prediction scoring below its minimum becomes ``ignored`` (reason
    ``below_min_score``, no label, IoU 0), one scoring exactly at it is kept,
    and the labels only the dropped predictions had matched become FN. The
    predictions of one image and class compete with each other only, and
    share one minimum when it is a class's, so the dropped ones are the
    lowest-ranked of their group and the argument above holds group by group:
    the result equals matching from scratch the dataset without the dropped
    predictions (the kept ones keep their outcome, reason, label, IoU and
    rank; ``tests/test_class_min_scores.py`` checks it). Its ``min_score``
    stays None: no single minimum describes it.

Known departure from pycocotools: pycocotools treats a match to a label whose
id is 0 as unmatched (it stores ids in a zero-initialised array). detlens
matches by row, so label id 0 behaves like any other id; the importer notes
when labels use id 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from detlens.core.candidates import CandidatePairs, matching_priority
from detlens.core.dataset import Dataset
from detlens.core.sorting import radix_key
from detlens.core.vocabulary import FPReason, IgnoreReason, Outcome

if TYPE_CHECKING:
    import pandas as pd

# Outcome codes (int8 arrays); OUTCOME_NAMES[code] is what tables and JSON show.
TP, FP, FN, IGNORED = 0, 1, 2, 3
OUTCOME_NAMES = (Outcome.TP, Outcome.FP, Outcome.FN, Outcome.IGNORED)
# Reason codes for FP and ignored predictions; REASON_NAMES[code] ("" = no reason).
NO_REASON, LOW_IOU, DUPLICATE, WRONG_CLASS, BACKGROUND, CROWD, BEYOND_MAX_DETS, AREA, BELOW_MIN_SCORE = range(9)
REASON_NAMES = ("", FPReason.LOW_IOU, FPReason.DUPLICATE, FPReason.WRONG_CLASS, FPReason.BACKGROUND,
                IgnoreReason.CROWD, IgnoreReason.BEYOND_MAX_DETS, IgnoreReason.AREA, IgnoreReason.BELOW_MIN_SCORE)

AREA_RANGE = (0.0, 1e10)  # pycocotools' "all" area range
LOW_IOU_FLOOR = 0.1
MATCH_METHODS = ("coco", "voc")


def _at_rows(values: np.ndarray, rows: np.ndarray, missing) -> np.ndarray:
    """``values[rows]`` where ``rows >= 0``, ``missing`` where -1 (``values`` may be empty when no row is set)."""
    out = np.full(rows.shape[0], missing, dtype=np.result_type(values.dtype, np.asarray(missing).dtype))
    hit = rows >= 0
    out[hit] = values[rows[hit]]
    return out


def _names(names: tuple[str, ...], codes: np.ndarray) -> np.ndarray:
    """``(N,)`` object array of the plain string name of each code."""
    return np.asarray([str(n) for n in names], dtype=object)[codes]


@dataclass(frozen=True, eq=False)
class MatchResult:
    """Per-object outcomes at one IoU threshold.

    Attributes:
        iou_threshold: the threshold t used.
        max_dets: per-image, per-class prediction cap (None = all).
        min_score: predictions below it were treated as absent (None = none).
        pixel_plus_one: the box convention of the IoUs (legacy VOC "+1 pixel" areas).
        has_reasons: False when false-positive reasons were not computed (no other-class pairs given).
        method: "coco" or "voc".
        pred_outcome: ``(P,)`` int8, TP / FP / IGNORED.
        pred_reason: ``(P,)`` int8 reason code (see ``REASON_NAMES``).
        pred_label: ``(P,)`` int64 matched label row, -1 if none.
        pred_iou: ``(P,)`` float64 IoU with the matched label, or the best
            same-class IoU for an unmatched prediction (0 if none).
        pred_rank: ``(P,)`` int64 rank by score within its image and class (0 = best).
        label_outcome: ``(L,)`` int8, TP / FN / IGNORED.
        label_pred: ``(L,)`` int64 matching prediction row, -1 if none (for
            crowd labels: the last prediction that fell in it).
        label_ignored: ``(L,)`` bool, label does not count (crowd or area).
    """

    iou_threshold: float
    max_dets: int | None
    method: str
    min_score: float | None
    pixel_plus_one: bool
    has_reasons: bool
    pred_outcome: np.ndarray
    pred_reason: np.ndarray
    pred_label: np.ndarray
    pred_iou: np.ndarray
    pred_rank: np.ndarray
    label_outcome: np.ndarray
    label_pred: np.ndarray
    label_ignored: np.ndarray

    def prediction_table(self, dataset: Dataset) -> "pd.DataFrame":
        """One row per prediction: ids, class, score, outcome, reason, matched label id, IoU."""
        import pandas as pd  # lazy: keeps CLI start-up lean

        preds = dataset.predictions
        return pd.DataFrame(
            {
                "prediction_id": preds.ids,
                "image_id": dataset.images.ids[preds.image_index],
                "class": dataset.category_names[preds.category_index],
                "score": preds.scores,
                "outcome": _names(OUTCOME_NAMES, self.pred_outcome),
                "reason": _names(REASON_NAMES, self.pred_reason),
                "matched_label_id": _at_rows(dataset.labels.ids, self.pred_label, -1),
                "iou": self.pred_iou,
            }
        )

    def label_table(self, dataset: Dataset) -> "pd.DataFrame":
        """One row per label: ids, class, outcome, matched prediction id, IoU."""
        import pandas as pd

        labels = dataset.labels
        return pd.DataFrame(
            {
                "label_id": labels.ids,
                "image_id": dataset.images.ids[labels.image_index],
                "class": dataset.category_names[labels.category_index],
                "outcome": _names(OUTCOME_NAMES, self.label_outcome),
                "matched_prediction_id": _at_rows(dataset.predictions.ids, self.label_pred, -1),
                "iou": _at_rows(self.pred_iou, self.label_pred, 0.0),
            }
        )


@dataclass(frozen=True, eq=False)
class ScoreOrders:
    """Threshold-independent orderings of the predictions (computed once per dataset).

    Attributes:
        rank: ``(P,)`` int64 rank by score within the prediction's image and
            class, 0 = best; equal scores keep file order. Predictions left out
            by a minimum score have lower scores, so they rank after every kept
            one and the ranks of the kept ones do not change.
        by_class: ``(P,)`` int64 rows by class, then score descending, then
            image, then file order: pycocotools' accumulation order per class.
    """

    rank: np.ndarray
    by_class: np.ndarray


def score_orders(dataset: Dataset) -> ScoreOrders:
    """The :class:`ScoreOrders` of the dataset's predictions (one float sort, three radix sorts)."""
    preds = dataset.predictions
    n = len(preds)
    image, cat = radix_key(preds.image_index), radix_key(preds.category_index)
    by_image = np.argsort(image, kind="stable")
    by_score = by_image[np.argsort(-preds.scores[by_image], kind="stable")]  # score, image, row
    by_class = by_score[np.argsort(cat[by_score], kind="stable")]
    grouped = by_class[np.argsort(image[by_class], kind="stable")]  # image, class, score, row
    rank = np.zeros(n, np.int64)
    if n:
        g_img, g_cat = preds.image_index[grouped], preds.category_index[grouped]
        new = np.concatenate(([True], (g_img[1:] != g_img[:-1]) | (g_cat[1:] != g_cat[:-1])))
        starts = np.flatnonzero(new)
        rank[grouped] = np.arange(n) - np.repeat(starts, np.diff(np.append(starts, n)))
    return ScoreOrders(rank=rank, by_class=by_class)


def ignored_labels(dataset: Dataset) -> np.ndarray:
    """``(L,)`` bool: labels that do not count (crowd, VOC difficult, or area outside [0, 1e10])."""
    labels = dataset.labels
    ignored = labels.iscrowd | (labels.areas < AREA_RANGE[0]) | (labels.areas > AREA_RANGE[1])
    difficult = labels.extra.get("difficult")
    if difficult is not None:
        ignored = ignored | (difficult == 1)
    return ignored


def match_predictions(
    dataset: Dataset,
    candidates: CandidatePairs,
    iou_threshold: float,
    max_dets: int | None = 100,
    method: str = "coco",
    min_score: float | None = None,
    rank: np.ndarray | None = None,
    other_class: CandidatePairs | None = None,
) -> MatchResult:
    """Match every prediction to at most one label, per the module's rules.

    Args:
        dataset: the loaded dataset.
        candidates: overlapping same-class pairs from :func:`detlens.core.candidates.compute_candidates`.
        iou_threshold: t in (0, 1].
        max_dets: per image and class cap on ranked predictions; None = all.
        method: "coco" (pycocotools) or "voc" (VOC devkit).
        min_score: predictions scoring below it are treated as absent; None = keep all.
        rank: precomputed ``score_orders(dataset).rank`` (saves a sort).
        other_class: pairs of different classes (``compute_candidates(..., same_class=False)``);
            needed for the ``wrong_class`` reason. Without them false positives get no
            reason at all (``MatchResult.has_reasons`` is False), which is enough for AP/AR.

    Returns:
        :class:`MatchResult` (its ``pixel_plus_one`` is the candidates' box convention);
        arrays of length 0 for an empty dataset.
    """
    basis = matching_basis(dataset, candidates, max_dets, method, min_score, rank, other_class)
    return match_on_basis(dataset, candidates, basis, iou_threshold)


@dataclass(frozen=True, eq=False)
class MatchingBasis:
    """The part of :func:`match_predictions` that does not depend on the IoU threshold, for one dataset, its
    candidates and one setting; :func:`match_on_basis` matches at any threshold from it, touching each
    per-prediction array about once (at 5M predictions 0.19 s a threshold instead of 0.26 s).

    Attributes (P predictions, L labels, K same-class pairs whose prediction takes part):
        max_dets, method, min_score, pixel_plus_one: the setting (as :func:`match_predictions`).
        has_reasons: other-class pairs were given (false-positive reasons are computed).
        rank: ``(P,)`` int64 score rank of each prediction within its image and class.
        label_ignored: ``(L,)`` bool labels that do not count; label_group: ``(L,)`` int64 image * C + class.
        inactive, below_min_score, out_of_area: int64 rows of the predictions not taking part, of those
            below ``min_score``, and of those whose area is outside ``AREA_RANGE``.
        pair_pred, pair_label, pair_iou: the K pairs (by prediction, then label): int64, int64, float64.
        pair_key: ``(K,)`` int64 ``pair_pred * max(L, 1) + pair_label``, sorted.
        priority, priority_iou: COCO with prioritised candidates: ``(K,)`` int64 rows of the candidates taking
            part in matching order, and their IoUs; None otherwise.
        best_same: ``(P,)`` float64 best same-class IoU among the K pairs (0 if none).
        base_reason: ``(P,)`` int8 ``LOW_IOU`` or ``BACKGROUND`` from ``best_same`` alone (None without reasons).
        duplicate_pred, duplicate_iou: the K pairs with a regular label (COCO's ``duplicate`` rule).
        wrong_class_pred, wrong_class_iou: the other-class pairs taking part with a regular label.
            (These four None without reasons.)
    """

    max_dets: int | None
    method: str
    min_score: float | None
    pixel_plus_one: bool
    has_reasons: bool
    rank: np.ndarray
    label_ignored: np.ndarray
    label_group: np.ndarray
    inactive: np.ndarray
    below_min_score: np.ndarray
    out_of_area: np.ndarray
    pair_pred: np.ndarray
    pair_label: np.ndarray
    pair_iou: np.ndarray
    pair_key: np.ndarray
    priority: np.ndarray | None
    priority_iou: np.ndarray | None
    best_same: np.ndarray
    base_reason: np.ndarray | None
    duplicate_pred: np.ndarray | None
    duplicate_iou: np.ndarray | None
    wrong_class_pred: np.ndarray | None
    wrong_class_iou: np.ndarray | None

    def serves(self, max_dets: int | None, method: str, min_score: float | None, pixel_plus_one: bool,
               reasons: bool) -> bool:
        """True when this basis is the one of these settings."""
        return (self.max_dets, self.method, self.min_score, self.pixel_plus_one, self.has_reasons) == (
            max_dets, method, min_score, pixel_plus_one, reasons)


def matching_basis(dataset: Dataset, candidates: CandidatePairs, max_dets: int | None = 100, method: str = "coco",
                   min_score: float | None = None, rank: np.ndarray | None = None,
                   other_class: CandidatePairs | None = None) -> MatchingBasis:
    """The :class:`MatchingBasis` of these arguments (as :func:`match_predictions`'s).

    Raises:
        ValueError: an unknown method, or candidates of the wrong kinds.
    """
    if method not in MATCH_METHODS:
        raise ValueError(f"method must be one of {MATCH_METHODS}, got {method!r}")
    if not candidates.same_class or (other_class is not None and other_class.same_class):
        raise ValueError("candidates must be same-class pairs and other_class pairs of different classes")
    if other_class is not None and other_class.pixel_plus_one != candidates.pixel_plus_one:
        raise ValueError("candidates and other_class pairs must use the same box convention (pixel_plus_one)")
    preds, labels = dataset.predictions, dataset.labels
    n_pred, n_label = len(preds), len(labels)
    present, active, rank, label_ig = _taking_part(dataset, max_dets, min_score, rank)
    same = active[candidates.pred]
    s_pred, s_label, s_iou = candidates.pred[same], candidates.label[same], candidates.iou[same]
    priority = priority_iou = None
    if method == "coco" and candidates.priority is not None:  # the pairs' order, sorted once when prepared
        priority = candidates.priority[same[candidates.priority]]
        priority_iou = candidates.iou[priority]
    best_same = np.zeros(n_pred)
    if s_pred.shape[0]:  # pairs are grouped by prediction: a segment maximum each (ufunc.at is many times slower)
        starts = np.flatnonzero(np.concatenate(([True], s_pred[1:] != s_pred[:-1])))
        best_same[s_pred[starts]] = np.maximum.reduceat(s_iou, starts)
    area = preds.boxes[:, 2] * preds.boxes[:, 3]
    reasons: dict = dict.fromkeys(("base_reason", "duplicate_pred", "duplicate_iou", "wrong_class_pred",
                                   "wrong_class_iou"))
    if other_class is not None:
        regular = ~label_ig[s_label]
        hit = active[other_class.pred] & ~label_ig[other_class.label]
        reasons = dict(base_reason=np.where(best_same >= LOW_IOU_FLOOR, LOW_IOU, BACKGROUND).astype(np.int8),
                       duplicate_pred=s_pred[regular], duplicate_iou=s_iou[regular],
                       wrong_class_pred=other_class.pred[hit], wrong_class_iou=other_class.iou[hit])
    return MatchingBasis(
        max_dets=max_dets, method=method, min_score=min_score, pixel_plus_one=candidates.pixel_plus_one,
        has_reasons=other_class is not None, rank=rank, label_ignored=label_ig,
        label_group=labels.image_index * max(dataset.n_categories, 1) + labels.category_index,
        inactive=np.flatnonzero(~active), below_min_score=np.flatnonzero(~present),
        out_of_area=np.flatnonzero((area < AREA_RANGE[0]) | (area > AREA_RANGE[1])),
        pair_pred=s_pred, pair_label=s_label, pair_iou=s_iou, pair_key=s_pred * max(n_label, 1) + s_label,
        priority=priority, priority_iou=priority_iou, best_same=best_same, **reasons)


def match_on_basis(dataset: Dataset, candidates: CandidatePairs, basis: MatchingBasis,
                   iou_threshold: float) -> MatchResult:
    """:func:`match_predictions` at ``iou_threshold`` t in (0, 1] from the ``basis`` of the same dataset and
    candidates (:func:`matching_basis`).

    Raises:
        ValueError: t outside (0, 1].
    """
    if not 0.0 < iou_threshold <= 1.0:
        raise ValueError(f"IoU threshold must be in (0, 1], got {iou_threshold}")
    b, t, labels = basis, iou_threshold, dataset.labels
    n_pred, n_label = len(dataset.predictions), len(labels)
    clamped = min(t, 1 - 1e-10)
    duplicate = None
    if b.method == "voc":
        pred_label, blocked = _voc_max_iou(b.pair_pred, b.pair_label, b.pair_iou, b.rank, b.label_ignored, n_pred, t)
        hit_pred = np.flatnonzero(pred_label >= 0)
        hit_label, duplicate = pred_label[hit_pred], np.flatnonzero(blocked)
    elif b.priority is not None:
        order = b.priority[b.priority_iou >= clamped]
        hit_pred, hit_label = _greedy_coco_pairs(candidates.pred[order], candidates.label[order], b.rank,
                                                 labels.iscrowd, b.label_group, n_pred, n_label)
    else:
        pred_label = _greedy_coco(b.pair_pred, b.pair_label, b.pair_iou, b.rank, b.label_ignored, labels.iscrowd,
                                  b.label_group, clamped, n_pred, n_label)
        hit_pred = np.flatnonzero(pred_label >= 0)
        hit_label = pred_label[hit_pred]
    to_ignored = b.label_ignored[hit_label]

    outcome = np.full(n_pred, FP, np.int8)
    outcome[hit_pred] = np.where(to_ignored, IGNORED, TP)
    pred_label = np.full(n_pred, -1, np.int64)
    pred_label[hit_pred] = hit_label
    pred_iou = b.best_same.copy()
    pred_iou[hit_pred] = b.pair_iou[np.searchsorted(b.pair_key, hit_pred * max(n_label, 1) + hit_label)]

    if b.has_reasons:  # the reason each prediction would have as a false positive: the first rule is written last
        reason = b.base_reason.copy()
        reason[b.wrong_class_pred[b.wrong_class_iou >= t]] = WRONG_CLASS
        reason[b.duplicate_pred[b.duplicate_iou >= clamped] if duplicate is None else duplicate] = DUPLICATE
    else:
        reason = np.zeros(n_pred, np.int8)
    reason[hit_pred] = np.where(to_ignored, CROWD, NO_REASON)  # a matched prediction is no false positive

    unmatched_out_of_area = b.out_of_area[outcome[b.out_of_area] == FP]
    outcome[unmatched_out_of_area] = IGNORED
    reason[unmatched_out_of_area] = AREA
    outcome[b.inactive] = IGNORED
    reason[b.inactive] = BEYOND_MAX_DETS
    reason[b.below_min_score] = BELOW_MIN_SCORE
    pred_label[b.inactive] = -1

    label_pred, label_outcome = _label_outcomes(pred_label, b.label_ignored)
    return MatchResult(
        iou_threshold=float(iou_threshold),
        max_dets=b.max_dets,
        method=b.method,
        min_score=b.min_score,
        pixel_plus_one=b.pixel_plus_one,
        has_reasons=b.has_reasons,
        pred_outcome=outcome,
        pred_reason=reason,
        pred_label=pred_label,
        pred_iou=pred_iou,
        pred_rank=b.rank,
        label_outcome=label_outcome,
        label_pred=label_pred,
        label_ignored=b.label_ignored,
    )


def _taking_part(dataset: Dataset, max_dets: int | None, min_score: float | None, rank: np.ndarray | None):
    """``(present, active, rank, label_ignored)``: ``(P,)`` bool predictions at or above ``min_score``, those
    of them among the first ``max_dets`` of their image and class, ``(P,)`` int64 score rank (``rank`` or
    computed) and ``(L,)`` bool labels that do not count (module docstring)."""
    present = np.ones(len(dataset.predictions), bool) if min_score is None else dataset.predictions.scores >= min_score
    if rank is None:
        rank = score_orders(dataset).rank
    active = present if max_dets is None else present & (rank < max_dets)
    return present, active, rank, ignored_labels(dataset)


def outcomes_at_thresholds(
    dataset: Dataset,
    candidates: CandidatePairs,
    iou_thresholds: Iterable[float],
    max_dets: int | None = 100,
    method: str = "coco",
    min_score: float | None = None,
    rank: np.ndarray | None = None,
) -> Iterator[np.ndarray]:
    """The predictions' outcomes at each threshold: ``match_predictions(...).pred_outcome`` with the same
    arguments, the work that does not depend on the threshold done once (which predictions take part, the
    labels that do not count, the pairs' matching priority, the area rule). For AP at many thresholds.

    Args:
        dataset, candidates, max_dets, method, min_score, rank: as :func:`match_predictions`.
        iou_thresholds: thresholds t in (0, 1].

    Yields:
        ``(P,)`` int8 outcome code (``TP``, ``FP``, ``IGNORED``) of every prediction, per threshold in turn.
    """
    if method not in MATCH_METHODS:
        raise ValueError(f"method must be one of {MATCH_METHODS}, got {method!r}")
    if not candidates.same_class:
        raise ValueError("candidates must be same-class pairs")
    preds, labels = dataset.predictions, dataset.labels
    n_pred, n_label = len(preds), len(labels)
    _, active, rank, label_ig = _taking_part(dataset, max_dets, min_score, rank)
    same = active[candidates.pred]
    # unmatched: FP, or ignored when out of the area range or not taking part (a match overrides the area rule)
    area = preds.boxes[:, 2] * preds.boxes[:, 3]
    unmatched = np.where(((area < AREA_RANGE[0]) | (area > AREA_RANGE[1])) | ~active, IGNORED, FP).astype(np.int8)
    if method == "coco":  # the pairs taking part, in matching order
        label_group = labels.image_index * max(dataset.n_categories, 1) + labels.category_index
        order = candidates.priority
        if order is None:
            order = matching_priority(candidates.pred, candidates.label, candidates.iou, label_ig)
        order = order[same[order]]
    else:
        order = np.flatnonzero(same)
    s_pred, s_label, s_iou = candidates.pred[order], candidates.label[order], candidates.iou[order]
    for t in iou_thresholds:
        if not 0.0 < t <= 1.0:
            raise ValueError(f"IoU threshold must be in (0, 1], got {t}")
        if method == "coco":
            q = s_iou >= min(t, 1 - 1e-10)
            hit, hit_label = _greedy_coco_pairs(s_pred[q], s_label[q], rank, labels.iscrowd, label_group, n_pred,
                                                n_label)
        else:
            pred_label = _voc_max_iou(s_pred, s_label, s_iou, rank, label_ig, n_pred, t)[0]
            hit = np.flatnonzero(pred_label >= 0)
            hit_label = pred_label[hit]
        outcome = unmatched.copy()
        outcome[hit] = np.where(label_ig[hit_label], IGNORED, TP)
        yield outcome


def _label_outcomes(pred_label: np.ndarray, label_ignored: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(label_pred, label_outcome)`` of the labels from each prediction's matched label (``(P,)``, -1 none):
    the matching prediction of each label (a crowd label keeps the last one in it) and TP / FN / IGNORED."""
    label_pred = np.full(label_ignored.shape[0], -1, np.int64)
    hit = np.flatnonzero(pred_label >= 0)
    label_pred[pred_label[hit]] = hit
    label_outcome = np.where(label_pred >= 0, TP, FN).astype(np.int8)
    label_outcome[label_ignored] = IGNORED
    return label_pred, label_outcome


def restrict_to_min_score(match: MatchResult, scores: np.ndarray, min_score: float) -> MatchResult:
    """The match at ``min_score`` derived from ``match``, made without a minimum (module docstring).

    Args:
        match: a :class:`MatchResult` with ``min_score`` None.
        scores: ``(P,)`` float64 prediction scores (``dataset.predictions.scores``).
        min_score: predictions scoring below it are treated as absent.

    Returns:
        A new :class:`MatchResult` with ``min_score`` set; ``match`` is not changed.
    """
    if match.min_score is not None:
        raise ValueError("restrict_to_min_score needs a match made without a minimum score")
    return _without(match, scores < min_score, min_score)


def restrict_to_class_min_scores(match: MatchResult, scores: np.ndarray, minimums: np.ndarray) -> MatchResult:
    """The match without the predictions scoring below their own minimum, derived from ``match`` (module docstring).

    Args:
        match: a :class:`MatchResult` made without a minimum score (``min_score`` None).
        scores: ``(P,)`` float64 prediction scores (``dataset.predictions.scores``).
        minimums: ``(P,)`` float64 minimum of each prediction (one value per class for the result to equal a
            match from scratch; ``-inf`` keeps a prediction whatever its score). NaN is refused.

    Returns:
        A new :class:`MatchResult`, ``min_score`` None; ``match`` is not changed.
    """
    if match.min_score is not None:
        raise ValueError("restrict_to_class_min_scores needs a match made without a minimum score")
    minimums = np.asarray(minimums, np.float64)
    if minimums.shape != scores.shape or np.isnan(minimums).any():
        raise ValueError("minimums must hold one number (not NaN) per prediction")
    return _without(match, scores < minimums, None)


def _without(match: MatchResult, absent: np.ndarray, min_score: float | None) -> MatchResult:
    """``match`` with the ``absent`` predictions (``(P,)`` bool) ignored below a minimum, labels re-derived."""
    outcome, reason, pred_label, pred_iou = (match.pred_outcome.copy(), match.pred_reason.copy(),
                                             match.pred_label.copy(), match.pred_iou.copy())
    outcome[absent], reason[absent], pred_label[absent], pred_iou[absent] = IGNORED, BELOW_MIN_SCORE, -1, 0.0
    label_pred, label_outcome = _label_outcomes(pred_label, match.label_ignored)
    return replace(match, min_score=min_score, pred_outcome=outcome, pred_reason=reason, pred_label=pred_label,
                   pred_iou=pred_iou, label_outcome=label_outcome, label_pred=label_pred)


def greedy_assign(pair_pred: np.ndarray, pair_label: np.ndarray, pair_iou: np.ndarray, rank: np.ndarray,
                  label_group: np.ndarray, threshold: float, n_pred: int, n_label: int) -> np.ndarray:
    """pycocotools' greedy assignment over any candidate pairs (here: the cross-class confusion matrix).

    Predictions are taken by ``rank`` within their group; each takes the free label of highest IoU
    ``>= threshold`` (no clamp), the higher label index on equal IoU. No label is ignored or crowd.

    Args:
        pair_pred, pair_label, pair_iou: ``(K,)`` candidate pairs (int64 rows, float64 IoU).
        rank: ``(P,)`` int64 order of the predictions within their group (0 first).
        label_group: ``(L,)`` int64 group of each label (a label and its predictions share one group).
        threshold: the minimum IoU of a match.
        n_pred, n_label: P and L.

    Returns:
        ``(P,)`` int64 matched label of every prediction, -1 if none.
    """
    no = np.zeros(n_label, bool)
    return _greedy_coco(pair_pred, pair_label, pair_iou, rank, no, no, label_group, threshold, n_pred, n_label)


def _greedy_coco(s_pred, s_label, s_iou, rank, label_ig, label_crowd, label_group, thr, n_pred, n_label):
    """pycocotools' greedy matching, vectorised in rounds.

    Each round every pending prediction proposes its best free label. Within
    an (image, class) group the proposals are final up to the first prediction
    (in rank order) that proposes a label an earlier pending prediction also
    proposes; the rest wait for the next round. A prediction with no free
    candidate can never gain one (labels are only ever taken), so it is final.
    """
    q = s_iou >= thr
    s_pred, s_label, s_iou = s_pred[q], s_label[q], s_iou[q]
    order = matching_priority(s_pred, s_label, s_iou, label_ig)
    return _greedy_coco_rounds(s_pred[order], s_label[order], rank, label_crowd, label_group, n_pred, n_label)


def _greedy_coco_rounds(s_pred, s_label, rank, label_crowd, label_group, n_pred, n_label):
    """:func:`_greedy_coco` on qualifying pairs already in :func:`~detlens.core.candidates.matching_priority` order."""
    pred_label = np.full(n_pred, -1, np.int64)
    matched_pred, matched_label = _greedy_coco_pairs(s_pred, s_label, rank, label_crowd, label_group, n_pred,
                                                     n_label)
    pred_label[matched_pred] = matched_label
    return pred_label


def _greedy_coco_pairs(s_pred, s_label, rank, label_crowd, label_group, n_pred, n_label):
    """The matched ``(predictions, labels)`` of :func:`_greedy_coco_rounds`, as two ``(M,)`` int64 arrays."""
    accepted_pred, accepted_label = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    s_crowd = label_crowd[s_label]
    taken = np.zeros(n_label, bool)
    done = np.zeros(n_pred, bool)
    while s_pred.shape[0]:
        free = ~taken[s_label] | s_crowd
        s_pred, s_label, s_crowd = s_pred[free], s_label[free], s_crowd[free]
        if not s_pred.shape[0]:
            break
        first = np.ones(s_pred.shape[0], bool)
        first[1:] = s_pred[1:] != s_pred[:-1]
        prop_pred, prop_label = s_pred[first], s_label[first]
        # labels belong to one image and class, so a label identifies the group
        contested = ~label_crowd[prop_label]
        by_label = np.lexsort((rank[prop_pred], prop_label))
        lab_sorted = prop_label[by_label]
        loser = np.zeros(prop_pred.shape[0], bool)
        loser[by_label[1:]] = (lab_sorted[1:] == lab_sorted[:-1]) & contested[by_label[1:]]
        accept = np.ones(prop_pred.shape[0], bool)
        if loser.any():
            # cutoff per group: the smallest rank among its losers
            grp = label_group[prop_label]
            groups, inverse = np.unique(grp[loser], return_inverse=True)
            cutoff = np.full(groups.shape[0], np.iinfo(np.int64).max)
            np.minimum.at(cutoff, inverse, rank[prop_pred[loser]])
            pos = np.minimum(np.searchsorted(groups, grp), groups.shape[0] - 1)
            limit = np.where(groups[pos] == grp, cutoff[pos], np.iinfo(np.int64).max)
            accept = rank[prop_pred] < limit
        acc_pred, acc_label = prop_pred[accept], prop_label[accept]
        accepted_pred.append(acc_pred)
        accepted_label.append(acc_label)
        taken[acc_label[~label_crowd[acc_label]]] = True
        done[acc_pred] = True
        keep = ~done[s_pred]
        s_pred, s_label, s_crowd = s_pred[keep], s_label[keep], s_crowd[keep]
    return np.concatenate(accepted_pred), np.concatenate(accepted_label)


def _voc_max_iou(s_pred, s_label, s_iou, rank, label_ig, n_pred, t):
    """VOC matching: each prediction's max-IoU label; the first ranked prediction per label wins.

    Every prediction whose best label is ignored (difficult, crowd) is matched to it.
    """
    pred_label = np.full(n_pred, -1, np.int64)
    duplicate = np.zeros(n_pred, bool)
    if not s_pred.shape[0]:
        return pred_label, duplicate
    # best label per prediction: highest IoU, first label on ties
    order = np.lexsort((s_label, -s_iou, s_pred))
    bp, bl, bi = s_pred[order], s_label[order], s_iou[order]
    first = np.ones(bp.shape[0], bool)
    first[1:] = bp[1:] != bp[:-1]
    bp, bl, bi = bp[first], bl[first], bi[first]
    ok = bi >= t
    bp, bl = bp[ok], bl[ok]
    by_label = np.lexsort((rank[bp], bl))
    bp, bl = bp[by_label], bl[by_label]
    winner = np.ones(bp.shape[0], bool)
    winner[1:] = bl[1:] != bl[:-1]
    winner |= label_ig[bl]
    pred_label[bp[winner]] = bl[winner]
    duplicate[bp[~winner]] = True
    return pred_label, duplicate
