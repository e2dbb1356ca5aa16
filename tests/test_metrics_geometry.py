"""Geometry metrics (core/metrics/geometry.py) on hand-built boxes with known answers."""

import numpy as np
import pytest

from detlens.core.metrics.geometry import frame_geometry, max_overlap, object_geometry, union_area
from detlens.core.metrics.tables import compute_metric_tables, read_frame_csv
from tests.coco_files import load_coco, tiny_gt, tiny_preds


@pytest.mark.parametrize(
    "boxes, area",
    [
        ([], 0.0),
        ([[0, 0, 10, 10]], 100.0),
        ([[0, 0, 10, 10], [5, 5, 10, 10]], 175.0),
        ([[0, 0, 10, 10], [0, 0, 10, 10]], 100.0),  # identical boxes count once
        ([[0, 0, 10, 10], [2, 2, 3, 3]], 100.0),  # nested
        ([[0, 0, 10, 10], [10, 0, 10, 10]], 200.0),  # touching
    ],
)
def test_union_area(boxes, area):
    assert union_area(np.array(boxes, float).reshape(-1, 4)) == pytest.approx(area)


@pytest.mark.parametrize(
    "box, closeness",
    [([0, 40, 10, 10], 1.0), ([90, 40, 10, 10], 1.0), ([45, 45, 10, 10], 0.1), ([25, 25, 50, 50], 0.5)],
)
def test_border_closeness(tmp_path, box, closeness):
    ds = load_coco(tmp_path, tiny_gt([(box, "a")]), [])
    assert object_geometry(ds, ds.labels, "L")["Border Closeness (L)"][0] == pytest.approx(closeness)


def test_object_geometry_values(tmp_path):
    ds = load_coco(tmp_path, tiny_gt([([0, 0, 20, 10], "a"), ([5, 0, 20, 10], "a"), ([5, 0, 20, 10], "b")],
                                     image_size=(200, 100)),
                   tiny_preds([([0, 0, 20, 10], "a", 0.7)]))
    labels = object_geometry(ds, ds.labels, "L")
    assert labels["Object Area - Absolute (L)"].tolist() == [200.0, 200.0, 200.0]
    assert labels["Object Area - Relative (L)"].tolist() == pytest.approx([1.0, 1.0, 1.0])  # percent
    assert labels["Object Aspect Ratio (L)"].tolist() == [2.0, 2.0, 2.0]
    # same-class overlap only: 150 / 250 between the two "a" boxes, none for "b"
    assert labels["Max Overlap (L)"].tolist() == pytest.approx([0.6, 0.6, 0.0])
    preds = object_geometry(ds, ds.predictions, "P")
    assert preds["Model Confidence (P)"].tolist() == [0.7] and preds["Max Overlap (P)"].tolist() == [0.0]
    frame = frame_geometry(ds)
    assert frame["Object Count (F)"].tolist() == [3.0]
    assert frame["Image Area (F)"].tolist() == [20000.0] and frame["Aspect Ratio (F)"].tolist() == [2.0]
    assert frame["Object Density (F)"].tolist() == pytest.approx([250 / 20000])


def test_max_overlap_matches_brute_force():
    rng = np.random.default_rng(0)
    from detlens.core.dataset import BoxTable
    from detlens.core.iou import box_iou_batch

    n = 60
    boxes = np.column_stack([rng.uniform(0, 50, (n, 2)), rng.uniform(1, 30, (n, 2))])
    table = BoxTable(ids=np.arange(n), image_index=rng.integers(0, 3, n), category_index=rng.integers(0, 2, n),
                     boxes=boxes, scores=np.ones(n), iscrowd=np.zeros(n, bool), areas=np.ones(n))
    iou = box_iou_batch(boxes, boxes)
    same = (table.image_index[:, None] == table.image_index[None]) & (table.category_index[:, None] == table.category_index[None])
    np.fill_diagonal(same, False)
    expected = np.where(same, iou, 0).max(axis=1)
    assert np.array_equal(max_overlap(table), expected)


