"""Which objects run B fixed, broke or left wrong: the object-level pairing of two runs on one dataset.

Rules (tested in ``tests/test_compare_objects.py``):

Labels
    Both runs have the same labels (:func:`detlens.core.compare.same_dataset`),
    so a label pairs with itself. A label counted in both runs (not ignored:
    crowd, area range) is

    ==============  ==========================================
    ``fixed``       missed in A (FN), found in B (TP)
    ``broken``      found in A, missed in B
    ``both_wrong``  missed in both
    ==============  ==========================================

    and in no group when both runs find it.

Predictions: the counterpart
    Predictions of the two runs have no identity in common, so a prediction
    ``p`` of one run is paired with its *counterpart* in the other run: the
    other run's counted prediction (TP or FP, not ignored: crowd, max dets,
    minimum confidence) of the same image and class with the highest IoU with
    ``p``, provided that IoU is at least the view's IoU threshold ``t`` (the
    matching threshold, with the view's box convention); ties go to the higher
    score, then to the earlier prediction in file order. Without such a
    prediction, ``p`` has no counterpart: it is *gone* in the other run.

Predictions: the groups
    Only false positives are grouped (a true positive's change is its label's,
    counted once, on the label):

    ==============  ==========================================================
    ``fixed``       an FP of A whose counterpart in B is gone or a TP
    ``broken``      an FP of B whose counterpart in A is gone or a TP
    ``both_wrong``  an FP of either run whose counterpart is an FP
    ==============  ==========================================================

    So two FPs at the same place are both in ``both_wrong``, one row per run.
    Ignored predictions and true positives are in no group.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from detlens.core.dataset import Dataset
from detlens.core.iou import box_columns, indexed_iou
from detlens.core.matching import FN, FP, IGNORED, TP, MatchResult
from detlens.core.vocabulary import CompareGroup

NO_GROUP = ""  # the group value of an object in none of the groups


@dataclass(frozen=True, eq=False)
class ObjectChanges:
    """The compare group of every object (``NO_GROUP`` for none), as object arrays of str.

    Attributes:
        labels: ``(L,)`` per label of the shared labels.
        predictions_a: ``(P_a,)`` per prediction of run A.
        predictions_b: ``(P_b,)`` per prediction of run B.
        counterpart_a: ``(P_a,)`` int64 row of each A prediction's counterpart among B's, -1 for none
            (computed for A's false positives only; -1 elsewhere).
        counterpart_b: ``(P_b,)`` likewise for B's false positives among A's.
    """

    labels: np.ndarray
    predictions_a: np.ndarray
    predictions_b: np.ndarray
    counterpart_a: np.ndarray
    counterpart_b: np.ndarray


def counterparts(ds_x: Dataset, match_x: MatchResult, rows: np.ndarray, ds_y: Dataset, match_y: MatchResult,
                 iou_threshold: float, pixel_plus_one: bool = False) -> np.ndarray:
    """The counterpart (module docstring) in run Y of each prediction ``rows`` of run X.

    Args:
        ds_x, match_x: run X's dataset and match.
        rows: ``(K,)`` int64 prediction rows of X.
        ds_y, match_y: run Y's dataset and match (same images and classes).
        iou_threshold: t in (0, 1].
        pixel_plus_one: the "+1 pixel" box convention of the IoUs.

    Returns:
        ``(K,)`` int64 prediction row of Y, -1 where none.
    """
    rows = np.asarray(rows, np.int64)
    out = np.full(rows.shape[0], -1, np.int64)
    px, py = ds_x.predictions, ds_y.predictions
    n_cat = max(ds_x.n_categories, 1)
    counted = np.flatnonzero(match_y.pred_outcome != IGNORED)
    y_key = py.image_index[counted].astype(np.int64) * n_cat + py.category_index[counted]
    order = np.argsort(y_key, kind="stable")
    counted, y_key = counted[order], y_key[order]
    x_key = px.image_index[rows].astype(np.int64) * n_cat + px.category_index[rows]
    start, stop = np.searchsorted(y_key, x_key, "left"), np.searchsorted(y_key, x_key, "right")
    sizes = stop - start
    if rows.shape[0] == 0 or sizes.sum() == 0:
        return out
    which = np.repeat(np.arange(rows.shape[0]), sizes)  # position in rows of each pair
    offset = np.arange(which.shape[0]) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    y_rows = counted[start[which] + offset]
    iou = indexed_iou(box_columns(px.boxes, pixel_plus_one), box_columns(py.boxes, pixel_plus_one),
                      rows[which], y_rows)
    keep = iou >= iou_threshold
    which, y_rows, iou = which[keep], y_rows[keep], iou[keep]
    # best first within each X row: IoU descending, then score descending, then file order
    best = np.lexsort((y_rows, -py.scores[y_rows], -iou, which))
    which, y_rows = which[best], y_rows[best]
    first = np.ones(which.shape[0], bool)
    first[1:] = which[1:] != which[:-1]
    out[which[first]] = y_rows[first]
    return out


def _prediction_groups(match_x: MatchResult, partner: np.ndarray, fp_rows: np.ndarray, match_y: MatchResult,
                       wrong_in_x: CompareGroup) -> np.ndarray:
    """Groups of run X's predictions: its FPs ``fp_rows`` with counterparts ``partner`` in Y."""
    groups = np.full(match_x.pred_outcome.shape[0], NO_GROUP, object)
    partner_fp = np.zeros(fp_rows.shape[0], bool)
    has = partner >= 0
    partner_fp[has] = match_y.pred_outcome[partner[has]] == FP
    groups[fp_rows] = np.where(partner_fp, CompareGroup.BOTH_WRONG.value, wrong_in_x.value)
    return groups


def object_changes(ds_a: Dataset, match_a: MatchResult, ds_b: Dataset, match_b: MatchResult,
                   iou_threshold: float, pixel_plus_one: bool = False) -> ObjectChanges:
    """Every object's compare group (module docstring) of runs A and B matched at ``iou_threshold``.

    Args:
        ds_a, match_a: run A's dataset and its match at the view's settings.
        ds_b, match_b: run B's, at the same settings (same labels as A).
        iou_threshold: the matches' IoU threshold t.
        pixel_plus_one: the matches' box convention.

    Raises:
        ValueError: the runs' labels differ in number.
    """
    if match_a.label_outcome.shape != match_b.label_outcome.shape:
        raise ValueError("the runs' labels differ: both runs must be predictions on the same labels")
    la, lb = match_a.label_outcome, match_b.label_outcome
    labels = np.full(la.shape[0], NO_GROUP, object)
    labels[(la == FN) & (lb == TP)] = CompareGroup.FIXED.value
    labels[(la == TP) & (lb == FN)] = CompareGroup.BROKEN.value
    labels[(la == FN) & (lb == FN)] = CompareGroup.BOTH_WRONG.value
    fp_a, fp_b = np.flatnonzero(match_a.pred_outcome == FP), np.flatnonzero(match_b.pred_outcome == FP)
    partner_a = counterparts(ds_a, match_a, fp_a, ds_b, match_b, iou_threshold, pixel_plus_one)
    partner_b = counterparts(ds_b, match_b, fp_b, ds_a, match_a, iou_threshold, pixel_plus_one)
    counterpart_a = np.full(match_a.pred_outcome.shape[0], -1, np.int64)
    counterpart_b = np.full(match_b.pred_outcome.shape[0], -1, np.int64)
    counterpart_a[fp_a], counterpart_b[fp_b] = partner_a, partner_b
    return ObjectChanges(labels, _prediction_groups(match_a, partner_a, fp_a, match_b, CompareGroup.FIXED),
                         _prediction_groups(match_b, partner_b, fp_b, match_a, CompareGroup.BROKEN),
                         counterpart_a, counterpart_b)
