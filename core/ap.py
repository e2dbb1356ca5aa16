"""Average precision and recall per class from matched predictions.

Rules (tested against pycocotools and published VOC numbers):

Ordering
    A class's counted predictions (TP and FP; ``ignored`` ones are left out,
    which leaves pycocotools' curve unchanged) are sorted by score, highest
    first, with a stable sort over (image in canonical order, rank in image):
    exactly pycocotools' ``accumulate`` order. Ties in score across images
    are therefore broken by image order.

Curve
    After k predictions: recall = TP_k / n_labels; precision =
    TP_k / (TP_k + FP_k + eps) for ``coco101`` (eps = ``np.spacing(1)``, as in
    pycocotools) and TP_k / (TP_k + FP_k) for the VOC methods.

``coco101`` (default)
    Precision is made monotone (each point takes the maximum precision at any
    higher recall); for each recall threshold r in ``linspace(0, 1, 101)`` the
    first point with recall >= r (``searchsorted(..., 'left')``) gives the
    precision, 0 if recall never reaches r; AP = the mean of the 101 values.

``voc_all_point`` (VOC 2010+)
    Area under the monotone precision envelope, with recall padded by 0 and 1
    and precision by 0 and 0: sum over recall steps of (r_i - r_{i-1}) * p_i.

``voc_11_point`` (VOC 2007)
    Mean over r in {0, 0.1, ..., 1} of the maximum precision at recall >= r
    (0 if none).

Classes
    A class with no counted labels has no AP or AR (NaN) and is left out of
    the means; a class with labels but no predictions has AP = AR = 0.
    mAP and mAR are plain means over the remaining selected classes.
    AR is the recall after the last prediction.
"""

from __future__ import annotations

import numpy as np

AP_METHODS = ("coco101", "voc_all_point", "voc_11_point")
RECALL_THRESHOLDS = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)


def average_precision(tp: np.ndarray, n_labels: int, method: str = "coco101") -> tuple[float, float, np.ndarray, np.ndarray]:
    """AP and AR of one class.

    Args:
        tp: ``(D,)`` bool, True for a true positive, predictions already in
            evaluation order (score descending, ties as in the module docstring).
        n_labels: number of counted labels of the class (> 0).
        method: one of ``AP_METHODS``.

    Returns:
        ``(ap, ar, recall, precision)``: AP and AR as floats in [0, 1], and the
        raw ``(D,)`` float64 recall and precision curves (before interpolation).
    """
    if method not in AP_METHODS:
        raise ValueError(f"ap_method must be one of {AP_METHODS}, got {method!r}")
    tp_sum = np.cumsum(tp).astype(float)
    fp_sum = np.cumsum(~tp).astype(float)
    recall = tp_sum / n_labels
    if method == "coco101":
        precision = tp_sum / (fp_sum + tp_sum + np.spacing(1))
    else:
        with np.errstate(invalid="ignore"):
            precision = tp_sum / (fp_sum + tp_sum)
    ar = float(recall[-1]) if recall.shape[0] else 0.0
    if method == "coco101":
        envelope = np.maximum.accumulate(precision[::-1])[::-1]
        idx = np.searchsorted(recall, RECALL_THRESHOLDS, side="left")
        q = np.zeros(RECALL_THRESHOLDS.shape[0])
        valid = idx < recall.shape[0]
        q[valid] = envelope[idx[valid]]
        ap = float(np.mean(q))
    elif method == "voc_all_point":
        mrec = np.concatenate(([0.0], recall, [1.0]))
        mpre = np.concatenate(([0.0], precision, [0.0]))
        mpre = np.maximum.accumulate(mpre[::-1])[::-1]
        steps = np.flatnonzero(mrec[1:] != mrec[:-1]) + 1
        ap = float(np.sum((mrec[steps] - mrec[steps - 1]) * mpre[steps]))
    else:
        envelope = np.maximum.accumulate(precision[::-1])[::-1] if precision.shape[0] else precision
        total = 0.0
        for r in np.linspace(0, 1, 11):
            idx = np.searchsorted(recall, r, side="left")
            total += float(envelope[idx]) if idx < recall.shape[0] else 0.0
        ap = total / 11
    return ap, ar, recall, precision