def test_empty_tables_give_empty_arrays(tmp_path):
    ds = load_coco(tmp_path, tiny_gt([]), [])
    for values in object_geometry(ds, ds.predictions, "P").values():
        assert values.shape == (0,) and values.dtype == np.float64
    assert frame_geometry(ds)["Object Density (F)"].tolist() == [0.0]


def test_custom_metrics_from_extra_fields_and_csv(tmp_path):
    gt = tiny_gt([([0, 0, 10, 10], "a")])
    gt["annotations"][0]["occlusion"] = 0.25
    preds = tiny_preds([([0, 0, 10, 10], "a", 0.9)])
    preds[0]["model_uncertainty"] = 0.1
    ds = load_coco(tmp_path, gt, preds)
    csv_path = tmp_path / "frame.csv"
    csv_path.write_text("file_name,weather\none.jpg,3\n")
    tables = compute_metric_tables(ds, frame_csv=csv_path)
    assert tables.labels["occlusion (L)"].tolist() == [0.25]
    assert tables.predictions["model_uncertainty (P)"].tolist() == [0.1]
    assert tables.frame["weather (F)"].tolist() == [3.0]
    assert "weather (F)" in tables.label_side() and "model_uncertainty (P)" in tables.prediction_side()
    custom = {n for n, m in tables.info.items() if m.custom}
    assert custom == {"occlusion (L)", "model_uncertainty (P)", "weather (F)"}
    assert {tables.info[n].unit for n in custom} == {"value"}


@pytest.mark.parametrize(
    "text, problem",
    [("name,x\none.jpg,1\n", "file_name"), ("file_name,x\nother.jpg,1\n", "row 2"), ("file_name,x\none.jpg,abc\n", "not a number")],
)
def test_bad_frame_csv_names_file_row_and_problem(tmp_path, text, problem):
    ds = load_coco(tmp_path, tiny_gt([([0, 0, 10, 10], "a")]), [])
    path = tmp_path / "frame.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=problem) as info:
        read_frame_csv(path, ds)
    assert "frame.csv" in str(info.value)


def test_object_density_equals_the_union_of_each_images_clipped_labels(tmp_path):
    """Images measured in batches by label count, and one too crowded for a batch, against union_area per image."""
    rng = np.random.default_rng(7)
    counts = [0, 1, 1, 2, 3, 3, 3, 7, 12, 40, 130]  # 130 labels: measured on its own
    gt = {"images": [{"id": i + 1, "file_name": f"{i}.jpg", "width": 320, "height": 240} for i in range(len(counts))],
          "categories": [{"id": 1, "name": "a"}], "annotations": []}
    for i, count in enumerate(counts):
        for _ in range(count):
            x, y = rng.uniform(-20, 290), rng.uniform(-20, 210)  # some boxes cross the border
            w, h = rng.choice([rng.uniform(25, 120), 30.0]), rng.choice([rng.uniform(25, 90), 30.0])
            gt["annotations"].append({"id": len(gt["annotations"]) + 1, "image_id": i + 1, "category_id": 1,
                                      "bbox": [float(x), float(y), float(w), float(h)], "area": float(w * h),
                                      "iscrowd": 0})
    ds = load_coco(tmp_path, gt, [])
    density = frame_geometry(ds)["Object Density (F)"]
    for i in range(len(counts)):
        boxes = ds.labels.boxes[ds.labels.image_index == i]
        x1, y1 = np.clip(boxes[:, 0], 0, 320), np.clip(boxes[:, 1], 0, 240)
        x2, y2 = np.clip(boxes[:, 0] + boxes[:, 2], 0, 320), np.clip(boxes[:, 1] + boxes[:, 3], 0, 240)
        clipped = np.stack([x1, y1, x2 - x1, y2 - y1], axis=1)
        assert density[i] == pytest.approx(union_area(clipped) / (320 * 240), rel=1e-12, abs=1e-15), i
    assert density[0] == 0 and 0 < density[-1] <= 1
