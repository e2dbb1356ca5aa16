"""Non-error behaviour: clipping, empty predictions, layouts, unions, speed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import orjson
import pytest
from PIL import Image

from detlens.core.io import InputError, detect_format, load_dataset

GT = {
    "images": [{"id": 7, "file_name": "a.jpg", "width": 100, "height": 80}, {"id": 3, "file_name": "b.jpg", "width": 50, "height": 50}],
    "categories": [{"id": 5, "name": "dog"}, {"id": 2, "name": "cat"}],
    "annotations": [
        {"id": 1, "image_id": 7, "category_id": 2, "bbox": [90, 70, 20, 20], "difficult_score": 0.5},
        {"id": 2, "image_id": 3, "category_id": 5, "bbox": [-5, 0, 10, 10]},
        {"id": 3, "image_id": 3, "category_id": 5, "bbox": [1, 1, 10, 10], "area": 33.0},
    ],
}


@pytest.mark.parametrize(
    ("results", "expected"),
    [
        ([{"image_id": 7, "category_id": 5, "bbox": [0, 0, 10, 10], "score": 0.1}], ["2 boxes extend beyond their image and were clipped"]),
        ([{"image_id": 7, "category_id": 5, "bbox": [95, 0, 10, 10], "score": 2.5}], ["3 boxes extend beyond their image and were clipped"]),
    ],
)
def test_clipping_counted_in_one_warning(tmp_path, results, expected):
    (tmp_path / "gt.json").write_text(json.dumps(GT))
    (tmp_path / "res.json").write_text(json.dumps(results))
    ds = load_dataset(tmp_path / "gt.json", tmp_path / "res.json")
    assert [w.split(" (")[0] for w in ds.warnings if "clipped" in w] == expected
    assert ds.labels.boxes.tolist()[0] == [90, 70, 10, 10]
    assert ds.labels.boxes.tolist()[1] == [0, 0, 5, 10]
    assert ds.labels.areas.tolist() == [100.0, 50.0, 33.0]  # w*h after clipping unless given
    assert ds.predictions.scores.max() <= 2.5  # any finite score is allowed


def test_canonical_order_and_extra(tmp_path):
    (tmp_path / "gt.json").write_text(json.dumps(GT))
    ds = load_dataset(tmp_path / "gt.json", None, clip=False)
    assert ds.images.ids.tolist() == [3, 7] and ds.images.file_names.tolist() == ["b.jpg", "a.jpg"]
    assert ds.category_ids.tolist() == [2, 5] and ds.category_names.tolist() == ["cat", "dog"]
    assert ds.labels.ids.tolist() == [1, 2, 3]  # file order kept
    assert ds.labels.image_index.tolist() == [1, 0, 0]
    assert ds.labels.category_index.tolist() == [0, 1, 1]
    np.testing.assert_array_equal(ds.labels.extra["difficult_score"], [0.5, np.nan, np.nan])
    assert len(ds.predictions) == 0 and ds.predictions.boxes.shape == (0, 4)


@pytest.mark.parametrize("content", ["[]", '{"images": [{"id": 7, "file_name": "a.jpg"}], "categories": [{"id": 1, "name": "x"}], "annotations": []}'])
def test_empty_predictions_are_valid(tmp_path, content):
    (tmp_path / "gt.json").write_text(json.dumps(GT))
    (tmp_path / "res.json").write_text(content)
    ds = load_dataset(tmp_path / "gt.json", tmp_path / "res.json", clip=False)
    assert len(ds.predictions) == 0 and len(ds.labels) == 3


def test_dataset_style_predictions_with_same_ids_need_no_warning(tmp_path):
    preds = {**GT, "annotations": [{"id": 9, "image_id": 7, "category_id": 5, "bbox": [1, 1, 5, 5], "score": 0.4}]}
    (tmp_path / "gt.json").write_text(json.dumps(GT))
    (tmp_path / "p.json").write_text(json.dumps(preds))
    ds = load_dataset(tmp_path / "gt.json", tmp_path / "p.json", clip=False)
    assert ds.warnings == ()
    assert ds.predictions.image_index.tolist() == [1] and ds.predictions.category_index.tolist() == [1]


def make_images(folder: Path, sizes: dict[str, tuple[int, int]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for stem, size in sizes.items():
        Image.new("RGB", size).save(folder / f"{stem}.png")


@pytest.mark.parametrize(
    ("line", "layout"),
    [
        ("0 0.5 0.5 0.2 0.4 0.9", "class xc yc w h conf"),  # both fit -> trailing
        ("0 0.9 0.5 0.5 0.2 0.4", "class conf xc yc w h"),  # trailing would stick out
    ],
)
def test_yolo_prediction_layout(tmp_path, line, layout):
    make_images(tmp_path / "images", {"a": (200, 100)})
    (tmp_path / "labels").mkdir()
    (tmp_path / "labels" / "a.txt").write_text("0 0.5 0.5 0.2 0.4\n")
    (tmp_path / "preds").mkdir()
    (tmp_path / "preds" / "a.txt").write_text(line + "\n")
    (tmp_path / "data.yaml").write_text("path: x\nnames:\n  0: person\n  1: car\n")
    ds = load_dataset(tmp_path / "labels", tmp_path / "preds")
    assert any(layout in w for w in ds.warnings)
    assert ds.category_names.tolist() == ["person", "car"] and ds.category_ids.tolist() == [1, 2]
    assert ds.images.file_names.tolist() == ["a.png"] and ds.images.widths.tolist() == [200]
    np.testing.assert_allclose(ds.labels.boxes, [[80, 30, 40, 40]])
    np.testing.assert_allclose(ds.predictions.boxes, [[80, 30, 40, 40]])
    assert ds.predictions.scores.tolist() == [0.9]


def test_folder_union_of_images_and_classes(tmp_path):
    lab, pred = tmp_path / "gt", tmp_path / "dt"
    lab.mkdir()
    pred.mkdir()
    (lab / "x.txt").write_text("zebra 1 1 10 10 difficult\nant 2 2 5 5\n")
    (lab / "y.txt").write_text("")
    (pred / "x.txt").write_text("traffic light 0.5 1 1 10 10\n")
    (pred / "z.txt").write_text("ant 0.25 1 1 4 4\n")
    ds = load_dataset(lab, pred)
    assert ds.images.file_names.tolist() == ["x.jpg", "y.jpg", "z.jpg"]
    assert ds.images.ids.tolist() == [1, 2, 3]
    assert ds.category_names.tolist() == ["ant", "traffic light", "zebra"]
    assert ds.labels.extra["difficult"].tolist() == [1.0, 0.0]
    assert ds.predictions.image_index.tolist() == [0, 2]
    assert detect_format(lab) == "txt"


def test_voc_difficult_and_prediction_scores(tmp_path):
    obj = "<object><name>cat</name><difficult>{d}</difficult>{s}<bndbox><xmin>1</xmin><ymin>2</ymin><xmax>11</xmax><ymax>22</ymax></bndbox></object>"
    for folder, s in (("gt", ""), ("dt", "<score>0.7</score>")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "i.xml").write_text(
            f"<annotation><filename>i.png</filename><size><width>30</width><height>40</height></size>{obj.format(d=1, s=s)}</annotation>")
    ds = load_dataset(tmp_path / "gt", tmp_path / "dt")
    assert ds.labels.boxes.tolist() == [[1, 2, 10, 20]] and ds.labels.extra["difficult"].tolist() == [1.0]
    assert not ds.labels.iscrowd.any()
    assert ds.predictions.scores.tolist() == [0.7]
    assert ds.images.file_names.tolist() == ["i.png"] and ds.images.heights.tolist() == [40]


def test_mixed_formats_voc_labels_txt_predictions(refdata):
    toy = refdata / "review_toy"
    ds = load_dataset(toy / "gts_vocpascal_format", toy / "dets_classname_abs_xyx2y2")
    assert detect_format(toy / "gts_vocpascal_format") == "voc"
    assert detect_format(toy / "dets_classname_abs_xyx2y2") == "txt"
    assert detect_format(toy / "dets_classname_rel_xcycwh") == "yolo"
    assert detect_format(toy / "gts_coco_format" / "toy_example_coco.JSON") == "coco"
    assert len(ds.labels) == len(ds.predictions) == 12


def test_results_list_needs_coco_labels(tmp_path, refdata):
    (tmp_path / "r.json").write_text(json.dumps([{"image_id": 1, "category_id": 1, "bbox": [1, 1, 2, 2], "score": 1}]))
    with pytest.raises(InputError, match="r.json: file: a COCO results list"):
        load_dataset(refdata / "review_toy" / "gts_vocpascal_format", tmp_path / "r.json")


def test_500k_results_list_loads_exactly(tmp_path):
    """A large results list loads completely (its speed is measured in benchmarks/bench_evaluate.py)."""
    rng = np.random.default_rng(0)
    n_img, n = 5000, 500_000
    gt = {
        "images": [{"id": i, "file_name": f"{i}.jpg", "width": 640, "height": 480} for i in range(1, n_img + 1)],
        "categories": [{"id": c, "name": f"c{c}"} for c in range(1, 81)],
        "annotations": [],
    }
    xy = np.round(rng.uniform(0, 380, (n, 2)), 2)
    wh = np.round(rng.uniform(1, 100, (n, 2)), 2)
    box = np.concatenate([xy, wh], axis=1).tolist()
    img = rng.integers(1, n_img + 1, n).tolist()
    cat = rng.integers(1, 81, n).tolist()
    score = np.round(rng.uniform(0, 1, n), 4).tolist()
    res = [{"image_id": i, "category_id": c, "bbox": b, "score": s} for i, c, b, s in zip(img, cat, box, score)]
    (tmp_path / "gt.json").write_bytes(orjson.dumps(gt))
    (tmp_path / "res.json").write_bytes(orjson.dumps(res))
    del res
    ds = load_dataset(tmp_path / "gt.json", tmp_path / "res.json", clip=False)
    assert len(ds.predictions) == n
    for j in range(0, n, n // 50):  # predictions keep file order: a sample of records, exactly
        np.testing.assert_array_equal(ds.predictions.boxes[j], box[j])
        assert ds.predictions.scores[j] == score[j] and ds.images.ids[ds.predictions.image_index[j]] == img[j]
