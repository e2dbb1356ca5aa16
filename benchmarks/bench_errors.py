"""Benchmark: the error analysis of ``detlens evaluate --errors`` at 500k predictions, side by side with hotcoco.

A benchmark, not a test: it measures and reports, nothing fails on timing.

    .venv/bin/python benchmarks/bench_errors.py [--out benchmarks/out/] [--repeat 3]

Data: the "benchmark" demo preset (5,000 images, ~33k labels, ~500k predictions, 80 classes;
annotations only) written by ``bench_dashboard.write_data`` to ``<out>/dashboard/`` (once, then reused).

Before the clock (what the dashboard has cached after evaluation): loading, the same- and
other-class candidate IoUs, the match at IoU 0.5, the metric tables. Then, each the best of
``--repeat`` runs, at IoU 0.5:

* TIDE: error classification and the eight oracles, overall and per class;
* confusion matrix; F1-optimal thresholds; calibration (10 bins);
* per bucket: TIDE and ECE in 10 quantile buckets of ``Object Area - Relative``;

and the sum against the target "under 2 s". hotcoco (its own process state: load and
``evaluate()`` with ``iou_thrs=[0.5]`` untimed) times ``tide_errors``, ``confusion_matrix``
(which computes its cross-class IoUs itself), ``calibration`` and ``f_scores``; ratios are
detlens / hotcoco (below 1: detlens is faster). hotcoco runs on every core (rayon), detlens on
one; the CPU seconds are printed too. It also checks that TIDE's counts and ΔAP equal hotcoco's.
Writes ``<out>/bench_errors.json`` with the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.bench_compare import best_of  # noqa: E402
from benchmarks.bench_dashboard import write_data  # noqa: E402

TARGET_S = 2.0
IOU = 0.5
METRIC = "Object Area - Relative (L)"


def detlens_parts(labels: Path, predictions: Path, repeat: int) -> tuple[dict, dict, dict]:
    """``(wall s, CPU s, facts)`` of each part of the error analysis, with its inputs prepared untimed."""
    from detlens.core.calibration import calibration, calibration_by_bucket
    from detlens.core.confusion import confusion_matrix
    from detlens.core.evaluation import Evaluator
    from detlens.core.io import load_dataset
    from detlens.core.metrics.tables import compute_metric_tables
    from detlens.core.operating_point import operating_points
    from detlens.core.tide import classify_errors, object_buckets, tide_by_bucket, tide_errors

    t0 = time.perf_counter()
    ds = load_dataset(str(labels), str(predictions))
    evaluator = Evaluator(ds)
    evaluator.candidates()
    t1 = time.perf_counter()
    other = evaluator.other_class_candidates()
    other_s = time.perf_counter() - t1
    match = evaluator.match(IOU, reasons=False)
    tables = compute_metric_tables(ds)
    _, edges, pred_bucket, label_bucket = object_buckets(evaluator, match, tables, METRIC, None, 10)
    prepare_s = time.perf_counter() - t0
    n_buckets = edges.shape[0] - 1

    def tide():
        return tide_errors(evaluator, match, errors=classify_errors(evaluator, match))

    def by_bucket():
        errors = classify_errors(evaluator, match)
        return (tide_by_bucket(evaluator, match, errors, pred_bucket, label_bucket, n_buckets),
                calibration_by_bucket(ds, match, pred_bucket, n_buckets))

    parts = {
        "tide": tide,
        "confusion_matrix": lambda: confusion_matrix(evaluator, IOU),
        "thresholds": lambda: operating_points(evaluator, match),
        "calibration": lambda: calibration(ds, match),
        "by_bucket_tide_and_ece": by_bucket,
    }
    measured = {name: best_of(repeat, run) for name, run in parts.items()}
    wall = {name: m[0] for name, m in measured.items()}
    cpu = {name: m[1] for name, m in measured.items()}
    overall = measured["tide"][2].overall
    facts = {"images": len(ds.images), "labels": len(ds.labels), "predictions": len(ds.predictions),
             "other_class_pairs": len(other), "other_class_ious_s": other_s, "prepare_s": prepare_s,
             "tide_counts": overall.counts, "tide_delta_ap": overall.delta_ap, "buckets": n_buckets}
    return wall, cpu, facts


def hotcoco_parts(labels: Path, predictions: Path, repeat: int) -> tuple[dict, dict]:
    """Wall seconds of hotcoco's four analyses after its ``evaluate()`` (untimed), and its TIDE result."""
    from hotcoco import COCO, COCOeval

    gt = COCO(str(labels))
    ev = COCOeval(gt, gt.load_res(str(predictions)), "bbox")
    p = ev.params
    p.iou_thrs, p.max_dets, p.area_rng, p.area_rng_lbl = [IOU], [100], [[0.0, 1e10]], ["all"]
    ev.params = p
    ev.evaluate()
    ev.accumulate()
    parts = {
        "tide": lambda: ev.tide_errors(pos_thr=IOU, bg_thr=0.1),
        "confusion_matrix": lambda: ev.confusion_matrix(iou_thr=IOU),
        "thresholds": lambda: ev.f_scores(),
        "calibration": lambda: ev.calibration(n_bins=10, iou_threshold=IOU),
    }
    measured = {name: best_of(repeat, run) for name, run in parts.items()}
    return {name: m[0] for name, m in measured.items()}, measured["tide"][2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    labels, predictions = write_data(args.out / "dashboard")
    load = os.getloadavg()
    wall, cpu, facts = detlens_parts(labels, predictions, args.repeat)
    theirs, their_tide = hotcoco_parts(labels, predictions, args.repeat)
    same = (facts["tide_counts"] == their_tide["counts"]
            and all(abs(facts["tide_delta_ap"][k] - v) < 1e-12 for k, v in their_tide["delta_ap"].items()))
    total = sum(wall.values())
    ratios = {name: wall[name] / theirs[name] for name in theirs if theirs[name] > 0}
    shared = sum(wall[n] for n in theirs) / sum(theirs.values())
    result = {**facts, "iou": IOU, "repeat": args.repeat, "detlens_s": wall, "detlens_cpu_s": cpu,
              "detlens_total_s": total, "hotcoco_s": theirs, "ratio_detlens_over_hotcoco": ratios,
              "ratio_shared_parts": shared, "tide_equals_hotcoco": same, "target_s": TARGET_S,
              "load_average_before": list(load), "load_average_after": list(os.getloadavg()),
              "cpus": os.cpu_count(), "python": platform.python_version(), "numpy": np.__version__}
    print(f"{facts['images']:,} images, {facts['labels']:,} labels, {facts['predictions']:,} predictions; "
          f"prepared in {facts['prepare_s']:.1f} s (other-class IoUs {facts['other_class_ious_s']:.1f} s, "
          f"{facts['other_class_pairs']:,} pairs; not timed below); load average {load[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"  {'part':<24} {'detlens':>9} {'CPU':>7} {'hotcoco':>9} {'ratio':>7}")
    for name in wall:
        h = theirs.get(name)
        print(f"  {name:<24} {wall[name]:8.3f}s {cpu[name]:6.2f}s "
              + (f"{h:8.3f}s {ratios[name]:7.2f}" if h is not None else f"{'-':>9} {'-':>7}"))
    verdict = "PASS" if total < TARGET_S else "MISS"
    print(f"[{verdict}] everything at IoU {IOU} after evaluation: {total:.2f} s (target < {TARGET_S} s); "
          f"the parts hotcoco has: {shared:.2f}x hotcoco's time")
    print(f"TIDE counts and ΔAP equal hotcoco's (1e-12): {'yes' if same else 'NO'}")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench_errors.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
