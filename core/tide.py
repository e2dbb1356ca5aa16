"""TIDE error breakdown at one IoU threshold: error types and each type's ΔAP, overall, per class, per bucket.

TIDE is Bolya et al., "TIDE: A General Toolbox for Identifying Object Detection
Errors" (ECCV 2020, tidecv). The numbers here equal hotcoco's
``COCOeval.tide_errors(pos_thr=t, bg_thr=0.1)`` (``delta_ap``, ``counts`` and
``ap_base``; ``tests/test_tide.py`` checks it live), so where tidecv and hotcoco
differ, hotcoco's rule is the one written here (see "Differences from tidecv").

Which objects take part
    The match of :mod:`detlens.core.matching` at t (COCO matching, ``max_dets``
    per image and class, ``min_score``) over the selected classes. The selected
    classes are the whole world, as hotcoco with ``params.catIds`` set to them:
    other-class labels and predictions of unselected classes are not looked at.
    Every false positive gets one type; every counted label that is FN is a
    *false negative*; ignored predictions and labels take no part.

Evidence of a false positive
    ``same``   its highest IoU with a label of its class (crowd labels included,
               with their crowd IoU): ``MatchResult.pred_iou``;
    ``cross``  its highest IoU with a non-crowd label of another selected class;
    ``taken``  a label of its class with IoU >= t was matched by another prediction.

Which false positive gets which type (first rule that applies; hotcoco's order)
    ``Loc``    0.1 <= same <= t (both ends closed);
    ``Cls``    cross >= t;
    ``Dupe``   taken;
    ``Bkg``    cross <= 0.1;
    ``Both``   otherwise (cross in (0.1, t)).
    This is not the matching's ``FPReason`` order (which puts ``duplicate``
    first): an FP whose best same-class IoU is exactly t is ``Loc`` here.

Targets and Misses
    A ``Loc`` FP aims at its highest-IoU same-class label (ties: regular labels
    before ignored ones, then file order), a ``Cls`` FP at its highest-IoU
    other-class label (ties: class order, then file order). When that label is
    a false negative the FP *targets* it: fixing the FP could recover it. Of
    the FPs targeting one label, the highest-scoring (ties: lowest prediction
    id) *wins* it, ``Loc`` and ``Cls`` competing together (tidecv's
    ``BestGTMatch``). A false-negative label is a ``Miss`` unless some FP
    targets it.

How AP is re-evaluated (each oracle alone, per class, then the mean)
    Per class with counted labels, AP is :func:`detlens.core.ap.average_precision`
    (coco101 by default) of the class's counted predictions in pycocotools'
    order, before and after one fix; ΔAP = fixed - base, and the reported ΔAP
    is the mean over the selected classes with labels (hotcoco's ``ap_base`` is
    the mean base AP). The fixes:

    ``Loc``            a winning ``Loc`` FP becomes a TP in place; the type's
                       other FPs are removed;
    ``Cls``            every ``Cls`` FP leaves its class; a winning one becomes a
                       TP of its target's class at its score (after that class's
                       own predictions of equal score);
    ``Both``, ``Dupe``, ``Bkg``  the type's false positives are removed;
    ``Miss``           the class's Misses leave its number of labels;
    ``FP``             every false positive is removed (perfect precision);
    ``FN``             every false-negative label, Miss or not, leaves the number
                       of labels (perfect recall).
    A class left with no labels has AP 0.

Per metric bucket (:func:`tide_by_bucket`)
    The same oracles with each fix restricted to the bucket's objects, then
    the same re-evaluation over every selected class. "In the bucket" is:
    for ``Cls``/``Loc``/``Both``/``Dupe``/``Bkg`` and ``FP``, the false
    positives whose own metric value lies in the bucket (a prediction metric
    ``X (P)``, or its image's value for a frame metric; a ``Cls`` FP is in
    its own bucket, wherever its target label lies); for ``Miss`` and
    ``FN``, the false-negative labels whose own value (``X (L)``, or the
    image's) lies in it. Who wins a target is decided once, over all FPs.
    Counts are the same objects counted. A bucket's ΔAPs
    over all buckets add up to more or less than the overall ΔAP: AP is not
    additive.

Differences from tidecv (hotcoco's rules, followed here)
    hotcoco 1.3 follows tidecv's fixes (``BestGTMatch``, Miss and FN leave the
    denominator, a fixed ``Cls`` error scores in its target's class); it
    differs in what it matches, and detlens with it:
    * tidecv runs its own matching and AP (every prediction, no ``max_dets``
      cap, crowd regions by its own ignore rule); here the pycocotools match at
      t (``max_dets``, crowd and area rules, ``min_score``) is taken as given
      and AP is pycocotools' 101-point AP.
    * Evidence looks only at the selected classes (tidecv: every class).
    * tidecv breaks a tie for a target by the order it meets errors; here the
      lower prediction id wins (the same order when ids follow file order).
    * The ``Loc`` window is closed at t: an FP at exactly t is ``Loc``, not ``Dupe``.
    (Earlier hotcoco releases turned every ``Cls``/``Loc`` FP into a TP of its
    own class and added Misses as TPs above every prediction; 1.3 and detlens do not.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from detlens.core.analysis import label_rows, metric_rows, prediction_rows
from detlens.core.ap import average_precision
from detlens.core.buckets import assign_buckets, bucket_edges
from detlens.core.evaluation import Evaluator
from detlens.core.matching import FN, FP, TP, LOW_IOU_FLOOR, MatchResult
from detlens.core.metrics.tables import MetricTables
from detlens.core.vocabulary import ErrorType, TideOracle

FP_TYPES = ErrorType.false_positive_types()  # pred_type codes 0..4 index this tuple
NO_TYPE = -1


@dataclass(frozen=True, eq=False)
class ErrorClassification:
    """TIDE's type of every false positive and which false negatives are Misses, at one IoU threshold.

    Attributes:
        iou_threshold: t of the match.
        bg_threshold: the background threshold (0.1).
        classes: ``(K,)`` int64 selected class indices.
        pred_type: ``(P,)`` int8 index into ``FP_TYPES`` of each false positive of a selected class, -1 otherwise.
        pred_cross_iou: ``(P,)`` float64 best IoU with a non-crowd label of another selected class (0 if none).
        pred_cross_label: ``(P,)`` int64 that label's row, -1 if none.
        pred_target: ``(P,)`` int64 the false-negative label a ``Loc`` or ``Cls`` FP targets, -1 if none.
        pred_wins: ``(P,)`` bool, the FP wins its target (its fix makes a true positive).
        label_fn: ``(L,)`` bool, counted label of a selected class that is FN.
        label_miss: ``(L,)`` bool, a false negative no ``Loc`` or ``Cls`` FP targets.
    """

    iou_threshold: float
    bg_threshold: float
    classes: np.ndarray
    pred_type: np.ndarray
    pred_cross_iou: np.ndarray
    pred_cross_label: np.ndarray
    pred_target: np.ndarray
    pred_wins: np.ndarray
    label_fn: np.ndarray
    label_miss: np.ndarray

    def type_mask(self, error: ErrorType | str) -> np.ndarray:
        """``(P,)`` bool predictions of one false-positive type (``(L,)`` labels for ``Miss``)."""
        error = ErrorType(error)
        if error is ErrorType.MISS:
            return self.label_miss
        return self.pred_type == FP_TYPES.index(error)


@dataclass(frozen=True)
class TideBreakdown:
    """Counts and ΔAP of each error type over some objects (all, one class, or one bucket).

    ``delta_ap`` maps every :class:`ErrorType` and :class:`TideOracle` value to a float (NaN when no
    selected class has labels); ``counts`` maps every :class:`ErrorType` value to an int; ``ap_base``
    is the AP before any fix (mean over classes with labels, NaN if none).
    """

    ap_base: float
    delta_ap: dict[str, float]
    counts: dict[str, int]

    def to_dict(self) -> dict:
        return {"ap_base": _json_float(self.ap_base),
                "delta_ap": {k: _json_float(v) for k, v in self.delta_ap.items()},
                "counts": dict(self.counts)}


@dataclass(frozen=True)
class TideResult:
    """The TIDE breakdown at one IoU threshold: overall and per selected class (by name)."""

    iou_threshold: float
    bg_threshold: float
    overall: TideBreakdown
    per_class: dict[str, TideBreakdown]

    def to_dict(self) -> dict:
        """``{"iou_threshold", "bg_threshold", "ap_base", "delta_ap", "counts"}`` of the overall breakdown."""
        return {"iou_threshold": self.iou_threshold, "bg_threshold": self.bg_threshold, **self.overall.to_dict()}

    def per_class_dict(self) -> dict:
        return {name: b.to_dict() for name, b in self.per_class.items()}


def _json_float(x: float) -> float | None:
    return None if np.isnan(x) else float(x)


def _best_pairs(pred: np.ndarray, label: np.ndarray, iou: np.ndarray, n_pred: int) -> tuple[np.ndarray, np.ndarray]:
    """``(P,)`` int64 label and ``(P,)`` float64 IoU of each prediction's first pair (-1 and 0 when none),
    for pairs already sorted best-first within each prediction."""
    best_label, best_iou = np.full(n_pred, -1, np.int64), np.zeros(n_pred)
    if pred.shape[0]:
        first = np.concatenate(([True], pred[1:] != pred[:-1]))
        best_label[pred[first]], best_iou[pred[first]] = label[first], iou[first]
    return best_label, best_iou


def classify_errors(evaluator: Evaluator, match: MatchResult, classes: list[str] | None = None,
                    bg_threshold: float = LOW_IOU_FLOOR) -> ErrorClassification:
    """TIDE's type of every false positive and the Misses among the false negatives (rules: module docstring).

    Args:
        evaluator: the dataset's :class:`~detlens.core.evaluation.Evaluator` (its cached same-class and
            other-class candidate IoUs are used; the other-class ones are computed on first use).
        match: a COCO match of this dataset (``evaluator.match(...)``); its reasons are not needed.
        classes: class names to include (None = all).
        bg_threshold: IoU below which nothing counts as overlapping (TIDE's 0.1).

    Returns:
        :class:`ErrorClassification`.

    Raises:
        ValueError: a VOC match (TIDE's rules are written on COCO matching), or an unknown class.
    """
    if match.method != "coco":
        raise ValueError("the TIDE breakdown needs COCO matching (match method 'coco')")
    ds = evaluator.dataset
    t = match.iou_threshold
    selected = ds.category_indices(classes)
    in_sel = np.zeros(max(ds.n_categories, 1), bool)
    in_sel[selected] = True
    preds, labels = ds.predictions, ds.labels
    n_pred, n_label = len(preds), len(labels)
    fp = (match.pred_outcome == FP) & in_sel[preds.category_index]

    # same class: best IoU is the match's pred_iou; taken = a matched label with IoU >= t
    same = evaluator.candidates(match.pixel_plus_one)
    keep = fp[same.pred]
    s_pred, s_label, s_iou = same.pred[keep], same.label[keep], same.iou[keep]
    max_same = np.where(fp, match.pred_iou, 0.0)
    taken = np.zeros(n_pred, bool)
    taken[s_pred[(s_iou >= t) & (match.label_pred[s_label] >= 0)]] = True
    # best same-class label: highest IoU, then regular before ignored, then file order
    order = np.lexsort((s_label, match.label_ignored[s_label], -s_iou, s_pred))
    best_same, _ = _best_pairs(s_pred[order], s_label[order], s_iou[order], n_pred)

    # other classes: non-crowd labels of selected classes only
    other = evaluator.other_class_candidates(match.pixel_plus_one)
    keep = fp[other.pred] & in_sel[labels.category_index[other.label]] & ~labels.iscrowd[other.label]
    o_pred, o_label, o_iou = other.pred[keep], other.label[keep], other.iou[keep]
    order = np.lexsort((o_label, labels.category_index[o_label], -o_iou, o_pred))
    cross_label, cross = _best_pairs(o_pred[order], o_label[order], o_iou[order], n_pred)

    pred_type = np.full(n_pred, NO_TYPE, np.int8)
    undecided = fp.copy()
    for error, rule in ((ErrorType.LOC, (max_same >= bg_threshold) & (max_same <= t)),
                        (ErrorType.CLS, cross >= t),
                        (ErrorType.DUPE, taken),
                        (ErrorType.BKG, cross <= bg_threshold),
                        (ErrorType.BOTH, np.ones(n_pred, bool))):
        hit = undecided & rule
        pred_type[hit] = FP_TYPES.index(error)
        undecided &= ~hit

    label_fn = (match.label_outcome == FN) & in_sel[labels.category_index]
    aim = np.full(n_pred, -1, np.int64)
    loc, cls = pred_type == FP_TYPES.index(ErrorType.LOC), pred_type == FP_TYPES.index(ErrorType.CLS)
    aim[loc], aim[cls] = best_same[loc], cross_label[cls]
    target, aimed = np.full(n_pred, -1, np.int64), np.flatnonzero(aim >= 0)
    target[aimed] = np.where(label_fn[aim[aimed]], aim[aimed], -1)
    # the winner of each target: highest score, then lowest prediction id
    contenders = np.flatnonzero(target >= 0)
    by_target = contenders[np.lexsort((preds.ids[contenders], -preds.scores[contenders], target[contenders]))]
    wins = np.zeros(n_pred, bool)
    if by_target.shape[0]:
        wins[by_target[np.concatenate(([True], target[by_target][1:] != target[by_target][:-1]))]] = True
    covered = np.zeros(n_label, bool)
    covered[target[contenders]] = True
    return ErrorClassification(
        iou_threshold=t, bg_threshold=float(bg_threshold), classes=selected, pred_type=pred_type,
        pred_cross_iou=cross, pred_cross_label=cross_label, pred_target=target, pred_wins=wins,
        label_fn=label_fn, label_miss=label_fn & ~covered)


def _ap(tp: np.ndarray, n_labels: int, ap_method: str) -> float:
    """AP as hotcoco's TIDE takes it: 0 for a class left with no labels."""
    return average_precision(tp, n_labels, ap_method)[0] if n_labels > 0 else 0.0


@dataclass(frozen=True, eq=False)
class _ClassRows:
    """One class's counted predictions in evaluation order: rows, scores, TP flags, error types, wins."""

    rows: np.ndarray
    scores: np.ndarray
    tp: np.ndarray
    types: np.ndarray
    wins: np.ndarray
    n_labels: int
    base: float


def _class_rows(evaluator: Evaluator, match: MatchResult, errors: ErrorClassification,
                ap_method: str) -> dict[int, _ClassRows]:
    """Every selected class with counted labels: its predictions in pycocotools' order and its base AP."""
    ds = evaluator.dataset
    order, bounds = evaluator.class_order(match)
    n_labels = np.bincount(ds.labels.category_index[~match.label_ignored], minlength=ds.n_categories)
    out = {}
    for k in errors.classes:
        if n_labels[k] == 0:
            continue
        rows = order[bounds[k]:bounds[k + 1]]
        tp = match.pred_outcome[rows] == TP
        out[int(k)] = _ClassRows(rows, ds.predictions.scores[rows], tp, errors.pred_type[rows],
                                 errors.pred_wins[rows], int(n_labels[k]), _ap(tp, int(n_labels[k]), ap_method))
    return out


def _class_deltas(c: _ClassRows, fix: np.ndarray, incoming: np.ndarray, n_miss: int, n_fn: int,
                  ap_method: str) -> dict[str, float]:
    """ΔAP of every oracle for one class, fixing only the predictions ``fix`` (``(D,)`` bool, in the class's
    order), the winning ``Cls`` FPs of other classes that target this one (``incoming``: their scores,
    descending) and the ``n_miss`` Misses / ``n_fn`` false negatives of the class in scope."""
    out = {}
    for code, error in enumerate(FP_TYPES):
        hit = fix & (c.types == code)
        if error is ErrorType.CLS and incoming.shape[0]:
            kept_tp, kept_scores = c.tp[~hit], c.scores[~hit]
            # after the class's own predictions of equal score
            at = np.searchsorted(-kept_scores, -incoming, side="right")
            out[error.value] = _ap(np.insert(kept_tp, at, True), c.n_labels, ap_method) - c.base
        elif not hit.any():
            out[error.value] = 0.0
        elif error is ErrorType.LOC:
            promoted = hit & c.wins
            out[error.value] = _ap((c.tp | promoted)[~(hit & ~promoted)], c.n_labels, ap_method) - c.base
        else:
            out[error.value] = _ap(c.tp[~hit], c.n_labels, ap_method) - c.base
    out[ErrorType.MISS.value] = _ap(c.tp, c.n_labels - n_miss, ap_method) - c.base if n_miss else 0.0
    false_pos = fix & ~c.tp
    out[TideOracle.FP.value] = _ap(c.tp[~false_pos], c.n_labels, ap_method) - c.base if false_pos.any() else 0.0
    out[TideOracle.FN.value] = _ap(c.tp, c.n_labels - n_fn, ap_method) - c.base if n_fn else 0.0
    return out


def _counts(errors: ErrorClassification, pred_scope: np.ndarray, label_scope: np.ndarray) -> dict[str, int]:
    """Count of each error type among the predictions ``pred_scope`` and labels ``label_scope`` (bool masks)."""
    types = errors.pred_type[pred_scope]
    out = {e.value: int(np.count_nonzero(types == code)) for code, e in enumerate(FP_TYPES)}
    out[ErrorType.MISS.value] = int(np.count_nonzero(errors.label_miss[label_scope]))
    return out


def _mean(per_class: list[dict[str, float]]) -> dict[str, float]:
    keys = [e.value for e in ErrorType] + [o.value for o in TideOracle]
    return {k: float(np.mean([d[k] for d in per_class])) if per_class else float("nan") for k in keys}


def _breakdowns(evaluator, errors, classes_rows, pred_scope, label_scope, ap_method):
    """Per class ``{k: (deltas)}`` with the fixes restricted to ``pred_scope`` (P,) and ``label_scope`` (L,)."""
    ds = evaluator.dataset
    n_cat = max(ds.n_categories, 1)
    miss = np.bincount(ds.labels.category_index[errors.label_miss & label_scope], minlength=n_cat)
    fns = np.bincount(ds.labels.category_index[errors.label_fn & label_scope], minlength=n_cat)
    # winning Cls FPs in scope become TPs of their target's class
    promoted = np.flatnonzero(pred_scope & errors.pred_wins & (errors.pred_type == FP_TYPES.index(ErrorType.CLS)))
    to_class = ds.labels.category_index[errors.pred_target[promoted]]
    scores = ds.predictions.scores[promoted]
    return {k: _class_deltas(c, pred_scope[c.rows], -np.sort(-scores[to_class == k]), int(miss[k]), int(fns[k]),
                             ap_method)
            for k, c in classes_rows.items()}


def tide_errors(evaluator: Evaluator, match: MatchResult, classes: list[str] | None = None,
                bg_threshold: float = LOW_IOU_FLOOR, ap_method: str = "coco101",
                errors: ErrorClassification | None = None) -> TideResult:
    """TIDE counts and ΔAP of every error type, overall and per class (rules: module docstring).

    Args:
        evaluator, match, classes, bg_threshold: as :func:`classify_errors`.
        ap_method: the AP the oracles re-evaluate (coco101 is hotcoco's).
        errors: the :func:`classify_errors` of the same arguments, when already computed.

    Returns:
        :class:`TideResult`; ``per_class`` has every selected class (a class without labels: counts
        only, ΔAP and base AP NaN). Equal to hotcoco's ``tide_errors(pos_thr=t, bg_thr)``.
    """
    if errors is None:
        errors = classify_errors(evaluator, match, classes, bg_threshold)
    ds = evaluator.dataset
    rows = _class_rows(evaluator, match, errors, ap_method)
    every_pred, every_label = np.ones(len(ds.predictions), bool), np.ones(len(ds.labels), bool)
    deltas = _breakdowns(evaluator, errors, rows, every_pred, every_label, ap_method)
    pred_cat, label_cat = ds.predictions.category_index, ds.labels.category_index
    nan = _mean([])
    per_class = {}
    for k in errors.classes:
        k = int(k)
        per_class[str(ds.category_names[k])] = TideBreakdown(
            ap_base=rows[k].base if k in rows else float("nan"), delta_ap=deltas.get(k, nan),
            counts=_counts(errors, pred_cat == k, label_cat == k))
    overall = TideBreakdown(
        ap_base=float(np.mean([c.base for c in rows.values()])) if rows else float("nan"),
        delta_ap=_mean(list(deltas.values())), counts=_counts(errors, every_pred, every_label))
    return TideResult(errors.iou_threshold, errors.bg_threshold, overall, per_class)


def tide_by_bucket(evaluator: Evaluator, match: MatchResult, errors: ErrorClassification,
                   pred_bucket: np.ndarray, label_bucket: np.ndarray, n_buckets: int,
                   ap_method: str = "coco101") -> list[TideBreakdown]:
    """TIDE counts and ΔAP restricted to each bucket's objects (which objects: module docstring).

    Args:
        evaluator, match, errors: as for :func:`tide_errors` (``errors`` of this match).
        pred_bucket: ``(P,)`` int64 bucket of every prediction, -1 for none (no value, or not counted).
        label_bucket: ``(L,)`` int64 bucket of every label, -1 for none.
        n_buckets: B; buckets are ``0..B-1``.
        ap_method: the AP the oracles re-evaluate.

    Returns:
        B :class:`TideBreakdown`: counts of the bucket's objects, and the mean over the selected classes
        with labels of the AP gained by fixing only them (``ap_base`` is the overall base AP in each).
    """
    rows = _class_rows(evaluator, match, errors, ap_method)
    base = float(np.mean([c.base for c in rows.values()])) if rows else float("nan")
    out = []
    for b in range(n_buckets):
        pred_scope, label_scope = pred_bucket == b, label_bucket == b
        deltas = _breakdowns(evaluator, errors, rows, pred_scope, label_scope, ap_method)
        out.append(TideBreakdown(ap_base=base, delta_ap=_mean(list(deltas.values())),
                                 counts=_counts(errors, pred_scope, label_scope)))
    return out


@dataclass(frozen=True)
class BucketTide:
    """The TIDE breakdown of every bucket of one metric (:func:`tide_by_metric`).

    ``edges`` are the ``(B+1,)`` bucket boundaries (those of Performance by metric for the same
    metric, buckets and method); ``buckets`` the B breakdowns; ``pred_bucket`` ``(P,)`` and
    ``label_bucket`` ``(L,)`` int64 the bucket of every prediction and label (-1: none).
    """

    metric: str
    edges: np.ndarray
    buckets: tuple[TideBreakdown, ...]
    pred_bucket: np.ndarray
    label_bucket: np.ndarray


def object_buckets(evaluator: Evaluator, match: MatchResult, tables: MetricTables, metric: str,
                   classes: list[str] | None = None, n_buckets: int = 10,
                   method: str = "quantile") -> tuple[str, np.ndarray, np.ndarray, np.ndarray]:
    """The bucket of every counted prediction and label of one metric, as Performance by metric buckets them.

    Returns:
        ``(metric display name, (B+1,) edges, (P,) pred_bucket, (L,) label_bucket)``; a prediction
        (label) that is not counted, of an unselected class or without a value has bucket -1.

    Raises:
        ValueError: unknown metric, bucket count or method.
    """
    ds = evaluator.dataset
    rows = metric_rows(ds, tables, match, metric, classes)
    pooled = [v for v in (rows["pred_values"], rows["label_values"]) if v is not None]
    edges = bucket_edges(np.concatenate(pooled) if pooled else np.zeros(0), n_buckets, method)
    selected = ds.category_indices(classes)
    pred_bucket = np.full(len(ds.predictions), -1, np.int64)
    label_bucket = np.full(len(ds.labels), -1, np.int64)
    if rows["pred_values"] is not None:
        pred_bucket[prediction_rows(ds, match, selected)] = assign_buckets(rows["pred_values"], edges)
    if rows["label_values"] is not None:
        label_bucket[label_rows(ds, match, selected)] = assign_buckets(rows["label_values"], edges)
    return rows["metric"], edges, pred_bucket, label_bucket


def tide_by_metric(evaluator: Evaluator, match: MatchResult, errors: ErrorClassification, tables: MetricTables,
                   metric: str, n_buckets: int = 10, method: str = "quantile",
                   ap_method: str = "coco101") -> BucketTide:
    """:func:`tide_by_bucket` over the buckets of one metric (the classes are those of ``errors``).

    Raises:
        ValueError: unknown metric, bucket count or method.
    """
    names = [str(evaluator.dataset.category_names[k]) for k in errors.classes]
    name, edges, pred_bucket, label_bucket = object_buckets(evaluator, match, tables, metric, names, n_buckets,
                                                            method)
    buckets = tide_by_bucket(evaluator, match, errors, pred_bucket, label_bucket, max(edges.shape[0] - 1, 0),
                             ap_method)
    return BucketTide(name, edges, tuple(buckets), pred_bucket, label_bucket)
