"""Tests of the synthetic demo generator (core/demo/)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson
import pytest
from PIL import Image, ImageDraw

from detlens.core.demo import (
    PRED_KINDS,
    DemoConfig,
    DemoPaths,
    detection_probability,
    generate,
    generate_annotations,
    write_demo,
)
from detlens.core.demo.render import draw_shape


def _iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) IoU of [x, y, w, h] boxes, written independently of core.demo."""
    ax2, ay2 = a[:, 0] + a[:, 2], a[:, 1] + a[:, 3]
    bx2, by2 = b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    iw = np.minimum(ax2[:, None], bx2[None]) - np.maximum(a[:, 0][:, None], b[:, 0][None])
    ih = np.minimum(ay2[:, None], by2[None]) - np.maximum(a[:, 1][:, None], b[:, 1][None])
    inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
    union = (a[:, 2] * a[:, 3])[:, None] + (b[:, 2] * b[:, 3])[None] - inter
    return inter / union


def _found_rate_inputs(gt: dict, results: list[dict]):
    """Per non-crowd label: found (same-class prediction with IoU >= 0.5), rel. area, image id."""
    size = {im["id"]: (im["width"], im["height"]) for im in gt["images"]}
    preds: dict[int, list[dict]] = {}
    for r in results:
        preds.setdefault(r["image_id"], []).append(r)
    by_image: dict[int, list[dict]] = {}
    for a in gt["annotations"]:
        if not a["iscrowd"]:
            by_image.setdefault(a["image_id"], []).append(a)
    found, area, image = [], [], []
    for img_id, anns in by_image.items():
        boxes = np.array([a["bbox"] for a in anns], float)
        cats = np.array([a["category_id"] for a in anns])
        ok = np.zeros(len(anns), bool)
        p = preds.get(img_id, [])
        if p:
            iou = _iou_matrix(boxes, np.array([r["bbox"] for r in p], float))
            same = cats[:, None] == np.array([r["category_id"] for r in p])[None]
            ok = ((iou >= 0.5) & same).any(axis=1)
        w, h = size[img_id]
        found.extend(ok)
        area.extend(boxes[:, 2] * boxes[:, 3] / (w * h))
        image.extend([img_id] * len(anns))
    return np.array(found), np.array(area), np.array(image)


@pytest.fixture(scope="module")
def default_demo(tmp_path_factory) -> DemoPaths:
    return write_demo(tmp_path_factory.mktemp("demo"), DemoConfig.preset("default"))


def test_default_demo_writes_every_file(default_demo):
    paths = default_demo
    for p in (paths.labels, paths.predictions, paths.truth):
        assert p.is_file() and p.stat().st_size > 0
    assert "synthetic" in (paths.labels.parent / "README.txt").read_text().lower()
    assert len(list(paths.images_dir.glob("*.jpg"))) == 300
    d = paths.to_dict()
    assert set(d) == {"labels", "predictions", "images_dir", "truth"}
    assert all(isinstance(v, str) for v in d.values())


def test_coco_files_are_consistent(default_demo):
    paths = default_demo
    gt = orjson.loads(paths.labels.read_bytes())
    results = orjson.loads(paths.predictions.read_bytes())
    images = {im["id"]: im for im in gt["images"]}
    cats = {c["id"] for c in gt["categories"]}
    assert len(images) == 300 and len(cats) == 4
    assert len({c["name"] for c in gt["categories"]}) == 4
    ann_ids = [a["id"] for a in gt["annotations"]]
    assert len(ann_ids) == len(set(ann_ids)) > 300
    for a in gt["annotations"]:
        im = images[a["image_id"]]
        assert a["category_id"] in cats and a["iscrowd"] == 0
        x, y, w, h = a["bbox"]
        assert w > 0 and h > 0 and x >= 0 and y >= 0
        assert x + w <= im["width"] and y + h <= im["height"]
        assert a["area"] == pytest.approx(w * h, abs=0.01)
    assert len(results) > 300
    for r in results:
        im = images[r["image_id"]]
        assert r["category_id"] in cats and 0.0 <= r["score"] <= 1.0
        x, y, w, h = r["bbox"]
        assert w > 0 and h > 0 and x >= -0.01 and y >= -0.01
        assert x + w <= im["width"] + 0.01 and y + h <= im["height"] + 0.01
    truth = orjson.loads(paths.truth.read_bytes())
    assert len(truth["predictions"]["kind"]) == len(results)
    assert set(truth["predictions"]["kind"]) == set(PRED_KINDS)  # all FP reasons occur
    assert len(truth["labels"]["id"]) == len(gt["annotations"])
    lum = np.array(truth["images"]["mean_luminance"])
    assert np.corrcoef(lum, truth["images"]["brightness"])[0, 1] > 0.8


