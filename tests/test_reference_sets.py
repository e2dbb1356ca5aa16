"""Published and independently computed numbers from tests/data/refdata (see its SOURCES.txt and README.md)."""

import numpy as np
import pytest

from detlens.core.evaluation import Evaluator
from detlens.core.io import load_dataset
from tests.pycoco_reference import pycocotools_per_class
from tests.refdata import REFDATA, expected


def coco_val() -> tuple:
    import json

    folder = REFDATA / "coco_val2014_100"
    gt = json.loads((folder / "instances_val2014_100.json").read_text())
    results = json.loads((folder / "instances_val2014_fakebbox100_results.json").read_text())
    ds = load_dataset(folder / "instances_val2014_100.json", folder / "instances_val2014_fakebbox100_results.json")
    return ds, gt, results


@pytest.mark.parametrize("iou, stat_index", [(0.5, 1), (0.75, 2)])
def test_coco_val2014_matches_published_stats_and_live_pycocotools(iou, stat_index):
    ds, gt, results = coco_val()
    result = Evaluator(ds).evaluate(iou)
    published = expected("coco_val2014_100")[
        "instances_val2014_100.json + instances_val2014_fakebbox100_results.json"
    ]["faster_coco_eval tests/test_cocoapi_fake_data.py (10 d.p.)"][stat_index]
    assert result.m_ap == pytest.approx(published, abs=1e-12)
    live = pycocotools_per_class(gt, results, iou)
    by_id = dict(zip(ds.category_names, ds.category_ids))
    for c in result.per_class:
        ref_ap, ref_ar = live[int(by_id[c.name])]
        if np.isnan(ref_ap):
            assert np.isnan(c.ap)
        else:
            assert abs(c.ap - ref_ap) <= 1e-12 and abs(c.ar - ref_ar) <= 1e-12, c.name


REVIEW_TOY = expected("review_toy")


@pytest.mark.parametrize("dets", ["dets_classname_abs_xywh", "dets_coco_format"])
@pytest.mark.parametrize(
    "iou, method, key",
    [(0.5, "voc_all_point", "VOC_all_point_AP"), (0.75, "voc_all_point", "VOC_all_point_AP"),
     (0.5, "voc_11_point", "VOC_11_point_AP"), (0.75, "voc_11_point", "VOC_11_point_AP")],
)
def test_review_toy_published_voc_ap(dets, iou, method, key):
    if dets == "dets_coco_format":
        labels, dets = "gts_coco_format/toy_example_coco.JSON", "dets_coco_format/coco_dets.json"
    else:
        labels = "gts_vocpascal_format"
    ds = load_dataset(REFDATA / "review_toy" / labels, REFDATA / "review_toy" / dets, box_format="xywh")
    result = Evaluator(ds).evaluate(iou, ap_method=method, match_method="voc", max_dets=None)
    published = REVIEW_TOY[key][f"iou_{iou:.2f}"]
    exact = REVIEW_TOY["reproduced_here_exact"]["all_point" if "all" in method else "11_point"][f"{iou:.2f}"]
    assert round(result.m_ap, 4) == published
    assert result.m_ap == pytest.approx(exact, abs=5e-7)


@pytest.mark.parametrize("iou", [0.5, 0.75])
def test_review_toy_coco_label_id_zero(iou, tmp_path):
    """The toy COCO labels use annotation id 0. pycocotools stores matched ids in a zero-filled
    array, so a match to label id 0 counts as a false positive there (EXPECTED's numbers show it);
    detlens matches by row, warns, and equals pycocotools once the ids are shifted by one."""
    import json

    folder = REFDATA / "review_toy"
    gt = json.loads((folder / "gts_coco_format/toy_example_coco.JSON").read_text())
    dets = json.loads((folder / "dets_coco_format/coco_dets.json").read_text())
    results = [{k: a[k] for k in ("image_id", "category_id", "bbox", "score")} for a in dets["annotations"]]
    # two detections stick out of their image: keep them as given, as pycocotools does
    ds = load_dataset(folder / "gts_coco_format/toy_example_coco.JSON", folder / "dets_coco_format/coco_dets.json",
                      clip=False)
    assert any("annotation id 0" in w for w in ds.warnings)
    result = Evaluator(ds).evaluate(iou)
    quirky = REVIEW_TOY["NOT_PUBLISHED_computed_here_pycocotools_2.0.11_on_coco_jsons"]
    assert pycocotools_per_class(gt, results, iou)[0][0] == pytest.approx(quirky[f"AP101_iou{iou:.2f}"], abs=5e-7)
    for ann in gt["annotations"]:
        ann["id"] += 1
    ref_ap, ref_ar = pycocotools_per_class(gt, results, iou)[0]
    assert abs(result.m_ap - ref_ap) <= 1e-12 and abs(result.m_ar - ref_ar) <= 1e-12
    assert result.m_ap > quirky[f"AP101_iou{iou:.2f}"]


