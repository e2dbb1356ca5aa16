"""The COCO importer's two decoders: typed msgspec structs (fast path) and orjson dicts (fallback).

* equivalence: on seeded random files -- results lists and dataset files, as labels and as
  predictions, with extra numeric/null/non-numeric fields, optional and ignored fields -- the typed
  path yields exactly the generic path's columns (bit for bit, NaN included) and messages;
* the typed path really is taken for such files (the generic one is never called);
* whatever the typed decoder rejects falls back to the generic path: a valid-but-unusual file
  (float-valued ids, booleans as numbers) loads as before, a broken one gives the one-line
  ``file: record: problem`` message, never a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from detlens.core.io import InputError, coco, load_dataset

ARRAYS = ("img_ids", "img_names", "img_stems", "img_w", "img_h", "cat_ids", "cat_names",
          "box_img", "box_cat", "boxes", "scores", "iscrowd", "areas", "ids")


def random_number(rng: np.random.Generator):
    """An int or a float as JSON writers produce them (whole floats, decimals, exponents)."""
    kind = rng.integers(5)
    if kind == 0:
        return int(rng.integers(-5, 1000))
    if kind == 1:
        return float(rng.integers(0, 1000))  # 12.0
    if kind == 2:
        return round(float(rng.uniform(0, 1000)), int(rng.integers(0, 6)))
    if kind == 3:
        return float(rng.uniform(0, 1)) * 10.0 ** int(rng.integers(-20, 20))
    return float(rng.uniform(0, 1000))  # 17 significant digits


def random_extras(rng: np.random.Generator, k: int) -> dict:
    """Extra annotation fields: some numeric throughout, some with nulls, some not numeric everywhere."""
    out = {}
    if rng.random() < 0.8:
        out["ignore"] = int(rng.integers(0, 2))
    if rng.random() < 0.5:
        out["custom score"] = random_number(rng)  # a key that is no Python identifier
    if rng.random() < 0.3:
        out["maybe"] = None if rng.random() < 0.5 else random_number(rng)
    if rng.random() < 0.2:
        out["tag"] = "x" if k % 7 == 0 else 3  # a string somewhere: dropped
    if rng.random() < 0.1:
        out["flag"] = bool(rng.random() < 0.5) if k % 3 == 0 else 1  # a boolean somewhere: dropped
    if k > 20 and rng.random() < 0.05:
        out["late_metric"] = random_number(rng)  # first seen far from record 0
    if rng.random() < 0.1:
        out["segmentation"] = [[random_number(rng) for _ in range(6)]]
    if rng.random() < 0.05:
        out["keypoints"] = [1, 2, 2]
    if rng.random() < 0.05:
        out["extra_0"] = random_number(rng)  # the typed path's own attribute prefix
    return out


def random_bbox(rng: np.random.Generator) -> list:
    return [random_number(rng) if rng.random() < 0.3 else round(float(rng.uniform(0, 500)), 2),
            round(float(rng.uniform(0, 400)), 3),
            abs(random_number(rng)) + 0.5, int(rng.integers(1, 90))]


def random_dataset(rng: np.random.Generator, n_images: int, n_anns: int, *, scores: bool) -> dict:
    images = []
    for i in rng.permutation(n_images) + 1:
        img = {"id": int(i) * 3, "file_name": f"dir/img{i:05d}.jpg"}
        if rng.random() < 0.8:
            img["width"], img["height"] = 1000 + int(rng.integers(0, 9)), 900.5
        if rng.random() < 0.3:
            img.update(license=1, coco_url="http://x/y.jpg", date_captured="2013-11-14")
        if rng.random() < 0.1:
            img["my_image_field"] = {"nested": [1, 2.5, None]}
        images.append(img)
    cats = [{"id": c * 10, "name": f"class {c}", "supercategory": "thing"} for c in range(1, 6)]
    anns = []
    for k in range(n_anns):
        a = {"id": 1000 + k, "image_id": int(rng.integers(1, n_images + 1)) * 3,
             "category_id": int(rng.integers(1, 6)) * 10, "bbox": random_bbox(rng)}
        if rng.random() < 0.5:
            a["area"] = random_number(rng) if rng.random() < 0.9 else int(rng.integers(1, 50))
        if rng.random() < 0.5:
            a["iscrowd"] = int(rng.random() < 0.2)
        if scores:
            a["score"] = random_number(rng)
        elif rng.random() < 0.1:
            a["score"] = "ignored in labels"
        a.update(random_extras(rng, k))
        anns.append(a)
    return {"info": {"year": 2026, "description": "é ✓"}, "licenses": [{"id": 1}], "images": images,
            "annotations": anns, "categories": cats, "type": "instances"}


def random_results(rng: np.random.Generator, n: int) -> list:
    recs = []
    for k in range(n):
        r = {"image_id": int(rng.integers(1, 40)) * 3, "category_id": int(rng.integers(1, 6)) * 10,
             "bbox": random_bbox(rng), "score": random_number(rng)}
        if rng.random() < 0.1:
            r["id"] = k + 1
        r.update(random_extras(rng, k))
        recs.append(r)
    return recs


def typed_part(path: Path, role: str):
    """The typed path's Part, asserting it did not fall back."""
    part = coco.load_typed(path.read_bytes(), path.name, role)
    assert part is not None, "typed decoder fell back"
    return part


