"""Pixel metrics: known answers on hand-built images, integral images vs direct crops, the pass."""

from __future__ import annotations

import colorsys
import os
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from detlens.core.dataset import BoxTable, Dataset, ImageTable
from detlens.core.metrics.pixel_pass import PixelMetrics, compute_pixel_metrics, text_progress
from detlens.core.metrics.pixels import (
    OBJECT_METRICS, SHARPNESS_K, box_pixel_metrics, frame_pixel_metrics, image_descriptor, uniqueness,
)


def uniform(value, h=40, w=50):
    return np.full((h, w, 3), value, np.uint8)


def checkerboard(h=64, w=64, cell=1):
    yy, xx = np.mgrid[:h, :w]
    return np.repeat((((yy // cell + xx // cell) % 2) * 255).astype(np.uint8)[..., None], 3, axis=2)


def half_black_white():
    img = np.zeros((40, 60, 3), np.uint8)
    img[:, 30:] = 255
    return img


@pytest.mark.parametrize("rgb, expected", [
    (uniform(128), {"Brightness (F)": 128 / 255, "Contrast (F)": 0.0, "Sharpness (F)": 0.0, "Blur (F)": 1.0,
                    "Saturation (F)": 0.0, "Redness (F)": 0.0}),
    (uniform((255, 0, 0)), {"Redness (F)": 1.0, "Greenness (F)": 0.0, "Blueness (F)": 0.0, "Saturation (F)": 1.0}),
    (uniform((0, 200, 0)), {"Redness (F)": 0.0, "Greenness (F)": 1.0, "Blueness (F)": 0.0}),
    (uniform((10, 20, 180)), {"Blueness (F)": 1.0, "Greenness (F)": 0.0}),
    (uniform((40, 0, 0)), {"Redness (F)": 0.0, "Saturation (F)": 1.0}),  # too dark: V < 0.2
    (uniform((200, 160, 160)), {"Redness (F)": 0.0}),  # S = 0.2 < 0.3
    (uniform((255, 128, 0)), {"Redness (F)": 0.0}),  # hue ~30.1 degrees: orange, outside the band
    (uniform((255, 127, 0)), {"Redness (F)": 1.0}),  # hue ~29.9 degrees
    (half_black_white(), {"Brightness (F)": 0.5, "Contrast (F)": 0.5}),
    (checkerboard(), {"Sharpness (F)": 16 / (16 + SHARPNESS_K)}),
])
def test_frame_known_answers(rgb, expected):
    got = frame_pixel_metrics(rgb)
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, abs=1e-9), name
    assert got["Blur (F)"] == pytest.approx(1 - got["Sharpness (F)"])


def test_checkerboard_sharper_than_blurred():
    checker = checkerboard(cell=4)
    blurred = np.asarray(Image.fromarray(checker).filter(ImageFilter.GaussianBlur(2)))
    sharp, soft = frame_pixel_metrics(checker)["Sharpness (F)"], frame_pixel_metrics(blurred)["Sharpness (F)"]
    assert sharp > 0.9 and sharp > soft


def _hue_band_reference(r, g, b):
    """Band by exact rational hue (colorsys formula) with the documented thresholds."""
    mx, mn = max(r, g, b), min(r, g, b)
    if mx == mn or Fraction(mx - mn, mx) < Fraction(3, 10) or mx < 51:
        return None
    d = mx - mn
    if r == mx:
        h = Fraction(g - b, d) % 6
    elif g == mx:
        h = Fraction(b - r, d) + 2
    else:
        h = Fraction(r - g, d) + 4
    deg = h * 60
    if deg <= 30 or deg >= 330:
        return "Redness (F)"
    if 90 <= deg <= 150:
        return "Greenness (F)"
    if 210 <= deg <= 270:
        return "Blueness (F)"
    return None


def test_colour_bands_match_exact_hue_and_colorsys_saturation():
    rng = np.random.default_rng(3)
    colours = rng.integers(0, 256, (3000, 3))
    edges = [(255, 128, 1), (254, 128, 0), (200, 200, 10), (10, 200, 200), (200, 10, 200), (255, 0, 127),
             (0, 255, 127), (51, 0, 0), (50, 0, 0), (100, 70, 70), (100, 71, 71)]
    colours = np.vstack([colours, edges]).astype(np.uint8)
    for r, g, b in colours:
        got = frame_pixel_metrics(uniform((r, g, b), 3, 3))
        want = _hue_band_reference(int(r), int(g), int(b))
        for band in ("Redness (F)", "Greenness (F)", "Blueness (F)"):
            assert got[band] == (1.0 if band == want else 0.0), ((r, g, b), band)
        assert got["Saturation (F)"] == pytest.approx(colorsys.rgb_to_hsv(r / 255, g / 255, b / 255)[1], abs=1e-6)


def test_grey_is_pillow_luma_formula():
    rgb = np.random.default_rng(0).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    grey = np.asarray(Image.fromarray(rgb).convert("L")).astype(np.int64)
    r, g, b = (rgb[..., i].astype(np.int64) for i in range(3))
    assert np.array_equal(grey, (19595 * r + 38470 * g + 7471 * b + 32768) >> 16)


def _direct_crop_metrics(rgb, box):
    x, y, w, h = box
    hh, ww = rgb.shape[:2]
    x0, y0 = min(max(int(np.floor(x)), 0), ww - 1), min(max(int(np.floor(y)), 0), hh - 1)
    x1, y1 = min(max(int(np.ceil(x + w)), x0 + 1), ww), min(max(int(np.ceil(y + h)), y0 + 1), hh)
    crop = rgb[y0:y1, x0:x1]
    vals = crop.astype(np.float64)
    grey = np.asarray(Image.fromarray(np.ascontiguousarray(crop)).convert("L")).astype(np.float64) / 255
    if grey.shape[0] >= 3 and grey.shape[1] >= 3:
        lap = 4 * grey[1:-1, 1:-1] - grey[:-2, 1:-1] - grey[2:, 1:-1] - grey[1:-1, :-2] - grey[1:-1, 2:]
        sharp = lap.var() / (lap.var() + SHARPNESS_K)
    else:
        sharp = np.nan
    return vals.mean() / 255, vals.std() / 255, sharp


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_box_metrics_equal_direct_crop(seed):
    rng = np.random.default_rng(seed)
    rgb = rng.integers(0, 256, (73, 91, 3), dtype=np.uint8)
    rgb[20:50, 10:60] //= 4  # some structure
    boxes = np.column_stack([rng.uniform(-20, 90, 60), rng.uniform(-20, 70, 60),
                             rng.uniform(0.3, 60, 60), rng.uniform(0.3, 50, 60)])
    got = box_pixel_metrics(rgb, boxes)
    for k, box in enumerate(boxes):
        want = _direct_crop_metrics(rgb, box)
        for name, value in zip(OBJECT_METRICS, want):
            np.testing.assert_allclose(got[name][k], value, rtol=0, atol=1e-9, err_msg=f"{name} box {box}")
    # The frame metrics equal box metrics of the full-image box and of the explicit crop.
    full = box_pixel_metrics(rgb, np.array([[0.0, 0.0, 91.0, 73.0]]))
    frame = frame_pixel_metrics(rgb)
    assert full["Object Brightness"][0] == pytest.approx(frame["Brightness (F)"], abs=1e-12)
    assert full["Object Sharpness"][0] == pytest.approx(frame["Sharpness (F)"], abs=1e-12)
    crop = frame_pixel_metrics(np.ascontiguousarray(rgb[5:40, 7:66]))
    one = box_pixel_metrics(rgb, np.array([[7.0, 5.0, 59.0, 35.0]]))
    for name, key in zip(OBJECT_METRICS, ("Brightness (F)", "Contrast (F)", "Sharpness (F)")):
        assert one[name][0] == pytest.approx(crop[key], abs=1e-9)


@pytest.mark.parametrize("box, crop", [
    ((-10.0, -5.0, 20.0, 15.0), (slice(0, 10), slice(0, 10))),  # top-left partly outside
    ((35.5, 25.2, 100.0, 100.0), (slice(25, 40), slice(35, 50))),  # bottom-right partly outside
    ((100.0, 100.0, 5.0, 5.0), (slice(39, 40), slice(49, 50))),  # entirely outside: 1 px at the edge
])
def test_boxes_outside_are_clipped(box, crop):
    rgb = np.random.default_rng(1).integers(0, 256, (40, 50, 3), dtype=np.uint8)
    got = box_pixel_metrics(rgb, np.array([box]))
    assert got["Object Brightness"][0] == pytest.approx(rgb[crop].mean() / 255, abs=1e-12)
    assert got["Object Contrast"][0] == pytest.approx(rgb[crop].std() / 255, abs=1e-9)


def test_small_crop_sharpness_nan_and_empty_boxes():
    rgb = uniform(90)
    got = box_pixel_metrics(rgb, np.array([[1.0, 1.0, 2.0, 10.0], [1.0, 1.0, 3.0, 3.0]]))
    assert np.isnan(got["Object Sharpness"][0]) and got["Object Sharpness"][1] == 0.0
    empty = box_pixel_metrics(rgb, np.zeros((0, 4)))
    assert set(empty) == set(OBJECT_METRICS)
    assert all(v.shape == (0,) and v.dtype == np.float64 for v in empty.values())


def test_uniqueness():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    c = (255 - a).astype(np.uint8)
    d = np.stack([image_descriptor(x) for x in (a, a.copy(), c)])
    assert d.shape == (3, 256) and d.dtype == np.float32 and d.min() >= 0 and d.max() <= 1
    u = uniqueness(d)
    assert u[0] == 0.0 and u[1] == 0.0 and 0 < u[2] <= 1
    with_nan = uniqueness(np.vstack([d, np.full((1, 256), np.nan)]))
    assert np.isnan(with_nan[3]) and np.array_equal(with_nan[:3], u)
    assert np.isnan(uniqueness(d[:1])).all()
    big = rng.random((300, 8))
    brute = np.sqrt(((big[:, None] - big[None]) ** 2).sum(-1) + np.diag(np.full(300, np.inf))).min(1) / np.sqrt(8)
    np.testing.assert_allclose(uniqueness(big, chunk_elements=1000), brute, atol=1e-12)


# --- the pass over files -------------------------------------------------------------------


def make_dataset(names, sizes, label_boxes, pred_boxes):
    """A Dataset from per-image lists of boxes (test helper)."""
    def table(per_image):
        idx = np.concatenate([np.full(len(b), i) for i, b in enumerate(per_image)]).astype(np.int64)
        boxes = np.concatenate([np.asarray(b, np.float64).reshape(-1, 4) for b in per_image])
        k = len(idx)
        return BoxTable(ids=np.arange(1, k + 1), image_index=idx, category_index=np.zeros(k, np.int64),
                        boxes=boxes, scores=np.ones(k), iscrowd=np.zeros(k, bool), areas=boxes[:, 2] * boxes[:, 3])
    n = len(names)
    images = ImageTable(ids=np.arange(1, n + 1), file_names=np.array(names, dtype=object),
                        widths=np.array([s[0] for s in sizes], float), heights=np.array([s[1] for s in sizes], float))
    return Dataset(name="t", images=images, category_ids=np.array([1]), category_names=np.array(["a"], dtype=object),
                   labels=table(label_boxes), predictions=table(pred_boxes))


@pytest.fixture
def folder(tmp_path: Path):
    rng = np.random.default_rng(7)
    arrays = {f"img{i}.png": rng.integers(0, 256, (30 + i, 40, 3), dtype=np.uint8) for i in range(5)}
    arrays["dup.png"] = arrays["img0.png"]
    for name, arr in arrays.items():
        Image.fromarray(arr).save(tmp_path / name)
    Image.fromarray(arrays["img1.png"]).save(tmp_path / "photo.jpg", quality=90)
    (tmp_path / "corrupt.jpg").write_bytes((tmp_path / "photo.jpg").read_bytes()[:200])
    (tmp_path / "text.png").write_text("not an image")
    return tmp_path, arrays


def _dataset(names, arrays):
    sizes = [(arrays.get(n, np.zeros((30, 40, 3))).shape[1], arrays.get(n, np.zeros((30, 40, 3))).shape[0])
             for n in names]
    labels = [[[1, 2, 10, 12], [20.5, 3, 15, 20]] for _ in names]
    preds = [[[0, 0, 40, 30]] if i % 2 else [] for i in range(len(names))]
    return make_dataset(names, sizes, labels, preds)


def test_pass_matches_in_memory_functions(folder):
    root, arrays = folder
    names = ["img0.png", "img1.png", "dup.png", "img3.png"]
    ds = _dataset(names, arrays)
    res = compute_pixel_metrics(ds, root, workers=1)
    assert isinstance(res, PixelMetrics) and res.decoded == 4 and res.cached == 0 and res.warnings == ()
    for i, name in enumerate(names):
        want = frame_pixel_metrics(arrays[name])
        for key, value in want.items():
            assert res.frame[key][i] == pytest.approx(value, abs=1e-12)
        rows = ds.labels.image_index == i
        boxes = box_pixel_metrics(arrays[name], ds.labels.boxes[rows])
        for key in OBJECT_METRICS:
            np.testing.assert_allclose(res.labels[key][rows], boxes[key], atol=1e-12)
    u = res.frame["Uniqueness (F)"]
    assert u[0] == 0 and u[2] == 0 and u[1] > 0 and u[3] > 0
    assert res.predictions["Object Brightness"].shape == (len(ds.predictions),)
    assert res.to_dict()["decoded"] == 4


def test_unreadable_files_warn_and_give_nan(folder):
    root, arrays = folder
    names = ["img0.png", "missing.png", "corrupt.jpg", "text.png", "../img1.png", "/etc/passwd"]
    ds = _dataset(names, arrays)
    res = compute_pixel_metrics(ds, root, workers=1)
    assert res.failed == 5 and res.decoded == 1
    (msg,) = res.warnings
    assert msg.startswith("5 images could not be read:")
    assert "missing.png (missing)" in msg and "corrupt.jpg (corrupt)" in msg and "rejected file name" in msg
    assert np.isfinite(res.frame["Brightness (F)"][0]) and np.isnan(res.frame["Brightness (F)"][1:]).all()
    assert np.isnan(res.frame["Uniqueness (F)"]).all()  # a single readable image has no neighbour
    bad = ds.labels.image_index > 0
    assert np.isnan(res.labels["Object Brightness"][bad]).all()
    assert np.isfinite(res.labels["Object Brightness"][~bad]).all()


def test_size_mismatch_scales_boxes(folder):
    root, arrays = folder
    ds = make_dataset(["img0.png"], [(80, 60)], [[[0, 0, 80, 60], [0, 0, 40, 30]]], [[]])
    res = compute_pixel_metrics(ds, root, workers=1)
    (msg,) = res.warnings
    assert msg.startswith("1 image differ") and "dataset 80x60, file 40x30" in msg
    full = frame_pixel_metrics(arrays["img0.png"])["Brightness (F)"]
    assert res.labels["Object Brightness"][0] == pytest.approx(full)
    assert res.labels["Object Brightness"][1] == pytest.approx(arrays["img0.png"][:15, :20].mean() / 255)


def _assert_same(a: PixelMetrics, b: PixelMetrics):
    for part in ("frame", "labels", "predictions"):
        da, db = getattr(a, part), getattr(b, part)
        assert da.keys() == db.keys()
        for key in da:
            np.testing.assert_array_equal(da[key], db[key], err_msg=f"{part} {key}")


def test_cache_second_run_decodes_nothing_and_touch_recomputes_one(folder, tmp_path_factory):
    root, arrays = folder
    names = ["img0.png", "img1.png", "img2.png", "missing.png"]
    ds = _dataset(names, arrays)
    cache = tmp_path_factory.mktemp("cache")
    first = compute_pixel_metrics(ds, root, cache_dir=cache, workers=1)
    second = compute_pixel_metrics(ds, root, cache_dir=cache, workers=1)
    assert (first.decoded, first.cached) == (3, 0)
    assert (second.decoded, second.cached) == (0, 3) and second.failed == 1
    _assert_same(first, second)
    st = os.stat(root / "img1.png")
    os.utime(root / "img1.png", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    third = compute_pixel_metrics(ds, root, cache_dir=cache, workers=1)
    assert (third.decoded, third.cached) == (1, 2)
    _assert_same(first, third)


def test_another_run_of_the_dataset_reuses_image_and_label_values(folder, tmp_path_factory):
    root, arrays = folder
    names = ["img0.png", "img1.png", "img2.png", "img3.png"]
    sizes = [(arrays[n].shape[1], arrays[n].shape[0]) for n in names]
    labels = [[[1, 2, 10, 12], [20.5, 3, 15, 20]] for _ in names]
    run_a = _dataset(names, arrays)  # predictions on images 1 and 3
    run_b = make_dataset(names, sizes, labels, [[[5, 5, 10, 10]], [[2, 1, 30, 20], [0, 0, 4, 4]], [], []])
    cache = tmp_path_factory.mktemp("cache")
    compute_pixel_metrics(run_a, root, cache_dir=cache, workers=1)
    b = compute_pixel_metrics(run_b, root, cache_dir=cache, workers=1)
    # images 0 and 1 are decoded for run B's predictions only; 2 and 3 have none: nothing to decode
    assert (b.decoded, b.shared, b.cached) == (2, 2, 2)
    _assert_same(b, compute_pixel_metrics(run_b, root, workers=1))
    again = compute_pixel_metrics(run_b, root, cache_dir=cache, workers=1)
    assert (again.decoded, again.shared, again.cached) == (0, 0, 4)
    _assert_same(b, again)
    other_labels = make_dataset(names, sizes, [[[3, 3, 9, 9]] for _ in names], [[[5, 5, 10, 10]], [], [], []])
    c = compute_pixel_metrics(other_labels, root, cache_dir=cache, workers=1)
    assert (c.decoded, c.shared, c.cached) == (4, 0, 0)  # other labels: the image parts do not apply
    _assert_same(c, compute_pixel_metrics(other_labels, root, workers=1))


def test_a_shared_image_part_keeps_the_size_warning(folder, tmp_path_factory):
    root, arrays = folder
    names = ["img0.png", "img1.png"]
    labels = [[[1, 2, 10, 12]] for _ in names]
    sizes = [(2 * arrays[n].shape[1], 2 * arrays[n].shape[0]) for n in names]  # the files are half the size
    cache = tmp_path_factory.mktemp("cache")
    compute_pixel_metrics(make_dataset(names, sizes, labels, [[], []]), root, cache_dir=cache, workers=1)
    run_b = make_dataset(names, sizes, labels, [[[4, 4, 20, 20]], []])
    b = compute_pixel_metrics(run_b, root, cache_dir=cache, workers=1)
    fresh = compute_pixel_metrics(run_b, root, workers=1)
    assert (b.shared, b.cached) == (1, 1) and b.warnings == fresh.warnings and "2 images differ" in b.warnings[0]
    _assert_same(b, fresh)


def test_damaged_cache_entries_are_dropped_and_recomputed(folder, tmp_path_factory):
    import sqlite3

    root, arrays = folder
    ds = _dataset(["img0.png", "img1.png", "img2.png"], arrays)
    cache = tmp_path_factory.mktemp("cache")
    first = compute_pixel_metrics(ds, root, cache_dir=cache, workers=1)
    with sqlite3.connect(cache / "cache.db") as db:  # every stored value becomes bytes that do not unpickle
        assert db.execute("UPDATE Cache SET value = x'80049500' WHERE mode = 4").rowcount == 4  # 3 image parts, 1 run
    second = compute_pixel_metrics(ds, root, cache_dir=cache, workers=1)
    assert (second.decoded, second.cached) == (3, 0)
    _assert_same(first, second)
    third = compute_pixel_metrics(ds, root, cache_dir=cache, workers=1)
    assert (third.decoded, third.cached) == (0, 3)  # stored again


def test_two_workers_same_as_one_and_progress(folder):
    root, arrays = folder
    names = ["img0.png", "img1.png", "img2.png", "img3.png", "img4.png", "photo.jpg", "corrupt.jpg"]
    ds = _dataset(names, {**arrays, "photo.jpg": arrays["img1.png"]})
    calls = []
    one = compute_pixel_metrics(ds, root, workers=1, progress=lambda d, t: calls.append((d, t)))
    two = compute_pixel_metrics(ds, root, workers=2)
    _assert_same(one, two)
    assert one.warnings == two.warnings and one.failed == 1
    assert calls[-1] == (7, 7) and all(t == 7 for _, t in calls)


def test_text_progress_draws_a_bar():
    import io

    stream = io.StringIO()
    bar = text_progress(stream, width=10)
    bar(0, 4)
    bar(4, 4)
    out = stream.getvalue()
    assert "[##########] 4/4" in out and out.endswith("\n")
