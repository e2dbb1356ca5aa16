"""AP interpolation rules on hand-computed curves (see core/ap.py's docstring)."""

import numpy as np
import pytest

from detlens.core.ap import average_precision

T, F = True, False


@pytest.mark.parametrize(
    "tp, n_labels, method, expected_ap, expected_ar",
    [
        # recall 1/3, 1/3, 2/3; precision 1, 1/2, 2/3
        ([T, F, T], 3, "voc_all_point", 1 / 3 + (1 / 3) * (2 / 3), 2 / 3),
        ([T, F, T], 3, "voc_11_point", (4 * 1 + 3 * (2 / 3)) / 11, 2 / 3),
        ([T, F, T], 3, "coco101", (34 * 1 + 33 * (2 / 3)) / 101, 2 / 3),
        # perfect detector
        ([T, T], 2, "coco101", 1.0, 1.0),
        ([T, T], 2, "voc_all_point", 1.0, 1.0),
        ([T, T], 2, "voc_11_point", 1.0, 1.0),
        # only false positives
        ([F, F], 2, "coco101", 0.0, 0.0),
        ([F, F], 2, "voc_all_point", 0.0, 0.0),
        # no predictions at all
        ([], 4, "coco101", 0.0, 0.0),
        ([], 4, "voc_all_point", 0.0, 0.0),
        ([], 4, "voc_11_point", 0.0, 0.0),
        # precision rises after a miss: the envelope lifts the earlier point
        ([F, T], 1, "voc_all_point", 0.5, 1.0),
        ([F, T], 1, "coco101", 0.5, 1.0),
    ],
)
def test_average_precision_hand_computed(tp, n_labels, method, expected_ap, expected_ar):
    ap, ar, recall, precision = average_precision(np.array(tp, bool), n_labels, method)
    assert ap == pytest.approx(expected_ap, abs=1e-12)
    assert ar == pytest.approx(expected_ar, abs=1e-15)
    assert recall.shape == precision.shape == (len(tp),)


def test_coco101_recall_threshold_edge_uses_searchsorted_left():
    # recall reaches exactly 0.5 at the 1st prediction: threshold 0.50 is met there (>=), 0.51 is not
    ap, _, _, _ = average_precision(np.array([T]), 2, "coco101")
    assert ap == pytest.approx(51 / 101 * (1 / (1 + np.spacing(1))), abs=1e-15)


def test_unknown_method_rejected():
    with pytest.raises(ValueError, match="ap_method"):
        average_precision(np.array([T]), 1, "voc2012")