def generic_part(path: Path, role: str):
    return coco.load_generic(path.read_bytes(), path.name, role)


def assert_same(a, b) -> None:
    for name in ARRAYS:
        x, y = getattr(a, name), getattr(b, name)
        if x is None or y is None:
            assert x is None and y is None, name
            continue
        assert x.dtype == y.dtype and x.shape == y.shape, name
        if x.dtype == object:
            assert x.tolist() == y.tolist(), name
        else:
            assert x.tobytes() == y.tobytes(), name  # bit for bit, NaN and -0.0 included
    assert (a.file, a.has_ids, a.results_list) == (b.file, b.has_ids, b.results_list)
    assert sorted(a.extra) == sorted(b.extra)
    for k in a.extra:
        assert a.extra[k].tobytes() == b.extra[k].tobytes(), k
    n = len(a.boxes)
    for i in sorted({0, n // 2, n - 1} if n else set()):
        assert a.describe(i) == b.describe(i)


@pytest.mark.parametrize("seed", range(6))
def test_typed_equals_generic_on_random_files(tmp_path, seed):
    rng = np.random.default_rng(seed)
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps(random_dataset(rng, 40, 300, scores=False)))
    ds_pred = tmp_path / "dspred.json"
    ds_pred.write_text(json.dumps(random_dataset(rng, 30, 250, scores=True)))
    res = tmp_path / "res.json"
    res.write_text(json.dumps(random_results(rng, 400)))
    for path, role in ((gt, "labels"), (ds_pred, "predictions"), (res, "predictions")):
        typed, generic = typed_part(path, role), generic_part(path, role)
        assert_same(typed, generic)
    assert "ignore" in typed.extra  # extras really are exercised


def test_extras_keep_every_field_seen_anywhere(tmp_path):
    """Two records with the same number of keys but different extras: both fields survive."""
    res = [{"image_id": 1, "category_id": 1, "bbox": [1, 1, 2, 2], "score": 0.5, "a": 1},
           {"image_id": 1, "category_id": 1, "bbox": [1, 1, 2, 2], "score": 0.5, "b": 2.5}]
    path = tmp_path / "res.json"
    path.write_text(json.dumps(res))
    for part in (typed_part(path, "predictions"), generic_part(path, "predictions")):
        assert sorted(part.extra) == ["a", "b"]
        np.testing.assert_array_equal(part.extra["a"], [1.0, np.nan])
        np.testing.assert_array_equal(part.extra["b"], [np.nan, 2.5])


def test_escaped_keys_and_ids_in_messages(tmp_path):
    """Keys spelled with escapes, ids of any JSON type in a results list: same columns, same messages."""
    text = ('[{"image_id": 1, "category_id": 1, "bbox": [1, 1, 2, 2], "score": 0.5, "\\u0069d": "r-1"},'
            ' {"image_\\u0069d": 2, "category_id": 1, "bbox": [1, 1, 2, 2], "score": 0.5, "\\u00e9t\\u00e9": 3},'
            ' {"image_id": 2, "category_id": 1, "bbox": [1, 1, 2, 2], "score": 0.5, "id": {"k": [1]}}]')
    path = tmp_path / "res.json"
    path.write_text(text)
    typed, generic = typed_part(path, "predictions"), generic_part(path, "predictions")
    assert_same(typed, generic)
    assert typed.describe(0) == ("res.json", "result #0 (id 'r-1')") and typed.box_img.tolist() == [1, 2, 2]
    assert typed.describe(1) == ("res.json", "result #1") and typed.extra["été"][1] == 3.0


def test_empty_results_list_and_dataset_without_annotations(tmp_path):
    res, gt = tmp_path / "res.json", tmp_path / "gt.json"
    res.write_text(" [ ] ")
    gt.write_text(json.dumps({"images": [{"id": 1, "file_name": "a.jpg"}], "categories": [{"id": 1, "name": "x"}],
                              "annotations": []}))
    assert_same(typed_part(res, "predictions"), generic_part(res, "predictions"))
    assert_same(typed_part(gt, "labels"), generic_part(gt, "labels"))
    assert_same(typed_part(gt, "predictions"), generic_part(gt, "predictions"))


def test_benchmark_shaped_files_never_touch_the_generic_path(tmp_path, monkeypatch):
    from detlens.core.demo import DemoConfig, generate_annotations

    gt, results = generate_annotations(DemoConfig.preset("benchmark", n_images=30))
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "res.json").write_text(json.dumps(results))

    def boom(*args):
        raise AssertionError("generic path used")

    monkeypatch.setattr(coco, "load_generic", boom)
    ds = load_dataset(tmp_path / "gt.json", tmp_path / "res.json")
    assert len(ds.predictions) == len(results) and len(ds.labels) == len(gt["annotations"])


