"""IoU: hand-computed edges, bit-exact agreement with pycocotools, empty shapes."""

import numpy as np
import pytest
from pycocotools import mask as coco_mask

from detlens.core.iou import box_iou_batch, pair_iou


@pytest.mark.parametrize(
    "pred, label, crowd, plus_one, expected",
    [
        ([0, 0, 10, 10], [0, 0, 10, 10], False, False, 1.0),
        ([0, 0, 10, 10], [20, 20, 5, 5], False, False, 0.0),
        ([0, 0, 10, 10], [10, 0, 10, 10], False, False, 0.0),  # touching: no overlap
        ([0, 0, 10, 10], [10, 0, 10, 10], False, True, 11 / (121 + 121 - 11)),  # +1: one pixel column shared
        ([0, 0, 10, 20], [0, 0, 10, 10], False, False, 0.5),  # exactly 0.5
        ([0, 0, 10, 10], [5, 0, 10, 10], False, False, 50 / 150),
        ([0, 0, 10, 10], [5, 0, 100, 100], True, False, 0.5),  # crowd: inter / prediction area
        ([0, 0, 10, 10], [0, 0, 10, 10], False, True, 1.0),
        ([0, 0, 9, 9], [0, 0, 4, 9], False, True, 50 / 100),  # VOC: 10x10 and 5x10 pixels
    ],
)
def test_pair_iou_hand_computed(pred, label, crowd, plus_one, expected):
    got = pair_iou(np.array([pred], float), np.array([label], float), np.array([crowd]), plus_one)
    assert got.shape == (1,)
    assert got[0] == pytest.approx(expected, abs=1e-15)


@pytest.mark.parametrize("seed", range(5))
def test_box_iou_batch_bit_identical_to_pycocotools(seed):
    rng = np.random.default_rng(seed)
    pred = np.column_stack([rng.uniform(0, 50, (40, 2)), rng.uniform(0.5, 30, (40, 2))])
    label = np.column_stack([rng.uniform(0, 50, (25, 2)), rng.uniform(0.5, 30, (25, 2))])
    crowd = rng.random(25) < 0.3
    ours = box_iou_batch(pred, label, crowd)
    theirs = coco_mask.iou(pred, label, crowd.astype(np.uint8).tolist())
    assert ours.shape == (40, 25)
    assert np.array_equal(ours, theirs)


@pytest.mark.parametrize("n, m", [(0, 3), (2, 0), (0, 0)])
def test_box_iou_batch_empty_shapes(n, m):
    out = box_iou_batch(np.zeros((n, 4)), np.zeros((m, 4)))
    assert out.shape == (n, m) and out.dtype == np.float64


def test_pair_iou_rejects_misaligned():
    with pytest.raises(ValueError):
        pair_iou(np.zeros((2, 4)), np.zeros((3, 4)))
