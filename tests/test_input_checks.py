"""Input checks (core/io/checks.py): class names in common, the box format, images that fit the labels;
``--names`` / ``--pred-names``; ``detlens serve`` refusing bad input before it listens; the page's status."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from detlens.app.cache import SharedCache
from detlens.app.preparation import prepare
from detlens.app.queries import Queries
from detlens.app.source import DataSource
from detlens.callbacks.shell import poll_preparation
from detlens.core.io import InputError, load_dataset
from detlens.core.io.checks import (CORNER_MIN_BOXES, FEW_OUTSIDE, MANY_OUTSIDE, MIN_BOXES, check_box_format,
                                    check_image_fit)
from tests.browser.conftest import free_port
from tests.refdata import REFDATA

DETLENS = str(Path(sys.executable).parent / "detlens")
TOY = REFDATA / "review_toy"
CARTUCHO = REFDATA / "cartucho_map"
VOC100 = REFDATA / "review_voc100"


def detlens(*args: object, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([DETLENS, *map(str, args)], capture_output=True, text=True, timeout=timeout)


def error_lines(proc: subprocess.CompletedProcess) -> list[str]:
    return [line for line in proc.stderr.splitlines() if line.startswith("detlens: error:")]


@pytest.fixture
def class_id_dets(tmp_path) -> Path:
    """review_toy's class-id detections away from its voc.names (nothing to find them by)."""
    return Path(shutil.copytree(TOY / "dets_classid_abs_xyx2y2", tmp_path / "dets"))