PADILLA = expected("padilla_7img")["review_repo_tests/test_eval_pascal.py @2efe66d2"]


@pytest.mark.parametrize("method, key", [("voc_all_point", "all_point"), ("voc_11_point", "11_point")])
@pytest.mark.parametrize("iou", ["0.1", "0.3", "0.5", "0.75"])
@pytest.mark.parametrize("match", ["coco", "voc"])
def test_padilla_worked_example(method, key, iou, match):
    folder = REFDATA / "padilla_7img"
    ds = load_dataset(folder / "groundtruths", folder / "detections", box_format="xywh")
    result = Evaluator(ds).evaluate(float(iou), ap_method=method, match_method=match, max_dets=None,
                                    pixel_plus_one=True)
    assert result.m_ap == pytest.approx(PADILLA[key][iou], abs=1e-9)


def test_padilla_readme_values_at_iou_0_3():
    folder = REFDATA / "padilla_7img"
    ds = load_dataset(folder / "groundtruths", folder / "detections", box_format="xywh")
    ev = Evaluator(ds)
    readme = expected("padilla_7img")["README_worked_example_IoU_0.30"]
    for method, key in (("voc_all_point", "all_point"), ("voc_11_point", "11_point")):
        ap = ev.evaluate(0.3, ap_method=method, match_method="voc", max_dets=None, pixel_plus_one=True).m_ap
        # the README prints 24.56% (truncated) and 26.84% (rounded): within one unit of the 4th decimal
        assert abs(ap - readme[key]) <= 1e-4


def test_cartucho_published_map_and_per_class():
    folder = REFDATA / "cartucho_map"
    ref = expected("cartucho_map")
    ds = load_dataset(folder / "ground-truth", folder / "detection-results")
    result = Evaluator(ds).evaluate(0.5, ap_method="voc_all_point", match_method="voc", max_dets=None,
                                    pixel_plus_one=True)
    assert round(result.m_ap, 4) == ref["mAP"]
    assert result.m_ap == pytest.approx(ref["sensitivity_computed_here"]["mAP_all_point_plus1"], abs=5e-7)
    per_class = {c.name: c.ap for c in result.per_class if not np.isnan(c.ap)}
    assert set(per_class) == set(ref["per_class_AP_percent"])
    for name, percent in ref["per_class_AP_percent"].items():
        assert round(per_class[name] * 100, 2) == pytest.approx(percent, abs=1e-9), name


@pytest.mark.parametrize("plus_one, key", [(False, "mAP_all_point_no_plus1"), (True, "mAP_all_point_plus1")])
def test_cartucho_pixel_convention_sensitivity(plus_one, key):
    folder = REFDATA / "cartucho_map"
    ds = load_dataset(folder / "ground-truth", folder / "detection-results")
    result = Evaluator(ds).evaluate(0.5, ap_method="voc_all_point", match_method="voc", max_dets=None,
                                    pixel_plus_one=plus_one)
    assert result.m_ap == pytest.approx(expected("cartucho_map")["sensitivity_computed_here"][key], abs=5e-7)


VOC100 = expected("review_voc100", "EXPECTED_computed_not_published.json")["NOT_PUBLISHED_computed_here"]


@pytest.mark.parametrize("dets", ["dets/coco_format/coco_dets.json", "DERIVED_dets_results_for_coco_format_v1_gt.json"])
@pytest.mark.parametrize("iou", ["0.5", "0.75"])
def test_review_voc100_foreign_ids_matched_by_name(dets, iou):
    folder = REFDATA / "review_voc100"
    ds = load_dataset(folder / "gts/coco_format_v1/instances_default.json", folder / dets)
    if dets.startswith("dets/"):
        assert any("file_name" in w for w in ds.warnings)
    result = Evaluator(ds).evaluate(float(iou))
    ref = VOC100[f"pycocotools_iouThrs=[{iou}]"]
    assert result.m_ap == pytest.approx(ref["mAP_101pt"], abs=5e-7)
    assert result.m_ar == pytest.approx(ref["mAR_maxDets100"], abs=5e-7)


@pytest.mark.parametrize(
    "iou, plus_one, key",
    [(0.5, False, "iou0.50"), (0.75, False, "iou0.75_no_plus1"), (0.75, True, "iou0.75_plus1_pixel")],
)
def test_review_voc100_voc_style(iou, plus_one, key):
    folder = REFDATA / "review_voc100"
    ds = load_dataset(folder / "gts/coco_format_v1/instances_default.json", folder / "dets/coco_format/coco_dets.json")
    ev = Evaluator(ds)
    ref = VOC100["VOC_style_mAP_20_classes"][key]
    for method, name in (("voc_all_point", "all_point"), ("voc_11_point", "11_point")):
        r = ev.evaluate(iou, ap_method=method, match_method="voc", max_dets=None, pixel_plus_one=plus_one)
        assert r.m_ap == pytest.approx(ref[name], abs=5e-7)
        assert r.counts["TP"] == ref["TP"]