def test_images_decode_with_stated_size(default_demo):
    paths = default_demo
    gt = orjson.loads(paths.labels.read_bytes())
    for im in gt["images"]:
        with Image.open(paths.images_dir / im["file_name"]) as img:
            img.load()
            assert img.format == "JPEG" and img.mode == "RGB"
            assert img.size == (im["width"], im["height"])
            assert 0.75 * 320 <= im["width"] <= 1.25 * 320 and 0.75 * 240 <= im["height"] <= 1.25 * 240


def _tree_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_deterministic_bytes(tmp_path):
    cfg = DemoConfig(n_images=12, crowd_per_image=0.5, size_jitter=0.2)
    write_demo(tmp_path / "a", cfg)
    write_demo(tmp_path / "b", cfg)
    write_demo(tmp_path / "c", DemoConfig(n_images=12, crowd_per_image=0.5, size_jitter=0.2, seed=1))
    a, b, c = (_tree_bytes(tmp_path / k) for k in "abc")
    assert len(a) == 12 + 4 and a == b
    assert a["labels.json"] != c["labels.json"]
    assert a["predictions.json"] != c["predictions.json"]
    assert a["images/000001.jpg"] != c["images/000001.jpg"]


def test_size_jitter_and_crowd(tmp_path):
    paths = write_demo(tmp_path, DemoConfig(n_images=10, size_jitter=0.3, crowd_per_image=1.0))
    gt = orjson.loads(paths.labels.read_bytes())
    sizes = {(im["width"], im["height"]) for im in gt["images"]}
    assert len(sizes) > 1
    for im in gt["images"]:
        with Image.open(paths.images_dir / im["file_name"]) as img:
            assert img.size == (im["width"], im["height"])
    assert any(a["iscrowd"] == 1 for a in gt["annotations"])
    no_crowd, _ = generate_annotations(DemoConfig(n_images=50))
    assert all(a["iscrowd"] == 0 for a in no_crowd["annotations"])


def test_boxes_tight_around_drawn_shapes_and_some_touch_border():
    data = generate(DemoConfig(n_images=120))
    touching = 0
    for j in range(len(data.label_image)):
        i = data.label_image[j]
        w, h = int(data.widths[i]), int(data.heights[i])
        canvas = Image.new("L", (w, h))
        draw_shape(ImageDraw.Draw(canvas), int(data.label_category[j]) % 4,
               *map(float, data.label_draw_boxes[j]), 255)
        x1, y1, x2, y2 = canvas.getbbox()
        np.testing.assert_array_equal(data.label_boxes[j], [x1, y1, x2 - x1, y2 - y1])
        touching += x1 == 0 or y1 == 0 or x2 == w or y2 == h
    assert 0.05 < touching / len(data.label_image) < 0.5


def test_benchmark_preset_sizes():
    cfg = DemoConfig.preset("benchmark")
    gt, results = generate_annotations(cfg)
    assert len(gt["images"]) == 5000
    assert len(gt["categories"]) == 80 and gt["categories"][0]["name"] == "class_00"
    assert abs(len(gt["annotations"]) - 33_000) < 3_300
    assert abs(len(results) - 500_000) < 50_000
    per_image = np.bincount([r["image_id"] for r in results])
    assert per_image.max() <= cfg.max_detections