def write_txt(folder: Path, files: dict[str, list[str]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for stem, lines in files.items():
        (folder / f"{stem}.txt").write_text("".join(line + "\n" for line in lines))
    return folder


# ---------------------------------------------------------------- class names


def test_class_ids_against_class_names_is_an_error_naming_both_options(class_id_dets):
    with pytest.raises(InputError) as info:
        load_dataset(TOY / "gts_vocpascal_format", class_id_dets)
    message = str(info.value)
    assert "\n" not in message and "--pred-names" in message and "--names" in message
    assert "'7'" in message and "'cat'" in message  # what each side holds


def test_pred_names_maps_the_class_ids(class_id_dets):
    ds = load_dataset(TOY / "gts_vocpascal_format", class_id_dets, pred_names_file=TOY / "voc.names")
    named = load_dataset(TOY / "gts_vocpascal_format", TOY / "dets_classname_abs_xyx2y2")
    assert list(ds.category_names) == list(named.category_names)
    assert not any("class names" in w for w in ds.warnings)


def test_cli_evaluate_exits_2_and_pred_names_fixes_it(class_id_dets):
    bad = detlens("evaluate", "--labels", TOY / "gts_vocpascal_format", "--predictions", class_id_dets)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert len(error_lines(bad)) == 1 and "--pred-names" in error_lines(bad)[0]
    good = detlens("evaluate", "--labels", TOY / "gts_vocpascal_format", "--predictions", class_id_dets,
                   "--pred-names", TOY / "voc.names")
    reference = detlens("evaluate", "--labels", TOY / "gts_vocpascal_format", "--predictions",
                        TOY / "dets_classname_abs_xyx2y2")
    assert good.returncode == 0 and good.stdout == reference.stdout


def test_cartucho_unmatched_prediction_classes_are_listed_first_with_counts():
    ds = load_dataset(CARTUCHO / "ground-truth", CARTUCHO / "detection-results")
    first = ds.warnings[0]
    assert "8 prediction class names of detection-results are not label class names" in first
    assert "'refrigerator' (32 predictions)" in first and "'doll' (8 labels)" in first
    assert "--pred-names" not in first  # real names on both sides: not a names-file problem


@pytest.mark.parametrize("pred_classes, outcome", [
    (["cat", "dog"], None),  # all match: nothing to say
    (["cat", "7"], "warning"),  # one in common: a warning, not an error
    (["7", "8"], "error"),  # none in common
])
def test_class_name_rule_edges(tmp_path, pred_classes, outcome):
    labels = write_txt(tmp_path / "lab", {"a": ["cat 0 0 10 10", "dog 20 20 30 30"]})
    preds = write_txt(tmp_path / "pred", {"a": [f"{c} 0.9 0 0 10 10" for c in pred_classes]})
    if outcome == "error":
        with pytest.raises(InputError, match="--pred-names"):
            load_dataset(labels, preds)
        return
    warnings = [w for w in load_dataset(labels, preds).warnings if "class names" in w]
    if outcome is None:
        assert warnings == []
    else:
        assert warnings == [load_dataset(labels, preds).warnings[0]]
        assert "'7' (1 predictions)" in warnings[0] and "'dog' (1 labels)" in warnings[0]
        assert "--pred-names" in warnings[0]  # a class id among the unmatched


def test_names_and_pred_names_are_separate_lists(tmp_path):
    (tmp_path / "lab.names").write_text("cat\ndog\n")
    (tmp_path / "pred.names").write_text("dog\ncat\n")  # the detector's own class order
    labels = write_txt(tmp_path / "lab", {"a": ["0 0 0 10 10", "1 20 20 30 30"]})
    preds = write_txt(tmp_path / "pred", {"a": ["1 0.9 0 0 10 10", "0 0.8 20 20 30 30"]})
    both = load_dataset(labels, preds, names_file=tmp_path / "lab.names")
    own = load_dataset(labels, preds, names_file=tmp_path / "lab.names", pred_names_file=tmp_path / "pred.names")
    cats = list(own.category_names)
    assert [cats[i] for i in own.labels.category_index] == ["cat", "dog"]
    assert [cats[i] for i in own.predictions.category_index] == ["cat", "dog"]  # each box on its own class
    swapped = list(both.category_names)
    assert [swapped[i] for i in both.predictions.category_index] == ["dog", "cat"]


# ---------------------------------------------------------------- box format


@pytest.mark.parametrize("box_format, images, warned", [
    ("xyxy", True, None),
    ("xywh", True, "stick out of their image"),
    ("xyxy", False, None),
    ("xywh", False, "also reads as 'left top right bottom'"),
])
def test_cartucho_box_format(box_format, images, warned):
    ds = load_dataset(CARTUCHO / "ground-truth", CARTUCHO / "detection-results", box_format=box_format,
                      images_dir=CARTUCHO / "images-optional" if images else None)
    found = [w for w in ds.warnings if "--box-format" in w and "clipped" not in w]
    if warned is None:
        assert found == []
    else:
        assert len(found) == 1 and warned in found[0] and ds.warnings[1] == found[0]  # after the class names


def test_cli_prints_the_box_format_note():
    proc = detlens("evaluate", "--labels", CARTUCHO / "ground-truth", "--predictions", CARTUCHO / "detection-results",
                   "--box-format", "xywh", "--images", CARTUCHO / "images-optional")
    assert proc.returncode == 0
    assert any(line.startswith("note:") and "check --box-format" in line for line in proc.stderr.splitlines())


def test_xywh_values_read_as_corners_name_the_option(tmp_path):
    labels = write_txt(tmp_path / "lab", {"a": ["cat 50 40 10 10"]})
    with pytest.raises(InputError, match="--box-format xywh"):
        load_dataset(labels)


SIZE = 100.0  # synthetic images are SIZE x SIZE pixels


def rule_boxes(*groups: tuple[int, list[float]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    boxes = np.array([box for count, box in groups for _ in range(count)], np.float64).reshape(-1, 4)
    return boxes, np.full(len(boxes), SIZE), np.full(len(boxes), SIZE)


OUT_BOTH = [90, 90, 20, 20]  # xyxy reading: sticks out; xywh reading [90, 90, 110, 110]: too
IN_ONLY_XYXY = [60, 60, 30, 30]  # xyxy: fits; xywh reading [60, 60, 90, 90]: sticks out


@pytest.mark.parametrize("n, out, warned", [
    (MIN_BOXES - 1, MIN_BOXES - 1, False),  # too few boxes to speak
    (20, round(MANY_OUTSIDE * 20), True),  # exactly the share
    (20, round(MANY_OUTSIDE * 20) - 1, False),
])
def test_many_outside_edges(n, out, warned):
    boxes, w, h = rule_boxes((out, OUT_BOTH), (n - out, IN_ONLY_XYXY))
    assert bool(check_box_format(boxes, w, h, "txt", "xyxy")) is warned
    assert bool(check_box_format(boxes, w, h, "yolo", "xyxy")) is warned


OUT_XYWH_FITS_XYXY = [50, 50, 60, 60]  # xywh: 50 + 60 > 100; as corners [50, 50, 10, 10]: fits
FITS_XYWH_ONLY = [10, 10, 5, 5]  # xywh fits; as corners the width is 5 - 10 < 0
FITS_BOTH = [10, 10, 30, 30]


@pytest.mark.parametrize("out, out_other, warned", [
    (4, 1, True),  # a quarter as many and 3 points fewer
    (4, 2, False),  # half as many only
    (2, 0, True),  # 2 points fewer
    (1, 0, False),  # 1 point: noise
])
def test_other_format_fits_better_edges(out, out_other, warned):
    boxes, w, h = rule_boxes((out, OUT_XYWH_FITS_XYXY), (out_other, FITS_XYWH_ONLY),
                             (100 - out - out_other, FITS_BOTH))
    found = check_box_format(boxes, w, h, "txt", "xywh")
    assert bool(found) is warned
    if warned:
        assert f"{out} of 100 boxes" in found[0] and f"{out_other} would reading --box-format xyxy" in found[0]


@pytest.mark.parametrize("n, not_corner, warned", [
    (CORNER_MIN_BOXES, 0, True),
    (CORNER_MIN_BOXES - 1, 0, False),
    (CORNER_MIN_BOXES, 1, False),
])
def test_corner_signature_edges(n, not_corner, warned):
    boxes, _, _ = rule_boxes((n - not_corner, FITS_BOTH), (not_corner, FITS_XYWH_ONLY))
    unknown = np.full(n, np.nan)
    assert bool(check_box_format(boxes, unknown, unknown, "txt", "xywh")) is warned
    assert check_box_format(boxes, unknown, unknown, "txt", "xyxy") == []


# ---------------------------------------------------------------- images that don't fit


@pytest.fixture
def foreign_images(tmp_path) -> Path:
    """review_toy's photos saved under the names of review_voc100's first ten images."""
    folder = tmp_path / "imgs"
    folder.mkdir()
    for toy, name in zip(sorted((TOY / "images").iterdir()), sorted((VOC100 / "images").iterdir())[:10]):
        shutil.copy(toy, folder / name.name)
    return folder


def image_notes(ds) -> list[str]:
    return [w for w in ds.warnings if "--images" in w or "image files checked" in w]


def test_the_wrong_images_folder_is_named(foreign_images):
    labels, preds = VOC100 / "gts/coco_format_v1/instances_default.json", VOC100 / "dets/coco_format/coco_dets.json"
    wrong = load_dataset(labels, preds, images_dir=foreign_images)
    notes = image_notes(wrong)
    assert len(notes) == 2 and wrong.warnings[:2] == tuple(notes)
    assert notes[0].startswith("9 of 10 image files checked in imgs differ in size")
    assert "lie partly outside their image file" in notes[1]
    assert image_notes(load_dataset(labels, preds, images_dir=VOC100 / "images")) == []


def test_voc_sizes_are_checked_too(foreign_images):
    ds = load_dataset(VOC100 / "gts/pascalvoc_format", images_dir=foreign_images)
    assert image_notes(ds) and "differ in size" in image_notes(ds)[0]


def one_image(tmp_path, width: int, height: int) -> Path:
    folder = tmp_path / "images"
    folder.mkdir()
    Image.new("RGB", (width, height)).save(folder / "a.png")
    return folder


@pytest.mark.parametrize("file_size, warned", [((100, 100), False), ((100, 101), True), ((99, 100), True)])
def test_declared_size_edges(tmp_path, file_size, warned):
    folder = one_image(tmp_path, *file_size)
    names, w, h = np.array(["a.png"], object), np.array([100.0]), np.array([100.0])
    found = check_image_fit(folder, names, w, h, np.zeros(1, np.int64), np.array([[0, 0, 10, 10.0]]))
    assert bool(found) is warned


@pytest.mark.parametrize("outside, warned", [(round(FEW_OUTSIDE * 100), False), (round(FEW_OUTSIDE * 100) + 1, True)])
def test_boxes_outside_the_file_edges(tmp_path, outside, warned):
    folder = one_image(tmp_path, 100, 100)
    boxes = np.array([[95, 95, 10, 10.0]] * outside + [[0, 0, 10, 10.0]] * (100 - outside))
    names, unknown = np.array(["a.png"], object), np.array([np.nan])
    found = check_image_fit(folder, names, unknown, unknown, np.zeros(100, np.int64), boxes)
    assert bool(found) is warned
    if warned:
        assert found[0].startswith(f"{outside} of 100 labelled boxes")


def test_a_synthetic_coco_set_with_resized_images(tmp_path):
    folder = one_image(tmp_path, 50, 50)  # a half-size copy of the labelled image
    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps({
        "images": [{"id": 1, "file_name": "a.png", "width": 100, "height": 100}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [60, 60, 30, 30], "area": 900}],
        "categories": [{"id": 1, "name": "cat"}]}))
    notes = image_notes(load_dataset(labels, images_dir=folder))
    assert "file 50x50, labels 100x100" in notes[0] and notes[1].startswith("1 of 1 labelled boxes (100%)")


# ---------------------------------------------------------------- serve and the page


def test_serve_refuses_bad_input_before_listening(class_id_dets, tmp_path):
    args = ("--labels", TOY / "gts_vocpascal_format", "--predictions", class_id_dets)
    evaluate = detlens("evaluate", *args)
    serve = detlens("serve", *args, "--port", free_port(), "--cache-dir", tmp_path / "cache", timeout=60)
    assert serve.returncode == 2 and "dashboard on" not in serve.stdout + serve.stderr
    assert error_lines(serve) == error_lines(evaluate) and len(error_lines(serve)) == 1


def test_the_page_status_shows_the_same_error(class_id_dets, tmp_path):
    source = DataSource(labels=str(TOY / "gts_vocpascal_format"), predictions=str(class_id_dets))
    queries = Queries(SharedCache(tmp_path / "cache"))
    with pytest.raises(InputError) as info:
        prepare(queries, source)
    out = poll_preparation(queries, 0, source.source_id())
    assert str(info.value) in str(out["alert"].children) and "--pred-names" in str(out["alert"].children)


def test_the_page_shows_the_class_name_warning_first(tmp_path):
    source = DataSource(labels=str(CARTUCHO / "ground-truth"), predictions=str(CARTUCHO / "detection-results"),
                        box_format="xywh")
    queries = Queries(SharedCache(tmp_path / "cache"))
    prepare(queries, source)
    notes = poll_preparation(queries, 0, source.source_id())["alert"]
    assert "prediction class names of detection-results" in str(notes[0].children)
    assert "--box-format" in str(notes[1].children)


def test_the_wsgi_environment_gives_both_names_files(tmp_path):
    from detlens.app.config import ServeConfig

    config = ServeConfig.from_env({"DETLENS_LABELS": "lab", "DETLENS_PREDICTIONS": "pred", "DETLENS_NAMES": "a.names",
                                   "DETLENS_PRED_NAMES": "b.names", "DETLENS_CACHE_DIR": str(tmp_path)})
    assert (config.source.names, config.source.pred_names) == ("a.names", "b.names")
