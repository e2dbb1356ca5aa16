"""The ``detlens`` console script, run as a real process."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.refdata import REFDATA, expected

DETLENS = str(Path(sys.executable).parent / "detlens")
COCO_VAL = REFDATA / "coco_val2014_100"


def detlens(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([DETLENS, *map(str, args)], capture_output=True, text=True, timeout=120)


def test_evaluate_json_document(tmp_path):
    out = tmp_path / "result.json"
    proc = detlens("evaluate", "--labels", COCO_VAL / "instances_val2014_100.json",
                   "--predictions", COCO_VAL / "instances_val2014_fakebbox100_results.json", "--json", out)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text())
    for key in ("iou_threshold", "ap_method", "mAP", "mAR", "counts", "per_class"):
        assert key in doc
    assert set(doc["counts"]) >= {"labels", "predictions", "TP", "FP", "FN"}
    person = doc["per_class"]["person"]
    assert set(person) >= {"AP", "AR", "labels", "predictions", "TP", "FP", "FN"}
    published = expected("coco_val2014_100")[
        "instances_val2014_100.json + instances_val2014_fakebbox100_results.json"
    ]["faster_coco_eval tests/test_cocoapi_fake_data.py (10 d.p.)"][1]
    assert doc["mAP"] == pytest.approx(published, abs=1e-12)
    assert doc["counts"]["TP"] + doc["counts"]["FN"] == doc["counts"]["labels"]
    assert f"mAP {published:6.4f}" in proc.stdout and "person" in proc.stdout


def test_evaluate_voc_options_reproduce_cartucho():
    folder = REFDATA / "cartucho_map"
    proc = detlens("evaluate", "--labels", folder / "ground-truth", "--predictions", folder / "detection-results",
                   "--ap-method", "voc_all_point", "--match", "voc", "--pixel-plus-one", "--max-dets", "all")
    assert proc.returncode == 0, proc.stderr
    assert "mAP 0.3105" in proc.stdout


def test_evaluate_class_subset(tmp_path):
    out = tmp_path / "r.json"
    proc = detlens("evaluate", "--labels", COCO_VAL / "instances_val2014_100.json",
                   "--predictions", COCO_VAL / "instances_val2014_fakebbox100_results.json",
                   "--classes", "person,dog", "--iou", "0.75", "--json", out)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text())
    assert set(doc["per_class"]) == {"person", "dog"}
    assert doc["iou_threshold"] == 0.75
    assert doc["mAP"] == pytest.approx((doc["per_class"]["person"]["AP"] + doc["per_class"]["dog"]["AP"]) / 2)


@pytest.mark.parametrize(
    "labels_text, extra_args, message",
    [
        ('{"images": [', [], "labels.json"),  # truncated JSON
        ("", [], "labels.json"),  # empty file
        (None, [], "does-not-exist.json"),  # missing file
        ('{"images": [{"id": 1, "file_name": "a.jpg", "width": 10, "height": 10}], "annotations": [], '
         '"categories": [{"id": 1, "name": "a"}]}', ["--classes", "zebra"], "zebra"),
        ('{"images": [{"id": 1, "file_name": "a.jpg", "width": 10, "height": 10}], "annotations": [], '
         '"categories": [{"id": 1, "name": "a"}]}', ["--iou", "1.5"], "--iou"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_no_traceback(tmp_path, labels_text, extra_args, message):
    labels = tmp_path / ("labels.json" if labels_text is not None else "does-not-exist.json")
    if labels_text is not None:
        labels.write_text(labels_text)
    preds = tmp_path / "preds.json"
    preds.write_text("[]")
    proc = detlens("evaluate", "--labels", labels, "--predictions", preds, *extra_args)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("detlens: error:")]
    assert len(lines) == 1 and message in lines[0], proc.stderr


def test_demo_command_writes_a_loadable_dataset(tmp_path):
    proc = detlens("demo", tmp_path / "demo")
    assert proc.returncode == 0, proc.stderr
    for name in ("labels.json", "predictions.json", "images"):
        assert (tmp_path / "demo" / name).exists()
    out = tmp_path / "r.json"
    proc = detlens("evaluate", "--labels", tmp_path / "demo/labels.json", "--predictions",
                   tmp_path / "demo/predictions.json", "--json", out)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text())
    assert doc["counts"]["labels"] > 500 and 0.2 < doc["mAP"] < 0.95