@pytest.mark.parametrize(
    "preset, driver, neutral",
    [("size", "area", "brightness"), ("brightness", "brightness", "area")],
)
def test_planted_effect_is_real_and_independent(preset, driver, neutral):
    cfg = DemoConfig.preset(preset, n_images=800)
    data = generate(cfg)
    gt, results = generate_annotations(cfg)
    found, area, image = _found_rate_inputs(gt, results)
    brightness = data.brightness[image - 1]

    def low_high(values: np.ndarray, quartile: bool) -> tuple[float, float]:
        lo_q, hi_q = np.quantile(values, [0.25, 0.75] if quartile else [0.5, 0.5])
        return found[values <= lo_q].mean(), found[values >= hi_q].mean()

    values = {"area": area, "brightness": brightness}
    lo, hi = low_high(values[driver], quartile=True)
    assert hi - lo > 0.4, (lo, hi)
    lo, hi = low_high(values[neutral], quartile=False)
    assert abs(hi - lo) < 0.06, (lo, hi)


def test_detection_probability_curve_matches_truth():
    cfg = DemoConfig.preset("default")
    p = detection_probability(np.array([[0.2], [25.0]]), np.array([0.3, 1.3]), cfg)
    assert p.shape == (2, 2) and p.dtype == np.float64
    assert p[0, 0] < p[0, 1] < p[1, 1] and p[0, 0] < p[1, 0] < p[1, 1]
    mid = detection_probability(np.sqrt(0.2 * 25.0), 0.8, cfg)
    assert mid == pytest.approx(cfg.base_recall)
    flat = DemoConfig(size_effect=0.0, brightness_effect=0.0)
    np.testing.assert_allclose(detection_probability([0.1, 1, 50], 0.3, flat), flat.base_recall)

    data = generate(DemoConfig(n_images=1500))
    prob = data.label_detect_prob
    bins = np.digitize(prob, [0.25, 0.5, 0.75])
    for b in range(4):
        sel = bins == b
        assert data.label_detected[sel].mean() == pytest.approx(prob[sel].mean(), abs=0.05)


def test_truth_kinds_match_geometry():
    data = generate(DemoConfig(n_images=200))
    kinds = np.array(PRED_KINDS)[data.pred_kind]
    tp = kinds == "tp"
    assert np.array_equal(np.sort(data.pred_source[tp]), np.flatnonzero(data.label_detected))
    src = np.maximum(data.pred_source, 0)
    src_iou = np.array([_iou_matrix(data.pred_boxes[k:k + 1], data.label_boxes[s:s + 1])[0, 0]
                        for k, s in enumerate(src)])
    assert (src_iou[tp] >= 0.55).all()
    assert (src_iou[kinds == "duplicate"] >= 0.5).all()
    low = src_iou[kinds == "low_iou"]
    assert ((low > 0) & (low < 0.5)).all()
    wrong = kinds == "wrong_class"
    assert (data.pred_category[wrong] != data.label_category[data.pred_source[wrong]]).all()
    assert data.pred_scores[tp].mean() > data.pred_scores[~tp].mean() + 0.2
    for k in np.flatnonzero(kinds == "background")[:200]:
        same_image = data.label_image == data.pred_image[k]
        if same_image.any():
            assert _iou_matrix(data.pred_boxes[k:k + 1], data.label_boxes[same_image]).max() < 0.1


def test_scene_does_not_depend_on_detector_knobs():
    a, b = generate(DemoConfig.preset("size", n_images=50)), generate(DemoConfig.preset("brightness", n_images=50))
    np.testing.assert_array_equal(a.label_boxes, b.label_boxes)
    np.testing.assert_array_equal(a.brightness, b.brightness)
    assert not np.array_equal(a.label_detected, b.label_detected)


def test_presets_and_validation():
    assert DemoConfig.preset("default") == DemoConfig()
    assert DemoConfig.preset("size").brightness_effect == 0.0
    assert DemoConfig.preset("brightness").size_effect == 0.0
    assert DemoConfig.preset("size", seed=3).seed == 3
    with pytest.raises(ValueError, match="unknown preset"):
        DemoConfig.preset("nope")
    with pytest.raises(ValueError):
        DemoConfig(rel_area_range=(5.0, 1.0))
    with pytest.raises(ValueError):
        DemoConfig(base_recall=1.0)
