"""Bad inputs give one-line InputErrors naming file, record and problem."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from detlens.core.io import InputError, load_dataset

GT = {
    "images": [
        {"id": 1, "file_name": "a.jpg", "width": 100, "height": 80},
        {"id": 2, "file_name": "b.jpg", "width": 100, "height": 80},
    ],
    "categories": [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}],
    "annotations": [
        {"id": 10, "image_id": 1, "category_id": 1, "bbox": [1, 2, 30, 40]},
        {"id": 11, "image_id": 2, "category_id": 2, "bbox": [5, 5, 10, 10], "area": 50, "iscrowd": 1},
    ],
}
RES = [
    {"image_id": 1, "category_id": 1, "bbox": [1, 2, 30, 40], "score": 0.9},
    {"image_id": 2, "category_id": 2, "bbox": [5, 5, 10, 10], "score": 0.5},
]


def gt_with(section: str, index: int, **changes) -> dict:
    doc = json.loads(json.dumps(GT))
    rec = doc[section][index]
    for k, v in changes.items():
        if v is ...:
            rec.pop(k)
        else:
            rec[k] = v
    return doc


def res_with(index: int, **changes) -> list:
    recs = json.loads(json.dumps(RES))
    for k, v in changes.items():
        if v is ...:
            recs[index].pop(k)
        else:
            recs[index][k] = v
    return recs


def write(path: Path, content) -> Path:
    if isinstance(content, (bytes, str)):
        path.write_bytes(content.encode() if isinstance(content, str) else content)
    else:
        path.write_text(json.dumps(content))
    return path


def expect_error(fn, *parts: str) -> str:
    with pytest.raises(InputError) as info:
        fn()
    msg = str(info.value)
    assert "\n" not in msg and "\r" not in msg
    for p in parts:
        assert p in msg, f"{p!r} not in {msg!r}"
    return msg


# (case id, labels content, predictions content or None, substrings of the message)
COCO_CASES = [
    ("gt-empty-file", b"", None, ["gt.json", "file", "empty"]),
    ("gt-whitespace-file", b"  \n", None, ["gt.json", "empty"]),
    ("gt-truncated", json.dumps(GT)[:50], None, ["gt.json", "line 1, column", "malformed JSON"]),
    ("gt-not-object", "3", None, ["gt.json", "expected a JSON object"]),
    ("gt-nan-literal", json.dumps(GT).replace("[1, 2, 30, 40]", "[1, NaN, 30, 40]"), None, ["gt.json", "line 1", "malformed JSON"]),
    ("gt-no-images", {**GT, "images": []}, None, ["gt.json", "images", "no images"]),
    ("gt-missing-section", {k: v for k, v in GT.items() if k != "categories"}, None, ["gt.json", "missing 'categories'"]),
    ("gt-bbox-string", gt_with("annotations", 0, bbox="1,2,3,4"), None, ["gt.json", "annotation #0 (id 10)", "bbox must be a list of 4 numbers"]),
    ("gt-bbox-3", gt_with("annotations", 1, bbox=[1, 2, 3]), None, ["annotation #1 (id 11)", "bbox must be a list of 4 numbers"]),
    ("gt-bbox-str-value", gt_with("annotations", 1, bbox=[1, "2", 3, 4]), None, ["annotation #1 (id 11)", "bbox"]),
    ("gt-bbox-null", gt_with("annotations", 1, bbox=[1, None, 3, 4]), None, ["annotation #1 (id 11)", "bbox"]),
    ("gt-neg-width", gt_with("annotations", 0, bbox=[1, 2, -3, 4]), None, ["gt.json", "annotation #0 (id 10)", "width must be > 0, got -3"]),
    ("gt-zero-height", gt_with("annotations", 1, bbox=[1, 2, 3, 0]), None, ["annotation #1 (id 11)", "height must be > 0, got 0"]),
    ("gt-missing-image-id", gt_with("annotations", 1, image_id=...), None, ["annotation #1 (id 11)", "missing field 'image_id'"]),
    ("gt-missing-ann-id", gt_with("annotations", 1, id=...), None, ["annotation #1", "missing field 'id'"]),
    ("gt-unknown-image", gt_with("annotations", 1, image_id=99), None, ["annotation #1 (id 11)", "image_id 99 is not in 'images'"]),
    ("gt-unknown-category", gt_with("annotations", 0, category_id=7), None, ["annotation #0 (id 10)", "category_id 7"]),
    ("gt-float-id", gt_with("annotations", 0, image_id=1.5), None, ["annotation #0 (id 10)", "'image_id' must be an integer"]),
    ("gt-dup-image", gt_with("images", 1, id=1), None, ["image #1 (id 1)", "duplicate image id 1"]),
    ("gt-dup-ann", gt_with("annotations", 1, id=10), None, ["annotation #1 (id 10)", "duplicate annotation id 10"]),
    ("gt-dup-cat-id", gt_with("categories", 1, id=1), None, ["category #1 (id 1)", "duplicate category id 1"]),
    ("gt-dup-cat-name", gt_with("categories", 1, name="cat"), None, ["category #1 (id 2)", "duplicate category name 'cat'"]),
    ("gt-zero-width-image", gt_with("images", 0, width=0), None, ["image #0 (id 1)", "width must be > 0"]),
    ("gt-file-name-int", gt_with("images", 1, file_name=5), None, ["image #1 (id 2)", "'file_name' must be a string"]),
    ("gt-iscrowd-2", gt_with("annotations", 0, iscrowd=2), None, ["annotation #0 (id 10)", "iscrowd must be 0 or 1"]),
    ("gt-area-inf", json.dumps(gt_with("annotations", 0, area=1)).replace('"area": 1', '"area": 1e999'), None, ["gt.json", "line 1, column", "infinity"]),
    ("pred-empty-file", GT, b"", ["pred.json", "empty"]),
    ("pred-truncated", GT, json.dumps(RES)[:-7], ["pred.json", "line 1, column", "malformed JSON"]),
    ("pred-score-string", GT, res_with(1, score="0.5"), ["pred.json", "result #1", "'score' must be a number"]),
    ("pred-missing-score", GT, res_with(0, score=...), ["result #0", "missing field 'score'"]),
    ("pred-not-object", GT, [RES[0], 7], ["result #1", "expected a JSON object"]),
    ("pred-unknown-image", GT, res_with(1, image_id=99), ["pred.json", "result #1", "image_id 99 is not in the images of gt.json"]),
    ("pred-unknown-category", GT, res_with(0, category_id=3), ["result #0", "category_id 3 is not in the categories"]),
    ("pred-neg-height", GT, res_with(1, bbox=[1, 1, 5, -2]), ["result #1", "height must be > 0, got -2"]),
    ("pred-inf", GT, json.dumps(RES).replace("0.9", "1e999"), ["pred.json", "line 1, column", "infinity"]),
    ("pred-outside", GT, res_with(0, bbox=[150, 10, 20, 20]), ["pred.json", "result #0", "entirely outside"]),
    ("pred-dataset-no-score", GT, GT, ["pred.json", "annotation #0 (id 10)", "missing field 'score'"]),
    ("pred-dataset-unknown-file", GT, {**gt_with("images", 1, file_name="zzz.jpg", id=5), "annotations": [
        {"id": 1, "image_id": 5, "category_id": 1, "bbox": [1, 1, 2, 2], "score": 0.3}]}, ["pred.json", "annotation #0 (id 1)", "'zzz.jpg' is not an image of gt.json"]),
    ("labels-are-results", RES, None, ["gt.json", "results list", "cannot be used as labels"]),
]


@pytest.mark.parametrize(("gt", "pred", "parts"), [c[1:] for c in COCO_CASES], ids=[c[0] for c in COCO_CASES])
def test_coco_errors(tmp_path, gt, pred, parts):
    g = write(tmp_path / "gt.json", gt)
    p = write(tmp_path / "pred.json", pred) if pred is not None else None
    expect_error(lambda: load_dataset(g, p), *parts)


# (case id, file -> content of the labels folder, role, extra kwargs, substrings)
TXT_CASES = [
    ("too-few-values", {"a.txt": "cat 1 2 3 4\ncat 1 2 3\n"}, "labels", {}, ["lab/a.txt", "line 2", "expected 5 values, got 4"]),
    ("not-a-number", {"a.txt": "cat 1 2 abc 4\n"}, "labels", {}, ["lab/a.txt", "line 1", "'abc' is not a number"]),
    ("nan", {"a.txt": "cat 1 2 nan 4\n"}, "labels", {}, ["lab/a.txt", "line 1", "finite"]),
    ("zero-width", {"a.txt": "\ncat 10 10 10 20\n"}, "labels", {}, ["lab/a.txt", "line 2", "box width must be > 0, got 0"]),
    ("xywh-neg-height", {"b.txt": "cat 10 10 5 -1\n"}, "labels", {"box_format": "xywh"}, ["lab/b.txt", "line 1", "height must be > 0, got -1"]),
    ("pred-as-labels", {"a.txt": "cat 0.9 10 10 20 20\n"}, "labels", {}, ["lab/a.txt", "line 1", "expected 5 values"]),
    ("labels-as-pred", {"a.txt": "cat 10 10 20 20\n"}, "predictions", {}, ["pred/a.txt", "line 1", "expected 6 values"]),
    ("class-id-out-of-range", {"a.txt": "5 10 10 20 20\n", "classes.txt": "cat\ndog\n"}, "labels", {}, ["lab/a.txt", "line 1", "class id 5 out of range"]),
    ("yolo-no-image", {"a.txt": "0 0.5 0.5 0.2 0.2\n"}, "labels", {"fmt": "yolo"}, ["lab/a.txt", "no image"]),
    ("voc-malformed", {"a.xml": "<annotation><object></annotation>"}, "labels", {}, ["lab/a.xml", "line 1", "malformed XML"]),
    ("voc-no-bndbox", {"a.xml": "<annotation><object><name>cat</name></object></annotation>"}, "labels", {}, ["lab/a.xml", "object #0 (cat)", "missing <bndbox>"]),
    ("voc-bad-number", {"a.xml": "<annotation><object><name>cat</name><bndbox><xmin>x</xmin><ymin>1</ymin><xmax>5</xmax><ymax>5</ymax></bndbox></object></annotation>"},
     "labels", {}, ["lab/a.xml", "object #0 (cat)", "<xmin> must be a number"]),
    ("voc-no-score", {"a.xml": "<annotation><object><name>cat</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>5</xmax><ymax>5</ymax></bndbox></object></annotation>"},
     "predictions", {}, ["pred/a.xml", "object #0 (cat)", "missing <confidence>"]),
    ("empty-folder", {"readme.md": "x"}, "labels", {}, ["lab", "no .txt"]),
]


@pytest.mark.parametrize(("files", "role", "kwargs", "parts"), [c[1:] for c in TXT_CASES], ids=[c[0] for c in TXT_CASES])
def test_folder_errors(tmp_path, files, role, kwargs, parts):
    good = tmp_path / "lab"
    folder = tmp_path / ("pred" if role == "predictions" else "lab")
    folder.mkdir(exist_ok=True)
    good.mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    if role == "predictions":
        (good / "a.txt").write_text("cat 1 1 5 5\n")
        kwargs = {**kwargs, "fmt": kwargs.get("fmt", "auto")}
        expect_error(lambda: load_dataset(good, folder, **kwargs), *parts)
    else:
        expect_error(lambda: load_dataset(folder, None, **kwargs), *parts)


def test_duplicate_names_in_names_file(tmp_path):
    (tmp_path / "lab").mkdir()
    (tmp_path / "lab" / "a.txt").write_text("0 1 1 5 5\n")
    names = tmp_path / "my.names"
    names.write_text("cat\ndog\ncat\n")
    expect_error(lambda: load_dataset(tmp_path / "lab", names_file=names), "my.names", "class 2", "duplicate class name 'cat'")


def test_missing_path(tmp_path):
    expect_error(lambda: load_dataset(tmp_path / "nope.json"), "nope.json", "does not exist")


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError):
        load_dataset(tmp_path, fmt="csv")
    with pytest.raises(ValueError):
        load_dataset(tmp_path, box_format="cxcywh")
