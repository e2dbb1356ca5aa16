"""Counts and CLI rough edges (issue 10): ignored labels and classes without labels in the header, undefined
correlations shown as "-", ``--by-metric`` checked before any output, ``--json -``, errors in CLI words and
``--min-score``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from detlens.app.cache import SharedCache
from detlens.app.cli import in_cli_words
from detlens.app.preparation import prepare
from detlens.app.queries import Queries
from detlens.app.source import DataSource
from detlens.callbacks.figures import correlation_figure
from detlens.callbacks.shell import poll_preparation
from detlens.core.importance import is_constant, pearson
from detlens.core.io import InputError
from tests.pycoco_reference import pycocotools_per_class
from tests.refdata import REFDATA

DETLENS = str(Path(sys.executable).parent / "detlens")
COCO_LABELS = REFDATA / "coco_val2014_100" / "instances_val2014_100.json"
COCO_RESULTS = REFDATA / "coco_val2014_100" / "instances_val2014_fakebbox100_results.json"
COCO_DATA = ("--labels", COCO_LABELS, "--predictions", COCO_RESULTS)


def detlens(*args, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([DETLENS, *map(str, args)], capture_output=True, text=True, timeout=120, cwd=cwd)


# ----- header counts ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def coco(tmp_path_factory):
    """COCO val2014-100 prepared as the server would: (queries, source, key)."""
    source = DataSource(str(COCO_LABELS), str(COCO_RESULTS))
    queries = Queries(SharedCache(tmp_path_factory.mktemp("coco-cache")))
    return queries, source, prepare(queries, source)


def test_ignored_labels_are_what_tp_plus_fn_leave_out(coco):
    queries, _, key = coco
    summary = queries.summary(key)
    assert (summary["labels"], summary["ignored_labels"]) == (839, 9)  # 9 crowd regions
    counts = queries.evaluation_doc(queries.view(key, summary["classes"], 0.5, 0))["counts"]
    assert summary["labels"] - summary["ignored_labels"] == counts["TP"] + counts["FN"] == 830


def test_header_says_ignored_labels_and_classes_without_labels(coco):
    queries, source, key = coco
    out = poll_preparation(queries, 1, source.source_id())
    assert " · 839 labels (9 ignored: crowd/difficult) · 734 predictions · 80 classes (10 without labels)" \
        in out["counts"]


def test_class_filter_marks_the_classes_the_per_class_charts_leave_out(coco):
    """Every class stays selected (its predictions still count), and the ones without labels say so: the
    classes not marked are exactly the ones with an AP, i.e. the bars of the per-class chart."""
    queries, source, key = coco
    out = poll_preparation(queries, 1, source.source_id())
    assert out["classes"] == [o["value"] for o in out["options"]]  # the filter counts exactly its options
    doc = queries.evaluation_doc(queries.view(key, out["classes"], 0.5, 0))
    with_ap = [name for name, row in doc["per_class"].items() if row["AP"] is not None]
    assert [o["value"] for o in out["options"] if not o["label"].endswith(" (no labels)")] == with_ap
    assert len(with_ap) == 70 and len(out["options"]) == 80


# ----- undefined correlation -----------------------------------------------------------------------------

@pytest.mark.parametrize("correlation, text", [(None, "-"), (0.0, "+0.000"), (-0.25, "-0.250")])
def test_correlation_chart_shows_undefined_as_a_dash(correlation, text):
    fig = correlation_figure([{"metric": "A (P)", "importance": 0.1, "correlation": correlation}], {}, "")
    assert list(fig.data[0].text) == [text]


@pytest.mark.parametrize("x, defined", [
    ([1e12 - 1, 1e12], False),  # std 0.5, under 1e-12 x 1e12 = 1 (every step exact in float64)
    ([1e12 - 2, 1e12], True),   # std exactly 1: at the threshold, not under it
    ([1e12 - 4, 1e12], True),   # std 2
    ([0.1] * 7, False),         # the mean of seven 0.1 is off 0.1 by round-off only
    ([4 / 3] * 10, False),      # so is the mean of ten 4/3 (r was +0.000)
    ([0.0, 0.0, 0.0], False),   # std exactly 0
    ([0.0, 1e-100, 0.0], True),  # tiny values are not constant: the threshold is relative
])
def test_correlation_of_a_constant_metric_is_undefined(x, defined):
    x = np.array(x)
    y = np.arange(x.shape[0], dtype=np.float64) % 2
    assert is_constant(x) is not defined
    r = pearson(x, y)
    assert (r == r) is defined and (not defined or abs(r) > 0.1)


def same_size_images(folder: Path, n: int = 10) -> tuple[Path, Path]:
    """COCO labels and results of ``n`` 640 x 480 images, one label each, every other one found.

    Aspect Ratio (F) is 4/3 on every row, and the mean of ten 4/3 is not 4/3 exactly: the round-off used
    to give a correlation of "+0.000".
    """
    images = [{"id": i, "file_name": f"{i}.jpg", "width": 640, "height": 480} for i in range(1, n + 1)]
    labels = [{"id": i, "image_id": i, "category_id": 1, "bbox": [10 * i, 100, 50 + 5 * i, 60],
               "area": (50 + 5 * i) * 60, "iscrowd": 0} for i in range(1, n + 1)]
    results = [{"image_id": i, "category_id": 1, "score": 0.5 + i / 40,
                "bbox": [10 * i, 100, 50 + 5 * i, 60] if i % 2 else [400, 300, 50, 60]} for i in range(1, n + 1)]
    (folder / "labels.json").write_text(json.dumps({"images": images, "annotations": labels,
                                                    "categories": [{"id": 1, "name": "thing"}]}))
    (folder / "results.json").write_text(json.dumps(results))
    return folder / "labels.json", folder / "results.json"


def test_cli_shows_a_constant_metric_as_a_dash(tmp_path):
    labels, results = same_size_images(tmp_path)
    proc = detlens("evaluate", "--labels", labels, "--predictions", results, "--metrics")
    assert proc.returncode == 0, proc.stderr
    rows = [line for line in proc.stdout.splitlines() if line.strip().startswith("Aspect Ratio (F)")]
    assert len(rows) == 2 and all(row.split()[-1] == "-" for row in rows), rows  # prediction and label side
    doc = detlens("evaluate", "--labels", labels, "--predictions", results, "--metrics", "--json", "-")
    assert json.loads(doc.stdout)["metric_correlation"]["Aspect Ratio (F)"] is None


# ----- --by-metric ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, message", [
    ("Brightness (F)", "--by-metric: Brightness (F) needs --images (the folder with the image files)"),
    ("object sharpness", "--by-metric: Object Sharpness (P) needs --images"),
    ("Brightnes", "--by-metric: unknown metric 'Brightnes'; choose one of: Image Area (F), Aspect Ratio (F), "),
    ("Random Values", "--by-metric: 'Random Values' is ambiguous; choose one of: Image Area (F),"),
])
def test_by_metric_is_checked_before_any_output(name, message):
    proc = detlens("evaluate", *COCO_DATA, "--by-metric", name)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith(f"detlens: error: {message}") and len(proc.stderr.splitlines()) == 1
    if "choose one of" in message:  # the names available without images, pixel metrics left out
        assert "Object Area - Relative (L)" in proc.stderr and "Brightness (F), " not in proc.stderr


@pytest.mark.parametrize("name, table", [
    ("Object Area - Relative (L)", "Object Area - Relative"),
    ("object area - relative", "Object Area - Relative"),  # the (P) and (L) twins give the same table
    ("Object Count", "Object Count (F)"),
    ("random values (f)", "Random Values (F)"),
])
def test_by_metric_resolves_unambiguous_names(name, table):
    proc = detlens("evaluate", *COCO_DATA, "--by-metric", name)
    assert proc.returncode == 0, proc.stderr
    assert f"Performance by metric: {table} (quantile buckets)" in proc.stdout


def test_by_metric_buckets_are_checked_before_any_output():
    proc = detlens("evaluate", *COCO_DATA, "--by-metric", "Object Count (F)", "--buckets", "1000")
    assert proc.returncode == 2 and proc.stdout == "" and "--buckets must be between" in proc.stderr


# ----- --json - ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("command", ["evaluate", "metrics"])
def test_json_dash_writes_the_document_to_stdout_and_the_text_to_stderr(command, tmp_path):
    to_file = detlens(command, *COCO_DATA, "--json", tmp_path / "doc.json", cwd=tmp_path)
    to_stdout = detlens(command, *COCO_DATA, "--json", "-", cwd=tmp_path)
    assert to_file.returncode == to_stdout.returncode == 0, to_stdout.stderr
    assert json.loads(to_stdout.stdout) == json.loads((tmp_path / "doc.json").read_text())
    assert to_file.stdout in to_stdout.stderr  # the readable text, on standard error
    assert not (tmp_path / "-").exists()


# ----- errors name the options ----------------------------------------------------------------------------

def test_errors_name_the_option_not_the_parameter(tmp_path):
    proc = detlens("evaluate", *COCO_DATA, "--images", tmp_path / "missing")
    assert proc.stderr == "detlens: error: missing: --images: is not a folder\n"
    yolo = REFDATA / "review_voc100" / "gts" / "yolo_format" / "obj_train_data"
    proc = detlens("evaluate", "--labels", yolo, "--predictions", yolo, "--format", "yolo")
    assert proc.returncode == 2 and proc.stderr.endswith("found to get its size (give --images)\n")


@pytest.mark.parametrize("exc, message", [
    (InputError("imgs", "images_dir", "is not a folder"), "imgs: --images: is not a folder"),
    (InputError("images_dir", "images_dir", "is not a folder"), "images_dir: --images: is not a folder"),
    (InputError("a.txt", "file", "no image found (give images_dir)"), "a.txt: file: no image found (give --images)"),
    (ValueError("box_format must be 'xyxy' or 'xywh', got 'x'"), "--box-format must be 'xyxy' or 'xywh', got 'x'"),
    (ValueError("ap_method must be one of ..."), "--ap-method must be one of ..."),
    (ValueError("frame_csv.csv: header: needs a 'file_name' column"), "frame_csv.csv: header: needs a 'file_name' column"),
])
def test_core_parameter_names_become_options(exc, message):
    assert in_cli_words(exc) == message


# ----- --min-score ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("min_score", [0.2, 0.5, 0.9])
def test_min_score_equals_pycocotools_on_prefiltered_results(min_score, tmp_path):
    out = tmp_path / "r.json"
    proc = detlens("evaluate", *COCO_DATA, "--min-score", min_score, "--json", out)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text())
    gt, results = json.loads(COCO_LABELS.read_text()), json.loads(COCO_RESULTS.read_text())
    kept = [r for r in results if r["score"] >= min_score]
    assert 0 < len(kept) < len(results) and doc["counts"]["predictions"] == len(kept)
    reference = pycocotools_per_class(gt, kept, 0.5)
    names = {c["id"]: c["name"] for c in gt["categories"]}
    for cat_id, (ap, ar) in reference.items():
        row = doc["per_class"][names[cat_id]]
        if ap != ap:  # nan: no labels
            assert row["AP"] is None
        else:
            assert row["AP"] == pytest.approx(ap, abs=1e-12) and row["AR"] == pytest.approx(ar, abs=1e-12)
    assert f"min score {min_score:g}" in proc.stdout


@pytest.mark.parametrize("value", ["-0.1", "nan", "inf"])
def test_min_score_must_be_a_number_at_least_zero(value):
    proc = detlens("evaluate", *COCO_DATA, "--min-score", value)
    assert proc.returncode == 2 and proc.stdout == "" and "--min-score must be a number >= 0" in proc.stderr


# ----- serve's sizes ---------------------------------------------------------------------------------

@pytest.mark.parametrize("option, value, message", [
    ("--workers", "0", "--workers must be at least 1, got 0"),
    ("--max-jobs", "0", "--max-jobs must be at least 1, got 0"),
    ("--results-cache-mb", "0", "--results-cache-mb must be at least 1, got 0"),
    ("--job-runners", "-1", "--job-runners must be 0 or more, got -1"),
])
def test_serve_refuses_a_size_out_of_range_before_anything_starts(tmp_path, capsys, option, value, message):
    from detlens.app.cli import main

    cache = tmp_path / "cache"
    assert main(["serve", "--cache-dir", str(cache), option, value]) != 0
    assert capsys.readouterr().err.strip() == f"detlens: error: {message}"  # one line
    assert not cache.exists()  # nothing written, nothing bound
