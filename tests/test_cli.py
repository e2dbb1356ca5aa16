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


@pytest.fixture(scope="module")
def demo_with_images(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    proc = detlens("demo", out, "--preset", "size")
    assert proc.returncode == 0, proc.stderr
    return out


def test_metrics_command_caches_and_summarises(demo_with_images, tmp_path):
    cache = tmp_path / "cache"
    args = ("metrics", "--labels", demo_with_images / "labels.json", "--predictions",
            demo_with_images / "predictions.json", "--images", demo_with_images / "images", "--cache-dir", cache,
            "--json", tmp_path / "m.json")
    first = detlens(*args)
    assert first.returncode == 0, first.stderr
    assert "Brightness (F)" in first.stdout and "Object Area - Relative (L)" in first.stdout
    assert "300/300" in first.stderr  # the progress bar reached the end
    summary = json.loads((tmp_path / "m.json").read_text())["metrics"]
    assert summary["Brightness (F)"]["missing"] == 0 and summary["Model Confidence (P)"]["values"] > 0
    second = detlens(*args)
    assert second.returncode == 0 and second.stdout == first.stdout


def test_evaluate_with_images_adds_importance_and_bucket_table(demo_with_images, tmp_path):
    out = tmp_path / "r.json"
    proc = detlens("evaluate", "--labels", demo_with_images / "labels.json", "--predictions",
                   demo_with_images / "predictions.json", "--images", demo_with_images / "images",
                   "--cache-dir", tmp_path / "cache", "--by-metric", "Object Area - Relative (L)", "--buckets", "5",
                   "--json", out)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text())
    for key in ("metric_importance", "metric_correlation", "label_metric_importance", "label_metric_correlation"):
        assert key in doc
    assert next(iter(doc["label_metric_importance"])) == "Object Area - Relative (L)"
    assert "Brightness (F)" in doc["metric_importance"] and "Object Brightness (L)" in doc["label_metric_importance"]
    assert -1 <= doc["metric_correlation"]["Model Confidence (P)"] <= 1
    table = doc["by_metric"]
    assert len(table["edges"]) == 6 and len(table["FNR"]["rate"]) == 5
    assert table["FNR"]["rate"][0] > table["FNR"]["rate"][-1]
    assert "Performance by metric: Object Area - Relative" in proc.stdout


def test_evaluate_geometry_metrics_without_images(demo_with_images, tmp_path):
    out = tmp_path / "r.json"
    proc = detlens("evaluate", "--labels", demo_with_images / "labels.json", "--predictions",
                   demo_with_images / "predictions.json", "--metrics", "--json", out)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text())
    assert "Object Area - Relative (P)" in doc["metric_importance"] and "Brightness (F)" not in doc["metric_importance"]


def test_unknown_metric_is_a_one_line_error(demo_with_images):
    proc = detlens("evaluate", "--labels", demo_with_images / "labels.json", "--predictions",
                   demo_with_images / "predictions.json", "--by-metric", "Shininess (F)")
    assert proc.returncode == 2 and "Shininess (F)" in proc.stderr and "Traceback" not in proc.stderr