GT = {
    "images": [{"id": 1, "file_name": "a.jpg", "width": 100, "height": 80},
               {"id": 2, "file_name": "b.jpg", "width": 100, "height": 80}],
    "categories": [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}],
    "annotations": [{"id": 10, "image_id": 1, "category_id": 1, "bbox": [1, 2, 30, 40]},
                    {"id": 11, "image_id": 2, "category_id": 2, "bbox": [5, 5, 10, 10], "iscrowd": 1}],
}


def results(n: int = 20) -> list[dict]:
    return [{"image_id": 1 + k % 2, "category_id": 1 + k % 2, "bbox": [1, 2, 30, 40], "score": 0.5} for k in range(n)]


def text_with(index: int, key: str, raw: str, n: int = 20) -> str:
    """A results list whose record ``index`` has ``key`` set to the raw JSON text ``raw``."""
    recs = results(n)
    recs[index][key] = "@@"
    return json.dumps(recs).replace('"@@"', raw)


# (case id, predictions text, substrings of the one-line message)
BROKEN = [
    ("truncated", json.dumps(results())[:-30], ["pred.json", "line 1, column", "malformed JSON"]),
    ("bbox-string", text_with(12, "bbox", '"1,2,3,4"'), ["pred.json", "result #12", "bbox must be a list of 4 numbers"]),
    ("bbox-3", text_with(12, "bbox", "[1, 2, 3]"), ["result #12", "bbox must be a list of 4 numbers"]),
    ("bbox-null", text_with(3, "bbox", "[1, null, 3, 4]"), ["result #3", "bbox"]),
    ("score-null", text_with(5, "score", "null"), ["result #5", "'score' must be a number, got None"]),
    ("score-string", text_with(19, "score", '"0.5"'), ["result #19", "'score' must be a number"]),
    ("image-id-fraction", text_with(7, "image_id", "1.5"), ["result #7", "'image_id' must be an integer, got 1.5"]),
    ("image-ids-all-bool", json.dumps(results(2)).replace('"image_id": 1', '"image_id": true').replace('"image_id": 2', '"image_id": false'),
     ["result #0", "'image_id' must be an integer, got True"]),
    ("score-infinite", text_with(4, "score", "1e999"), ["pred.json", "line 1, column", "infinity"]),
    ("extra-infinite", text_with(4, "custom", "-1e999"), ["pred.json", "line 1, column", "infinity"]),
    ("ignored-infinite", text_with(4, "segmentation", "[[1e999]]"), ["pred.json", "line 1, column", "infinity"]),
    ("width-negative", text_with(9, "bbox", "[1, 2, -3, 4]"), ["result #9", "width must be > 0, got -3"]),
    ("record-not-object", text_with(0, "x", "1").replace('{"image_id": 1, "category_id": 1, "bbox": [1, 2, 30, 40], "score": 0.5, "x": 1}', "7"),
     ["result #0", "expected a JSON object, got 7"]),
    ("lone-surrogate", text_with(2, "note", '"\\ud800"'), ["pred.json", "line 1, column", "malformed JSON"]),
    ("trailing-comma", json.dumps(results())[:-1] + ", ]", ["pred.json", "line 1, column", "malformed JSON"]),
    ("unknown-image", text_with(6, "image_id", "99"), ["result #6", "image_id 99 is not in the images of gt.json"]),
]


@pytest.mark.parametrize(("text", "parts"), [c[1:] for c in BROKEN], ids=[c[0] for c in BROKEN])
def test_broken_results_give_one_line_errors(tmp_path, text, parts):
    (tmp_path / "gt.json").write_text(json.dumps(GT))
    (tmp_path / "pred.json").write_text(text)
    with pytest.raises(InputError) as info:
        load_dataset(tmp_path / "gt.json", tmp_path / "pred.json")
    msg = str(info.value)
    assert "\n" not in msg and "Traceback" not in msg
    for p in parts:
        assert p in msg, f"{p!r} not in {msg!r}"


