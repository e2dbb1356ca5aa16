"""Every importer loads the reference data sets, and the formats agree."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from detlens.core.io import load_dataset
from detlens.core.io.common import stem_of

TOY = "review_toy"
TOY_DETS = [
    ("dets_classname_abs_xywh", "xywh"),
    ("dets_classname_abs_xyx2y2", "xyxy"),
    ("dets_classid_abs_xywh", "xywh"),
    ("dets_classid_abs_xyx2y2", "xyxy"),
    ("dets_classname_rel_xcycwh", "xyxy"),  # detected as YOLO (normalised)
    ("dets_classid_rel_xcycwh", "xyxy"),
    ("dets_coco_format/coco_dets.json", "xyxy"),
]


def per_image(ds, table: str, ndigits: int = 0) -> dict[str, list[tuple]]:
    """``{image stem: sorted [(class, x, y, w, h, score)]}`` with rounded boxes."""
    t = getattr(ds, table)
    out: dict[str, list[tuple]] = defaultdict(list)
    for i in range(len(t)):
        stem = stem_of(str(ds.images.file_names[t.image_index[i]]))
        box = tuple(round(float(v), ndigits) for v in t.boxes[i])
        out[stem].append((str(ds.category_names[t.category_index[i]]), *box, round(float(t.scores[i]), 4)))
    return {k: sorted(v) for k, v in out.items()}


def assert_same(got: dict, ref: dict, atol: float) -> None:
    """Same images, classes and scores; boxes equal up to ``atol`` pixels."""
    assert got.keys() == ref.keys()
    for stem in ref:
        a, b = got[stem], ref[stem]
        assert [(r[0], r[5]) for r in a] == [(r[0], r[5]) for r in b], stem
        np.testing.assert_allclose([r[1:5] for r in a], [r[1:5] for r in b], atol=atol, err_msg=stem)


def check_shapes(ds) -> None:
    n = len(ds.images)
    assert ds.images.ids.dtype == np.int64 and np.all(np.diff(ds.images.ids) > 0)
    assert ds.images.widths.shape == (n,) and ds.images.widths.dtype == np.float64
    assert np.all(np.diff(ds.category_ids) > 0)
    assert len(set(ds.category_names.tolist())) == ds.n_categories
    for t in (ds.labels, ds.predictions):
        m = len(t)
        assert t.boxes.shape == (m, 4) and t.boxes.dtype == np.float64
        assert t.image_index.dtype == np.int64 and t.category_index.dtype == np.int64
        assert t.scores.shape == (m,) and t.iscrowd.dtype == bool and t.areas.shape == (m,)
        assert np.all(t.boxes[:, 2:] > 0)
        if m:
            assert t.image_index.max() < n and t.category_index.max() < ds.n_categories
    assert len(ds.fingerprint) == 64


@pytest.fixture(scope="module")
def toy_reference(refdata: Path):
    ds = load_dataset(refdata / TOY / "gts_vocpascal_format", refdata / TOY / "dets_classname_abs_xywh", box_format="xywh", clip=False)
    return per_image(ds, "labels", 6), per_image(ds, "predictions", 6)


@pytest.mark.parametrize("labels", ["gts_vocpascal_format", "gts_coco_format/toy_example_coco.JSON"])
@pytest.mark.parametrize(("dets", "box_format"), TOY_DETS)
def test_review_toy_all_formats_agree(refdata, toy_reference, labels, dets, box_format):
    ds = load_dataset(refdata / TOY / labels, refdata / TOY / dets, box_format=box_format, clip=False,
                      images_dir=refdata / TOY / "images")
    check_shapes(ds)
    assert len(ds.labels) == 12 and len(ds.predictions) == 12
    assert per_image(ds, "labels", 6) == toy_reference[0]
    # relative formats carry 6 decimals: within a pixel of the absolute ones
    assert_same(per_image(ds, "predictions", 6), toy_reference[1], atol=1.0)


def test_review_toy_yolo_layout_warning(refdata):
    ds = load_dataset(refdata / TOY / "gts_vocpascal_format", refdata / TOY / "dets_classid_rel_xcycwh")
    assert any("class conf xc yc w h" in w for w in ds.warnings)
    assert any("read from voc.names" in w for w in ds.warnings)


def test_review_toy_clipping_warning(refdata):
    ds = load_dataset(refdata / TOY / "gts_coco_format/toy_example_coco.JSON", refdata / TOY / "dets_coco_format/coco_dets.json")
    clip = [w for w in ds.warnings if "clipped" in w]
    assert len(clip) == 1 and clip[0].startswith("2 boxes extend beyond their image and were clipped")
    xyxy = ds.predictions.xyxy
    assert np.all(xyxy[:, 2] <= ds.images.widths[ds.predictions.image_index])
    assert np.all(xyxy[:, 3] <= ds.images.heights[ds.predictions.image_index])
    unclipped = load_dataset(refdata / TOY / "gts_coco_format/toy_example_coco.JSON", refdata / TOY / "dets_coco_format/coco_dets.json", clip=False)
    assert not any("clipped" in w for w in unclipped.warnings)
    assert unclipped.fingerprint != ds.fingerprint


def test_padilla_7img(refdata):
    root = refdata / "padilla_7img"
    ds = load_dataset(root / "groundtruths", root / "detections", box_format="xywh")
    check_shapes(ds)
    assert (len(ds.images), len(ds.labels), len(ds.predictions)) == (7, 15, 24)
    assert ds.category_names.tolist() == ["person"]
    assert np.isnan(ds.images.widths).all()
    first = ds.images.file_names.tolist().index("00001.jpg")
    assert ds.labels.boxes[ds.labels.image_index == first].tolist() == [[25, 16, 38, 56], [129, 123, 41, 62]]
    assert ds.predictions.scores[ds.predictions.image_index == first].tolist() == [0.88, 0.70, 0.80]


def test_cartucho_map(refdata):
    root = refdata / "cartucho_map"
    ds = load_dataset(root / "ground-truth", root / "detection-results")
    check_shapes(ds)
    assert (len(ds.images), len(ds.labels), len(ds.predictions)) == (85, 686, 494)
    assert len(np.unique(ds.labels.category_index)) == 30
    assert len(np.unique(ds.predictions.category_index)) == 36
    assert ds.category_names.tolist() == sorted(ds.category_names.tolist())
    # "pictureframe 176 206 225 266" is the first line of 2007_000027.txt
    img = ds.images.file_names.tolist().index("2007_000027.jpg")
    assert ds.labels.boxes[ds.labels.image_index == img][0].tolist() == [176, 206, 49, 60]


def test_cartucho_with_images_gets_sizes(refdata):
    root = refdata / "cartucho_map"
    ds = load_dataset(root / "ground-truth", None, images_dir=root / "images-optional")
    assert np.isfinite(ds.images.widths).all() and len(ds.predictions) == 0


def test_review_voc100_matched_by_name(refdata):
    root = refdata / "review_voc100"
    gt = root / "gts/coco_format_v1/instances_default.json"
    ds = load_dataset(gt, root / "dets/coco_format/coco_dets.json", clip=False)
    ref = load_dataset(gt, root / "DERIVED_dets_results_for_coco_format_v1_gt.json", clip=False)
    check_shapes(ds)
    assert any("matched" in w and "file_name" in w for w in ds.warnings)
    assert not any("matched" in w for w in ref.warnings)
    assert len(ds.predictions) == len(ref.predictions) == 452
    assert per_image(ds, "predictions", 6) == per_image(ref, "predictions", 6)
    # same per-image order too (file order is kept within each image)
    for a, b in ((ds, ref),):
        for k in range(len(a.images)):
            sa, sb = a.predictions.image_index == k, b.predictions.image_index == k
            np.testing.assert_array_equal(a.predictions.boxes[sa], b.predictions.boxes[sb])
            np.testing.assert_array_equal(a.predictions.scores[sa], b.predictions.scores[sb])


@pytest.mark.parametrize("labels", ["gts/yolo_format/obj_train_data", "gts/pascalvoc_format", "gts/coco_format_v2/instances_v2.json"])
def test_review_voc100_label_formats_agree(refdata, labels):
    root = refdata / "review_voc100"
    ref = per_image(load_dataset(root / "gts/coco_format_v1/instances_default.json"), "labels", 6)
    ds = load_dataset(root / labels, images_dir=root / "images")
    check_shapes(ds)
    assert len(ds.labels) == 273
    assert_same(per_image(ds, "labels", 6), ref, atol=1.0)


@pytest.mark.parametrize(
    ("gt", "res"),
    [
        ("instances_val2014_100.json", "instances_val2014_fakebbox100_results.json"),
        ("review_nocrowd_variant/sampled_gts_bbox_area.json", "review_nocrowd_variant/sampled_bbox_results.json"),
    ],
)
def test_coco_val2014_matches_pycocotools(refdata, gt, res):
    pytest.importorskip("pycocotools")
    from pycocotools.coco import COCO
    import contextlib, io

    root = refdata / "coco_val2014_100"
    ds = load_dataset(root / gt, root / res)
    check_shapes(ds)
    assert ds.warnings == ()
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(str(root / gt))
        import json

        dt_src = json.loads((root / res).read_text())
        dets = coco.loadRes(dt_src if isinstance(dt_src, list) else dt_src["annotations"])
    assert ds.images.ids.tolist() == sorted(coco.getImgIds())
    assert ds.category_ids.tolist() == sorted(coco.getCatIds())
    assert len(ds.labels) == len(coco.getAnnIds())
    assert len(ds.predictions) == len(dets.getAnnIds())
    for k, img_id in enumerate(ds.images.ids.tolist()):
        for table, api in ((ds.labels, coco), (ds.predictions, dets)):
            anns = api.loadAnns(api.getAnnIds(imgIds=[img_id]))
            sel = table.image_index == k
            np.testing.assert_array_equal(table.boxes[sel], np.array([a["bbox"] for a in anns]).reshape(-1, 4))
            np.testing.assert_array_equal(table.areas[sel], [a["area"] for a in anns])
            np.testing.assert_array_equal(table.iscrowd[sel], [bool(a["iscrowd"]) for a in anns])
            np.testing.assert_array_equal(ds.category_ids[table.category_index[sel]], [a["category_id"] for a in anns])
    assert ds.labels.iscrowd.sum() == sum(a["iscrowd"] for a in coco.dataset["annotations"])


def test_fingerprint_is_content_based(refdata):
    root = refdata / "review_voc100"
    a = load_dataset(root / "gts/coco_format_v1/instances_default.json", root / "DERIVED_dets_results_for_coco_format_v1_gt.json")
    b = load_dataset(root / "gts/coco_format_v1/instances_default.json", root / "DERIVED_dets_results_for_coco_format_v1_gt.json")
    c = load_dataset(root / "gts/coco_format_v1/instances_default.json")
    assert a.fingerprint == b.fingerprint != c.fingerprint
