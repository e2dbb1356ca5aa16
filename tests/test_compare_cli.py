"""``detlens compare`` on real files: the JSON document's shape, the printed summary, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from detlens.app.compare_cli import parse_runs
from detlens.core.demo import DemoConfig, generate, to_coco
from tests.test_overwrites import assert_one_line_error, detlens

DIFFERENCE_KEYS = {"A", "B", "delta", "ci"}


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """Labels and two runs on one demo scene (B: a detector with higher recall), as COCO files."""
    folder = tmp_path_factory.mktemp("compare-cli")
    gt, results_a = to_coco(generate(DemoConfig(n_images=40)))
    _, results_b = to_coco(generate(DemoConfig(n_images=40, base_recall=0.9)))
    paths = {"labels": folder / "labels.json", "A": folder / "old.json", "B": folder / "new.json"}
    paths["labels"].write_text(json.dumps(gt))
    paths["A"].write_text(json.dumps(results_a))
    paths["B"].write_text(json.dumps(results_b))
    (folder / "other").mkdir()
    paths["B twin"] = folder / "other" / "new.json"
    paths["B twin"].write_text(json.dumps(results_b))
    return paths


def test_the_json_has_the_documented_shape(files, tmp_path):
    out = tmp_path / "compare.json"
    proc = detlens("compare", "--labels", files["labels"], "--predictions", f"base={files['A']}", "--predictions",
                   files["B"], "--by-metric", "Object Area - Relative (L)", "--buckets", "4", "--bootstrap", "200",
                   "--json", out)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text())
    assert doc["runs"] == {"A": {"name": "base", "predictions": str(files["A"])},
                           "B": {"name": "new", "predictions": str(files["B"])}}  # a bare path: its file's stem
    for key in ("mAP", "mAR", "mAP_50_95"):
        assert set(doc[key]) == DIFFERENCE_KEYS and len(doc[key]["ci"]) == 2
        assert doc[key]["delta"] == pytest.approx(doc[key]["B"] - doc[key]["A"])
        assert doc[key]["ci"][0] <= doc[key]["ci"][1]
    assert set(doc["per_class"]) == {"ellipse", "rectangle", "triangle", "cross"}
    for name, c in doc["per_class"].items():
        assert set(c) == {"AP", "AR"} and set(c["AP"]) == set(c["AR"]) == DIFFERENCE_KEYS
    assert len(doc["by_metric"]) == 4
    for b in doc["by_metric"]:
        assert set(b) == {"low", "high", "A", "B", "delta_TPR", "delta_FNR"}
        assert set(b["A"]) == set(b["B"]) == {"TPR", "FNR", "n_pred", "n_label"}
        assert set(b["delta_TPR"]) == set(b["delta_FNR"]) == {"value", "ci"}
    assert doc["bootstrap"] == {"resamples": 200, "seed": 0, "level": 0.95}
    assert doc["metric"] == "Object Area - Relative" and doc["finding"] in proc.stdout
    assert "mAP@[.50:.95]" in proc.stdout and "A = base   B = new" in proc.stdout
    assert [p.name for p in tmp_path.iterdir()] == ["compare.json"]  # no temporary file left


def test_json_to_standard_output(files):
    proc = detlens("compare", "--labels", files["labels"], "--predictions", f"A={files['A']}", "--predictions",
                   f"B={files['B']}", "--bootstrap", "50", "--json", "-")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["mAP"]["B"] > json.loads(proc.stdout)["mAP"]["A"]
    assert "mAP@[.50:.95]" in proc.stderr  # the summary goes to standard error


@pytest.mark.parametrize("runs, words", [
    (["=A"], ["the run's name before '=' is empty"]),
    (["A=", "B=B"], ["no file after '='"]),
    (["A=A"], ["exactly two runs", "got 1"]),
    (["A=A", "B=B", "C=B"], ["exactly two runs", "got 3"]),
    (["x=A", "x=B"], ["both runs are named 'x'"]),
    (["B", "B twin"], ["both runs are named 'new'"]),  # two bare paths with the same file name
])
def test_bad_runs_get_one_line(files, runs, words):
    args = []
    for run in runs:
        name, _, key = run.partition("=")
        value = str(files[run]) if run in files else f"{name}={files[key]}" if key else run
        args += ["--predictions", value]
    assert_one_line_error(detlens("compare", "--labels", files["labels"], *args), *words)


@pytest.mark.parametrize("target, words", [("A", ["--json", "the input --predictions"]),
                                           ("B", ["--json", "the input --predictions"]),
                                           ("labels", ["--json", "the input --labels"])])
def test_json_never_over_an_input(files, target, words):
    before = files[target].read_bytes()
    proc = detlens("compare", "--labels", files["labels"], "--predictions", f"A={files['A']}", "--predictions",
                   f"B={files['B']}", "--json", files[target])
    assert_one_line_error(proc, *words)
    assert files[target].read_bytes() == before


@pytest.mark.parametrize("extra, words", [
    (["--by-metric", "No Such Metric"], ["--by-metric", "unknown metric 'No Such Metric'"]),
    (["--by-metric", "Brightness (F)"], ["needs --images"]),
    (["--bootstrap", "0"], ["--bootstrap must be at least 1"]),
    (["--iou", "1.5"], ["--iou must be in (0, 1]"]),
    (["--classes", "ellipse,hexagon"], ["unknown class name(s) 'hexagon'"]),
    (["--buckets", "99", "--by-metric", "Object Area - Relative (L)"], ["--buckets must be between"]),
])
def test_bad_options_get_one_line(files, extra, words):
    proc = detlens("compare", "--labels", files["labels"], "--predictions", f"A={files['A']}", "--predictions",
                   f"B={files['B']}", *extra)
    assert_one_line_error(proc, *words)


@pytest.mark.parametrize("values, expected", [
    (["A=a.json", "B=b.json"], [("A", "a.json"), ("B", "b.json")]),
    (["runs/old.json", "new=runs/old.json"], [("old", "runs/old.json"), ("new", "runs/old.json")]),
    ([" A =a.json", "B=x=y.json"], [("A", "a.json"), ("B", "x=y.json")]),  # a name is trimmed; the path kept
])
def test_run_names(values, expected):
    assert parse_runs(values) == expected


def test_an_existing_file_with_an_equals_sign_is_a_bare_path(tmp_path):
    path = tmp_path / "lr=0.1.json"
    path.write_text("[]")
    assert parse_runs([str(path), "B=b.json"]) == [("lr=0.1", str(path)), ("B", "b.json")]
