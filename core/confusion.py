"""Cross-class confusion matrix at one IoU threshold: which class is predicted on which class's labels.

Equal to hotcoco's ``COCOeval.confusion_matrix(iou_thr=t, max_det=M, min_score=s)`` with
``params.cat_ids`` the selected classes (``tests/test_confusion.py`` checks it live). Its matching is
not the evaluation's: classes are ignored when pairing boxes.

Which objects take part (per image)
    Predictions of the selected classes scoring at least ``min_score``, ranked by score, highest
    first (equal scores: class order, then file order), and only the first ``max_dets`` of the image
    — all classes together, not per class as in evaluation. Labels of the selected classes that are
    not crowd regions (crowd labels take no part; area and ``difficult`` do not matter here).

Matching (greedy, pycocotools' loop without classes)
    Each prediction in rank order takes, among the image's labels not yet taken, the one of highest
    IoU provided IoU >= t (t as given, no ``1 - 1e-10`` clamp); on equal IoU the label later in
    (class, file) order wins.

Cells (rows: labels' class, columns: predictions' class; index K = background)
    a matched pair counts in ``[label class, prediction class]`` (the diagonal: true positives);
    an unmatched prediction in ``[K, prediction class]``; an unmatched label in ``[label class, K]``.
    ``rates`` divides each row by its sum (a row of zeros stays zero).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from detlens.core.evaluation import Evaluator
from detlens.core.matching import greedy_assign

BACKGROUND = "background"


@dataclass(frozen=True, eq=False)
class ConfusionMatrix:
    """Counts of (label class, predicted class) pairs, background last.

    Attributes:
        iou_threshold, max_dets, min_score: the settings (``max_dets`` per image, None = all).
        classes: the K selected class names, in class order.
        counts: ``(K+1, K+1)`` int64; rows are labels' classes, columns predictions' classes.
        rates: ``(K+1, K+1)`` float64 row-normalised counts.
        pred_label: ``(P,)`` int64 label row each prediction was paired with, -1 (unpaired or not taking part).
        pred_taking_part: ``(P,)`` bool, the prediction took part (selected class, score, image cap).
        label_taking_part: ``(L,)`` bool, the label took part (selected class, not crowd).
    """

    iou_threshold: float
    max_dets: int | None
    min_score: float | None
    classes: tuple[str, ...]
    counts: np.ndarray
    rates: np.ndarray
    pred_label: np.ndarray
    pred_taking_part: np.ndarray
    label_taking_part: np.ndarray

    def to_dict(self) -> dict:
        """``{"iou_threshold", "max_dets_per_image", "min_score", "classes", "matrix", "rates"}``; ``classes``
        ends with ``"background"`` and names the rows (labels) and the columns (predictions) alike."""
        return {"iou_threshold": self.iou_threshold, "max_dets_per_image": self.max_dets, "min_score": self.min_score,
                "classes": [*self.classes, BACKGROUND], "matrix": self.counts.tolist(), "rates": self.rates.tolist()}

    def top_confusions(self, k: int = 10) -> list[tuple[str, str, int]]:
        """The ``k`` largest off-diagonal cells as ``(label class, predicted class, count)``, most first
        (ties: row then column order); cells with a count of 0 are left out."""
        names = [*self.classes, BACKGROUND]
        off = self.counts.copy()
        np.fill_diagonal(off, 0)
        rows, cols = np.nonzero(off)
        order = np.lexsort((cols, rows, -off[rows, cols]))[:k]
        return [(names[r], names[c], int(off[r, c])) for r, c in zip(rows[order], cols[order])]


def confusion_matrix(evaluator: Evaluator, iou_threshold: float = 0.5, classes: list[str] | None = None,
                     max_dets: int | None = 100, min_score: float | None = None,
                     pixel_plus_one: bool = False) -> ConfusionMatrix:
    """The confusion matrix of the module's rules, from the evaluator's cached IoUs (same- and other-class).

    Args:
        evaluator: the dataset's :class:`~detlens.core.evaluation.Evaluator`.
        iou_threshold: t in (0, 1].
        classes: class names to include (None = all).
        max_dets: predictions kept per image over all classes (None = all).
        min_score: predictions scoring below it take no part (None = all).
        pixel_plus_one: the box convention of the IoUs.

    Returns:
        :class:`ConfusionMatrix`.

    Raises:
        ValueError: a threshold outside (0, 1], ``max_dets`` < 1, or an unknown class.
    """
    if not 0.0 < iou_threshold <= 1.0:
        raise ValueError(f"IoU threshold must be in (0, 1], got {iou_threshold}")
    if max_dets is not None and max_dets < 1:
        raise ValueError(f"max_dets must be >= 1 or None, got {max_dets}")
    ds = evaluator.dataset
    preds, labels = ds.predictions, ds.labels
    n_pred, n_label = len(preds), len(labels)
    selected = ds.category_indices(classes)
    k = selected.shape[0]
    slot = np.full(max(ds.n_categories, 1), -1, np.int64)
    slot[selected] = np.arange(k)

    pred_in = slot[preds.category_index] >= 0
    if min_score is not None:
        pred_in &= preds.scores >= min_score
    # per image: score descending, then class, then file order; the image's first max_dets take part
    ranked = np.flatnonzero(pred_in)
    ranked = ranked[np.lexsort((ranked, preds.category_index[ranked], -preds.scores[ranked],
                                preds.image_index[ranked]))]
    rank = np.zeros(n_pred, np.int64)
    if ranked.shape[0]:
        img = preds.image_index[ranked]
        starts = np.flatnonzero(np.concatenate(([True], img[1:] != img[:-1])))
        rank[ranked] = np.arange(ranked.shape[0]) - np.repeat(starts, np.diff(np.append(starts, ranked.shape[0])))
    if max_dets is not None:
        pred_in &= rank < max_dets
    label_in = (slot[labels.category_index] >= 0) & ~labels.iscrowd

    # labels renumbered in (image, class, file) order: the greedy loop's "later label wins" is that order
    position = np.empty(n_label, np.int64)
    position[np.lexsort((np.arange(n_label), labels.category_index, labels.image_index))] = np.arange(n_label)
    by_position = np.argsort(position)
    pairs = [evaluator.candidates(pixel_plus_one), evaluator.other_class_candidates(pixel_plus_one)]
    p = np.concatenate([c.pred for c in pairs])
    q = np.concatenate([c.label for c in pairs])
    iou = np.concatenate([c.iou for c in pairs])
    keep = pred_in[p] & label_in[q]
    matched = greedy_assign(p[keep], position[q[keep]], iou[keep], rank, labels.image_index[by_position],
                            iou_threshold, n_pred, n_label)
    pred_label = np.full(n_pred, -1, np.int64)
    pred_label[matched >= 0] = by_position[matched[matched >= 0]]

    counts = np.zeros((k + 1, k + 1), np.int64)
    paired = np.flatnonzero(pred_label >= 0)
    np.add.at(counts, (slot[labels.category_index[pred_label[paired]]], slot[preds.category_index[paired]]), 1)
    lone_preds = np.flatnonzero(pred_in & (pred_label < 0))
    np.add.at(counts, (k, slot[preds.category_index[lone_preds]]), 1)
    label_taken = np.zeros(n_label, bool)
    label_taken[pred_label[paired]] = True
    lone_labels = np.flatnonzero(label_in & ~label_taken)
    np.add.at(counts, (slot[labels.category_index[lone_labels]], k), 1)
    sums = counts.sum(axis=1, keepdims=True)
    rates = np.divide(counts, sums, out=np.zeros(counts.shape), where=sums > 0)
    return ConfusionMatrix(
        iou_threshold=float(iou_threshold), max_dets=max_dets, min_score=min_score,
        classes=tuple(str(ds.category_names[c]) for c in selected), counts=counts, rates=rates,
        pred_label=pred_label, pred_taking_part=pred_in, label_taking_part=label_in)
