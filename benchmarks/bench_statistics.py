"""Benchmark: metric importance and bucket statistics on 500k predictions.

A benchmark, not a test: nothing fails on timing.

    .venv/bin/python benchmarks/bench_statistics.py [--images 5000]

One process: generate the COCO-val-sized synthetic set (``core.demo`` preset
"benchmark": 5,000 images, ~33k labels, ~500k predictions, 80 classes), match it
at IoU 0.5, compute the geometry metrics, then time

* detlens' importance + correlation of every prediction-side and label-side metric
  (``core.analysis.rank_metrics``), against the competitor approach, scikit-learn's
  ``mutual_info_classif`` (what Encord Active used), on the same rows and metrics;
* performance by metric (``core.analysis.performance_by_metric``) for every metric,
  10 quantile buckets, aggregate and per class.

Target: importance and bucket statistics for 500k predictions in under 1 s, read as
what one dashboard update computes: the importance ranking of both sides plus the
bucket table of one metric (the time for all metrics' tables is printed too).
Writes ``benchmarks/out/bench_statistics.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from detlens.core.analysis import performance_by_metric, prediction_rows, rank_metrics  # noqa: E402
from detlens.core.demo import DemoConfig, generate_annotations  # noqa: E402
from detlens.core.evaluation import Evaluator  # noqa: E402
from detlens.core.io import load_dataset  # noqa: E402
from detlens.core.matching import TP  # noqa: E402
from detlens.core.metrics.tables import compute_metric_tables  # noqa: E402


def timed(fn, repeat: int = 3):
    """(median seconds, last result) of ``repeat`` calls."""
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def make_data(n_images: int, out: Path) -> tuple[Path, Path]:
    labels, preds = out / "stats_labels.json", out / "stats_predictions.json"
    if not labels.exists():
        import orjson

        gt, results = generate_annotations(DemoConfig.preset("benchmark", n_images=n_images))
        labels.write_bytes(orjson.dumps(gt))
        preds.write_bytes(orjson.dumps(results))
    return labels, preds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=5000)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    ds = load_dataset(*make_data(args.images, args.out))
    match = Evaluator(ds).match(0.5)
    tables = compute_metric_tables(ds)
    print(f"Data: {len(ds.images)} images, {len(ds.labels)} labels, {len(ds.predictions)} predictions, "
          f"{ds.n_categories} classes; {len(tables.info)} metrics (geometry only)")

    t_pred, ranking = timed(lambda: rank_metrics(ds, tables, match, side="predictions"))
    t_label, _ = timed(lambda: rank_metrics(ds, tables, match, side="labels"))
    names = tables.prediction_side()
    t_buckets, _ = timed(lambda: [performance_by_metric(ds, tables, match, n) for n in names])

    # the competitor: nearest-neighbour mutual information on the same rows (subsampled alike)
    from sklearn.feature_selection import mutual_info_classif

    rows = prediction_rows(ds, match, np.arange(ds.n_categories))
    sub = np.sort(np.random.default_rng(0).choice(rows.shape[0], size=min(200_000, rows.shape[0]), replace=False))
    rows = rows[sub]
    x = np.column_stack([np.nan_to_num(tables.prediction_values(n, ds)[rows]) for n in names])
    y = match.pred_outcome[rows] == TP
    t_mi, _ = timed(lambda: mutual_info_classif(x, y, random_state=0), repeat=1)

    per_view = t_pred + t_label + t_buckets / len(names)  # what one dashboard update computes
    print(f"\nimportance + correlation, prediction side ({len(names)} metrics): {t_pred:.3f} s "
          f"({ranking[0].rows} rows{', subsampled' if ranking[0].subsampled else ''})")
    print(f"importance + correlation, label side:                {t_label:.3f} s")
    print(f"performance by metric, all {len(names)} prediction-side metrics: {t_buckets:.3f} s "
          f"({t_buckets / len(names) * 1000:.1f} ms per metric)")
    print(f"scikit-learn mutual_info_classif, same rows and metrics: {t_mi:.3f} s "
          f"(detlens prediction side is {t_mi / t_pred:.1f}x faster)")
    print(f"\n[{'PASS' if per_view < 1.0 else 'MISS'}] importance (both sides) + one metric's bucket table: "
          f"{per_view:.3f} s (goal < 1 s)")
    print(f"       importance (both sides) + bucket tables of all {len(names)} metrics: "
          f"{t_pred + t_label + t_buckets:.3f} s")
    result = {"predictions": len(ds.predictions), "importance_predictions_s": t_pred,
              "importance_labels_s": t_label, "buckets_all_metrics_s": t_buckets,
              "mutual_info_classif_s": t_mi, "importance_and_one_bucket_table_s": per_view}
    (args.out / "bench_statistics.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