def test_missing_field_in_a_dataset_names_the_annotation(tmp_path):
    doc = json.loads(json.dumps(GT))
    del doc["annotations"][1]["bbox"]
    (tmp_path / "gt.json").write_text(json.dumps(doc))
    with pytest.raises(InputError, match=r"^gt\.json: annotation #1 \(id 11\): missing field 'bbox'$"):
        load_dataset(tmp_path / "gt.json")


@pytest.mark.parametrize("where", ["image", "annotation", "top"])
def test_invalid_utf8_anywhere_is_rejected_as_before(tmp_path, where):
    doc = json.loads(json.dumps(GT))
    target = {"image": doc["images"][0], "annotation": doc["annotations"][0], "top": doc}[where]
    target["note"] = "@@"
    (tmp_path / "gt.json").write_bytes(json.dumps(doc).encode().replace(b"@@", b"\xff\xfe"))
    with pytest.raises(InputError, match="gt.json: line 1, column .*malformed JSON"):
        load_dataset(tmp_path / "gt.json")


def test_unusual_but_valid_values_fall_back_and_load_as_before(tmp_path, monkeypatch):
    """Float-valued ids, a boolean among numbers, a key repeated: the generic path decides, as it always did."""
    text = json.dumps(results(4)).replace('"image_id": 2', '"image_id": 2.0', 1)
    text = text.replace('"bbox": [1, 2, 30, 40]', '"bbox": [true, 2, 30, 40]', 1)
    (tmp_path / "gt.json").write_text(json.dumps(GT))
    (tmp_path / "pred.json").write_text(text)
    assert coco.load_typed(text.encode(), "pred.json", "predictions") is None
    ds = load_dataset(tmp_path / "gt.json", tmp_path / "pred.json", clip=False)
    assert ds.predictions.image_index.tolist() == [0, 1, 0, 1]
    assert ds.predictions.boxes[0].tolist() == [1.0, 2.0, 30.0, 40.0]


@pytest.mark.filterwarnings("ignore:invalid value encountered in cast")
def test_integers_beyond_int64_fall_back(tmp_path):
    text = text_with(3, "image_id", str(2**63 + 5))
    assert coco.load_typed(text.encode(), "pred.json", "predictions") is None
    (tmp_path / "gt.json").write_text(json.dumps(GT))
    (tmp_path / "pred.json").write_text(text)
    with pytest.raises(InputError, match="pred.json: result #3"):
        load_dataset(tmp_path / "gt.json", tmp_path / "pred.json")


def test_many_unknown_fields_fall_back_and_still_load(tmp_path):
    recs = results(3)
    for k in range(coco.MAX_LEARNED + 5):
        recs[1][f"m{k}"] = k
    path = tmp_path / "pred.json"
    path.write_text(json.dumps(recs))
    assert coco.load_typed(path.read_bytes(), "pred.json", "predictions") is None
    part = coco.load_coco(path, "predictions")
    assert len(part.extra) == coco.MAX_LEARNED + 5 and part.extra["m3"][1] == 3.0


@pytest.mark.parametrize("image_ids", [[1, 2, 3, 7], [0, 5, 9], [-4, 2, 3], [3, 10**12]])
def test_results_find_their_images_by_table_or_by_search(tmp_path, image_ids):
    """Dense ids are looked up in a table, others by binary search: same indices, same messages."""
    gt = {"images": [{"id": i, "file_name": f"{k}.jpg"} for k, i in enumerate(image_ids)],
          "categories": [{"id": 1, "name": "a"}], "annotations": []}
    refs = [image_ids[k % len(image_ids)] for k in range(50)]
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    res = tmp_path / "res.json"
    res.write_text(json.dumps([{"image_id": i, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 1} for i in refs]))
    ds = load_dataset(tmp_path / "gt.json", res)
    assert ds.predictions.image_index.tolist() == [sorted(image_ids).index(i) for i in refs]
    for bad in (-1, 4, 8, 11, 10**12 + 1, -5):
        if bad in image_ids:
            continue
        wrong = list(refs)
        wrong[17] = bad
        res.write_text(json.dumps([{"image_id": i, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 1} for i in wrong]))
        with pytest.raises(InputError, match=rf"^res.json: result #17: image_id {bad} is not in the images of gt.json$"):
            load_dataset(tmp_path / "gt.json", res)
