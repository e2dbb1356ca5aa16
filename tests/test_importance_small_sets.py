"""Importance on a small real set: the 100-photo VOC reference set (273 labels, 47 missed at IoU 0.5).

Its miss rate falls from about 0.33 to 0.07 with object area, a real but weak signal on
so few labels: the importance must see it (> 0, with an interval), the controls must not
clear zero, and the ranking must say that it is too thin to rank.
"""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from detlens.core.analysis import label_rows, prediction_rows, rank_metrics, too_few_to_rank
from detlens.core.evaluation import Evaluator
from detlens.core.importance import MetricDependency, folds_of_images, held_out_losses
from detlens.core.io import load_dataset
from detlens.core.matching import FN, FP, TP
from detlens.core.metrics.tables import compute_metric_tables
from detlens.core.vocabulary import Side

DETLENS = str(Path(sys.executable).parent / "detlens")
AREA = "Object Area - Relative (L)"
VOC100_SENTENCE = ("No metric's importance clears zero on 273 labels (226 detected, 47 missed): "
                   "too few to rank; see Performance by metric.")


def voc100_paths(refdata: Path) -> tuple[Path, Path, Path]:
    folder = refdata / "review_voc100"
    return (folder / "gts/coco_format_v1/instances_default.json",
            folder / "DERIVED_dets_results_for_coco_format_v1_gt.json", folder / "images")


@pytest.fixture(scope="module")
def voc100(refdata):
    labels, predictions, images = voc100_paths(refdata)
    ds = load_dataset(labels, predictions)
    match = Evaluator(ds).match(0.5)
    return ds, compute_metric_tables(ds, images, workers=1), match


@pytest.mark.parametrize("pick", ["all", "all, repeated", "one", "all but one", "none"])
def test_rows_of_a_class_selection_are_the_counted_objects_of_those_classes(voc100, pick):
    ds, _, match = voc100
    every = np.arange(ds.n_categories)
    classes = {"all": every, "all, repeated": np.concatenate([every, every[:2]]), "one": every[:1],
               "all but one": every[1:], "none": every[:0]}[pick]
    in_classes = np.isin(ds.predictions.category_index, classes)
    counted = np.isin(match.pred_outcome, [TP, FP])
    np.testing.assert_array_equal(prediction_rows(ds, match, classes), np.flatnonzero(counted & in_classes))
    counted_labels = np.isin(match.label_outcome, [TP, FN])
    np.testing.assert_array_equal(label_rows(ds, match, classes),
                                  np.flatnonzero(counted_labels & np.isin(ds.labels.category_index, classes)))


def test_label_side_area_has_importance_with_an_interval(voc100):
    ds, tables, match = voc100
    ranking = {d.metric: d for d in rank_metrics(ds, tables, match, side=Side.LABELS)}
    area = ranking[AREA]
    assert area.rows == 273 and area.rows - area.positives == 47
    assert area.importance > 0 and area.importance_low <= area.importance <= area.importance_high
    assert area.importance_high > area.importance_low  # a real interval, not a point
    for name in ("Random Values (F)", "Random Values (L)"):
        assert ranking[name].importance_low == 0.0, ranking[name]


def test_the_old_baseline_clipped_area_to_0_on_this_set(voc100):
    """Same held-out losses, old baseline H(Y): 1 - CE / H(Y) < 0, clipped to 0."""
    ds, tables, match = voc100
    rows = label_rows(ds, match, ds.category_indices(None))
    y = match.label_outcome[rows] == TP
    losses = held_out_losses(tables.label_values(AREA, ds)[rows], y, folds_of_images(ds.labels.image_index[rows]))
    p = y.mean()
    entropy = -(p * np.log(p) + (1 - p) * np.log(1 - p))
    assert entropy == pytest.approx(0.459, abs=5e-4) and losses.constant.mean() == pytest.approx(0.474, abs=5e-4)
    assert losses.metric.mean() > entropy  # old: 0
    assert losses.metric.mean() < losses.constant.mean()  # new: > 0


@pytest.mark.parametrize("side, sentence", [(Side.LABELS, VOC100_SENTENCE), (Side.PREDICTIONS, None)])
def test_too_few_to_rank_speaks_only_when_no_interval_clears_zero(voc100, side, sentence):
    ds, tables, match = voc100
    ranking = rank_metrics(ds, tables, match, side=side)
    assert too_few_to_rank(ranking, side) == sentence
    # the dashboard holds the ranking as dicts: the same answer from them
    assert too_few_to_rank([MetricDependency.from_dict(d.to_dict()) for d in ranking], side) == sentence


def dependency(metric: str, low: float, rows: int = 10, positives: int = 6) -> MetricDependency:
    return MetricDependency(metric=metric, importance=max(low, 0.0), importance_low=low, importance_high=0.5,
                            correlation=0.1, rows=rows, positives=positives, subsampled=False)


@pytest.mark.parametrize(
    "ranking, side, sentence",
    [([dependency("a", 0.01), dependency("b", 0.0)], Side.LABELS, None),
     ([dependency("a", 0.0, rows=12, positives=5), dependency("b", 0.0, rows=9, positives=9)], Side.PREDICTIONS,
      "No metric's importance clears zero on 12 predictions (5 TP, 7 FP): too few to rank; "
      "see Performance by metric."),
     ([dependency("a", float("nan"), rows=4, positives=4)], Side.LABELS,
      "No metric's importance clears zero on 4 labels (4 detected, 0 missed): too few to rank; "
      "see Performance by metric."),
     ([], "labels", "No metric's importance clears zero on 0 labels (0 detected, 0 missed): too few to rank; "
                    "see Performance by metric.")],
)
def test_too_few_to_rank_rule(ranking, side, sentence):
    assert too_few_to_rank(ranking, side) == sentence


def test_cli_json_has_intervals_and_the_printout_says_too_few(refdata, tmp_path):
    labels, predictions, _ = voc100_paths(refdata)
    out = tmp_path / "voc100.json"
    proc = subprocess.run([DETLENS, "evaluate", "--labels", str(labels), "--predictions", str(predictions),
                           "--metrics", "--json", str(out)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text())
    for prefix in ("metric", "label_metric"):
        intervals = doc[f"{prefix}_importance_interval"]
        assert set(intervals) == set(doc[f"{prefix}_importance"])
        for name, (low, high) in intervals.items():
            assert 0.0 <= low <= high <= 1.0, name
    assert doc["label_metric_importance"][AREA] > 0
    assert doc["label_metric_importance_interval"]["Random Values (L)"][0] == 0.0
    assert "90% interval" in proc.stdout and VOC100_SENTENCE in proc.stdout
    area_line = next(line for line in proc.stdout.splitlines() if line.strip().startswith(AREA))
    low, high = doc["label_metric_importance_interval"][AREA]
    assert f"[{low:.3f}, {high:.3f}]" in area_line
