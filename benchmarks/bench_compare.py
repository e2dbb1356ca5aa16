"""Benchmark: the paired bootstrap of ``detlens compare`` at 500k predictions per run.

A benchmark, not a test: it measures and reports, nothing fails on timing.

    .venv/bin/python benchmarks/bench_compare.py [--out benchmarks/out/] [--resamples 1000] [--repeat 3]

Data: the "benchmark" demo preset (5,000 images, ~33k labels, ~500k
predictions, 80 classes; annotations only) written by
``bench_dashboard.write_data`` to ``<out>/dashboard/`` as run A, and the same
scene with a better detector (``base_recall=0.8``) as run B in
``<out>/compare/`` (both written once, then reused).

With the outcomes cached (loading, matching at IoU 0.5 and at the ten IoUs of
mAP@[.50:.95], metric tables and the per-image bucket counts are done before
the clock starts), it times, each the best of ``--repeat`` runs of
``--resamples`` resamples (seed 0) of :func:`detlens.core.compare.resample`:

* mAP deltas: mAP, mAR and per-class AP/AR of both runs at IoU 0.5 (``AT_IOU``);
* by-metric deltas: TPR and FNR of both runs in 10 buckets of
  ``Object Area - Relative`` (``BUCKETS``);

each against the target "under 2 s"; and, for information (no target), the
ten-threshold mAP@[.50:.95] part and the whole :func:`compare_runs`. Prints
PASS/MISS and writes ``<out>/bench_compare.json`` with the machine's load average.
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
from benchmarks.bench_dashboard import write_data  # noqa: E402
from detlens.core.compare import bucket_counts, compare_runs, resample, run_outcomes, shared_edges  # noqa: E402
from detlens.core.vocabulary import BootstrapPart  # noqa: E402

TARGET_S = 2.0
METRIC = "Object Area - Relative (L)"


def write_run_b(folder: Path) -> Path:
    """Run B's predictions: the benchmark scene, a detector with higher recall (written once)."""
    import orjson

    from detlens.core.demo import DemoConfig, generate_annotations

    path = folder / "predictions_B.json"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        _, results = generate_annotations(DemoConfig.preset("benchmark", base_recall=0.8))
        path.write_bytes(orjson.dumps(results))
    return path


def best_of(repeat: int, run) -> tuple[float, float, object]:
    """``(wall s, CPU s, result)`` of the run with the shortest wall time (CPU: this process's, all threads)."""
    best = None
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        result = run()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        if best is None or wall < best[0]:
            best = (wall, cpu, result)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out")
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from detlens.core.evaluation import Evaluator
    from detlens.core.io import load_dataset
    from detlens.core.metrics.tables import compute_metric_tables

    labels, predictions_a = write_data(args.out / "dashboard")
    predictions_b = write_run_b(args.out / "compare")
    t0 = time.perf_counter()
    runs = []
    for name, path in (("A", predictions_a), ("B", predictions_b)):
        ds = load_dataset(str(labels), str(path))
        runs.append(run_outcomes(name, Evaluator(ds), 0.5, tables=compute_metric_tables(ds), metric=METRIC))
    runs = tuple(runs)
    counts = bucket_counts(runs, shared_edges(runs, 10, "quantile"))
    prepare_s = time.perf_counter() - t0
    load = os.getloadavg()

    def part(which):
        return lambda: resample(runs, counts, args.resamples, 0, parts=(which,))

    measured = {
        "map_deltas_s": best_of(args.repeat, part(BootstrapPart.AT_IOU)),
        "by_metric_deltas_s": best_of(args.repeat, part(BootstrapPart.BUCKETS)),
        "map_50_95_deltas_s": best_of(1, part(BootstrapPart.COCO_RANGE)),
        "compare_runs_s": best_of(1, lambda: compare_runs(*runs, resamples=args.resamples)),
    }
    timings = {key: wall for key, (wall, _, _) in measured.items()}
    cpu = {key.replace("_s", "_cpu_s"): c for key, (_, c, _) in measured.items()}
    comparison = measured["compare_runs_s"][2].to_dict()
    result = {
        "predictions": [len(r.dataset.predictions) for r in runs], "labels": len(runs[0].dataset.labels),
        "images": len(runs[0].dataset.images), "true_positives_at_0.5": [int(r.curves.tp_start[-1]) for r in runs],
        "resamples": args.resamples, "repeat": args.repeat, "prepare_outcomes_s": prepare_s, **timings, **cpu,
        "target_s": TARGET_S, "mAP": comparison["mAP"], "finding": comparison["finding"],
        "load_average_before": list(load), "load_average_after": list(os.getloadavg()),
        "cpus": os.cpu_count(), "python": platform.python_version(), "numpy": np.__version__,
    }
    print(f"{result['images']:,} images, {result['labels']:,} labels, predictions A {result['predictions'][0]:,} "
          f"and B {result['predictions'][1]:,}; outcomes prepared in {prepare_s:.1f} s (not timed below); "
          f"load average {load[0]:.1f} on {os.cpu_count()} CPUs")
    for key, title in (("map_deltas_s", "mAP, mAR, per-class AP/AR deltas"),
                       ("by_metric_deltas_s", "by-metric TPR/FNR deltas (10 buckets)")):
        verdict = "PASS" if timings[key] < TARGET_S else "MISS"
        print(f"[{verdict}] {args.resamples:,} paired resamples, {title}: {timings[key]:.2f} s "
              f"(CPU {cpu[key.replace('_s', '_cpu_s')]:.2f} s; target < {TARGET_S} s)")
    print(f"[info] mAP@[.50:.95] deltas (ten IoUs): {timings['map_50_95_deltas_s']:.2f} s; "
          f"whole compare_runs: {timings['compare_runs_s']:.2f} s")
    print(f"mAP A {comparison['mAP']['A']:.4f}, B {comparison['mAP']['B']:.4f}, delta {comparison['mAP']['delta']:+.4f} "
          f"(95% CI {comparison['mAP']['ci'][0]:+.4f} to {comparison['mAP']['ci'][1]:+.4f})")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench_compare.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
