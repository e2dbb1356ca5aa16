"""``detlens evaluate --errors`` and ``detlens thresholds`` on real files: JSON shape, hotcoco's numbers, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from detlens.core.demo import DemoConfig, generate, to_coco
from detlens.core.vocabulary import ErrorType, TideOracle
from tests.hotcoco_reference import hotcoco_eval
from tests.test_overwrites import assert_one_line_error, detlens

CLASSES = {"ellipse", "rectangle", "triangle", "cross"}
BUCKETS = 3


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("errors-cli")
    gt, results = to_coco(generate(DemoConfig(n_images=40)))
    paths = {"labels": folder / "labels.json", "predictions": folder / "predictions.json",
             "logits": folder / "logits.json"}
    paths["labels"].write_text(json.dumps(gt))
    paths["predictions"].write_text(json.dumps(results))
    paths["logits"].write_text(json.dumps([{**r, "score": 4 * r["score"] - 1} for r in results]))
    return paths


@pytest.fixture(scope="module")
def errors_doc(files, tmp_path_factory) -> tuple[dict, str]:
    out = tmp_path_factory.mktemp("errors-out") / "errors.json"
    proc = detlens("evaluate", "--labels", files["labels"], "--predictions", files["predictions"], "--iou", "0.5",
                   "--errors", "--by-metric", "Object Area - Relative (L)", "--buckets", BUCKETS, "--json", out)
    assert proc.returncode == 0, proc.stderr
    return json.loads(out.read_text()), proc.stdout


def test_evaluate_errors_has_the_documented_shape(errors_doc):
    doc, stdout = errors_doc
    types, oracles = {e.value for e in ErrorType}, {o.value for o in TideOracle}
    assert set(doc["tide"]["delta_ap"]) == types | oracles and set(doc["tide"]["counts"]) == types
    assert set(doc["per_class_tide"]) == CLASSES
    assert all(set(c) == {"ap_base", "delta_ap", "counts"} for c in doc["per_class_tide"].values())
    assert doc["confusion"]["classes"][-1] == "background" and len(doc["confusion"]["classes"]) == len(CLASSES) + 1
    assert [len(row) for row in doc["confusion"]["matrix"]] == [len(CLASSES) + 1] * (len(CLASSES) + 1)
    assert set(doc["thresholds"]) == CLASSES
    assert all({"score", "precision", "recall", "F1"} <= set(t) for t in doc["thresholds"].values())
    assert {"ece", "mce", "bins"} <= set(doc["calibration"]) and len(doc["calibration"]["bins"]) == 10
    buckets = doc["by_metric"]["buckets"]
    assert len(buckets) == BUCKETS == len(doc["by_metric"]["edges"]) - 1
    for b in buckets:
        assert set(b) == {"low", "high", "tide", "ece"} and set(b["tide"]) == {"delta_ap", "counts"}
    for e in types:  # every error lies in one bucket (an object metric: each object has its own value)
        assert sum(b["tide"]["counts"][e] for b in buckets) == doc["tide"]["counts"][e]
    assert "TIDE errors at IoU 0.50" in stdout and "F1-optimal thresholds" in stdout and "Errors by" in stdout


def test_evaluate_errors_numbers_are_hotcocos(files, errors_doc):
    doc, _ = errors_doc
    ev = hotcoco_eval(files["labels"], files["predictions"], 0.5)
    tide = ev.tide_errors(pos_thr=0.5, bg_thr=0.1)
    assert doc["tide"]["counts"] == tide["counts"]
    for key, value in tide["delta_ap"].items():
        assert doc["tide"]["delta_ap"][key] == pytest.approx(value, abs=1e-12)
    assert doc["confusion"]["matrix"] == ev.confusion_matrix(iou_thr=0.5)["matrix"].tolist()
    assert doc["calibration"]["ece"] == pytest.approx(ev.calibration(n_bins=10, iou_threshold=0.5)["ece"], abs=1e-12)
    mean_f1 = sum(t["F1"] for t in doc["thresholds"].values()) / len(doc["thresholds"])
    assert mean_f1 == pytest.approx(ev.f_scores()["F1"], abs=1e-12)


def test_thresholds_command_writes_what_evaluate_reports(files, errors_doc, tmp_path):
    out = tmp_path / "thresholds.json"
    proc = detlens("thresholds", "--labels", files["labels"], "--predictions", files["predictions"], "--json", out)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text())
    assert doc["thresholds"] == errors_doc[0]["thresholds"]
    assert doc["iou_threshold"] == 0.5 and doc["beta"] == 1.0 and "mean_F1" in doc
    assert "F1-optimal thresholds at IoU 0.50" in proc.stdout


def test_thresholds_to_standard_output_with_beta(files):
    proc = detlens("thresholds", "--labels", files["labels"], "--predictions", files["predictions"],
                   "--beta", "2", "--classes", "cross,triangle", "--json", "-")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)  # the JSON alone; the table went to standard error
    assert set(doc["thresholds"]) == {"cross", "triangle"} and "F2" in doc["thresholds"]["cross"]
    assert "F2-optimal" in proc.stderr


def test_logits_leave_calibration_out_with_a_note(files, tmp_path):
    out = tmp_path / "e.json"
    proc = detlens("evaluate", "--labels", files["labels"], "--predictions", files["logits"], "--errors",
                   "--json", out)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.read_text())["calibration"] is None
    assert "calibration left out" in proc.stderr and "[0, 1]" in proc.stderr


BAD = [
    (("evaluate", "--errors", "--match", "voc"), ("--errors", "--match coco")),
    (("evaluate", "--errors", "--beta", "0"), ("--beta",)),
    (("evaluate", "--errors", "--calibration-bins", "0"), ("--calibration-bins",)),
    (("thresholds", "--beta", "-1", "--json", "-"), ("--beta",)),
    (("thresholds", "--iou", "1.5", "--json", "-"), ("--iou",)),
    (("thresholds", "--classes", "dragon", "--json", "-"), ("dragon",)),
    (("thresholds", "--max-dets", "0", "--json", "-"), ("--max-dets",)),
]


@pytest.mark.parametrize("args, words", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input_is_one_line(files, args, words):
    command, *rest = args
    proc = detlens(command, "--labels", files["labels"], "--predictions", files["predictions"], *rest)
    assert_one_line_error(proc, *words)
    assert proc.stdout == ""
