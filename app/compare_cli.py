"""``detlens compare``: run A against run B on the same labels, with paired-bootstrap intervals.

The data options, loading, metric tables, ``--by-metric`` resolution and the
JSON output are those of ``detlens evaluate`` (:mod:`detlens.app.cli`); the
statistics are :mod:`detlens.core.compare`'s. Heavy modules are imported inside
:func:`run_compare`, so the parser stays lean.
"""

from __future__ import annotations

import argparse
import math

from detlens.app.cli import (JSON_HELP, add_data_args, add_metric_args, add_rule_args, by_metric_name, json_output,
                             load_data, metric_tables, write_json)
from detlens.app import workspace

RUNS = 2  # runs a comparison takes: A and B


def add_compare_parser(sub) -> None:
    """The ``compare`` sub-command's options."""
    from detlens.core.settings import (BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED, BUCKET_METHODS, BUCKETS_DEFAULT,
                                       BUCKETS_MAX, BUCKETS_MIN)

    cp = sub.add_parser("compare", help="run A against run B on the same labels: differences with "
                                        "paired-bootstrap intervals")
    add_data_args(cp, runs=True)
    cp.add_argument("--iou", type=float, default=0.5, help="IoU threshold t; a match needs IoU >= t (default 0.5)")
    cp.add_argument("--classes", default=None, help="comma-separated class names (default: all)")
    add_rule_args(cp)
    cp.add_argument("--by-metric", default=None, metavar="NAME",
                    help="both runs' TPR/FNR per bucket of this metric and their differences, "
                         "e.g. 'Object Area - Relative (L)'")
    cp.add_argument("--buckets", type=int, default=BUCKETS_DEFAULT,
                    help=f"number of buckets for --by-metric ({BUCKETS_MIN}..{BUCKETS_MAX})")
    cp.add_argument("--bucket-method", default="quantile", choices=list(BUCKET_METHODS))
    cp.add_argument("--bootstrap", type=int, default=BOOTSTRAP_RESAMPLES, metavar="N",
                    help=f"paired bootstrap resamples of the images (default {BOOTSTRAP_RESAMPLES:,})")
    cp.add_argument("--seed", type=int, default=BOOTSTRAP_SEED, help=f"seed of the resampling (default {BOOTSTRAP_SEED})")
    cp.add_argument("--json", default=None, metavar="OUT", help=JSON_HELP.format(what="the comparison"))
    add_metric_args(cp)


def parse_runs(values: list[str]) -> list[tuple[str, str]]:
    """``(name, path)`` of each ``--predictions`` value (:func:`detlens.app.workspace.parse_runs`): two runs.

    Raises:
        ValueError: not exactly two runs, an empty name or path around ``=``, or a name given twice.
    """
    runs = workspace.parse_runs(values)
    if len(runs) != RUNS:
        raise ValueError(f"compare takes exactly two runs (--predictions A=PATH --predictions B=PATH), "
                         f"got {len(runs)}")
    return runs


def _one_run(args: argparse.Namespace, path: str) -> argparse.Namespace:
    """``args`` with ``--predictions`` the one path, as ``detlens evaluate``'s helpers take it."""
    return argparse.Namespace(**{**vars(args), "predictions": path})


def run_compare(args: argparse.Namespace) -> int:
    """``detlens compare``: load both runs, match them, bootstrap, print a summary and write ``--json``."""
    from detlens.core.ap_rule import APRule
    from detlens.core.compare import compare_runs, run_outcomes, same_dataset
    from detlens.core.evaluation import Evaluator

    runs = parse_runs(args.predictions)
    outs = [json_output(_one_run(args, path)) for _, path in runs]  # never over an input; checked first
    if not 0.0 < args.iou <= 1.0:
        raise ValueError(f"--iou must be in (0, 1], got {args.iou}")
    if args.bootstrap < 1:
        raise ValueError(f"--bootstrap must be at least 1, got {args.bootstrap}")
    rule = APRule(args.ap_method, args.match, args.pixel_plus_one)
    classes = [c.strip() for c in args.classes.split(",") if c.strip()] if args.classes else None
    datasets = [load_data(_one_run(args, path)) for _, path in runs]
    problem = same_dataset(*datasets)
    if problem:
        raise ValueError(problem)
    metric = by_metric_name(args, datasets[0]) if args.by_metric else None  # before anything is printed
    unit, outcomes = "", []
    for (name, path), dataset in zip(runs, datasets):
        tables = metric_tables(_one_run(args, path), dataset) if metric else None
        if metric:
            info = tables.info[metric]
            unit = "" if info.custom else info.unit
        outcomes.append(run_outcomes(name, Evaluator(dataset), args.iou, classes, rule, tables=tables, metric=metric))
    comparison = compare_runs(*outcomes, n_buckets=args.buckets, bucket_method=args.bucket_method,
                              resamples=args.bootstrap, seed=args.seed, unit=unit)
    doc = comparison.to_dict()
    for side, (_, path) in zip(doc["runs"], runs):
        doc["runs"][side]["predictions"] = path
    doc["dataset"] = {"name": datasets[0].name, "images": len(datasets[0].images)}
    print(format_comparison(doc, rule.title))
    if outs[0] is not None:
        write_json(outs[0], doc)
    return 0


def _num(x: float | None, signed: bool = False) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:+.4f}" if signed else f"{x:.4f}"


def _ci(ci: list) -> str:
    return "-" if ci[0] is None else f"[{ci[0]:+.4f}, {ci[1]:+.4f}]"


def format_comparison(doc: dict, rule_title: str) -> str:
    """The readable summary of a ``detlens compare`` document: summary rows, classes, buckets, the finding."""
    a, b = doc["runs"]["A"]["name"], doc["runs"]["B"]["name"]
    boot = doc["bootstrap"]
    lines = [f"A = {a}   B = {b}   IoU {doc['iou_threshold']:.2f}   {rule_title}   "
             f"{boot['resamples']:,} paired resamples of {doc['dataset']['images']:,} images (seed {boot['seed']})",
             f"  {'':<14} {'A':>7} {'B':>7} {'B - A':>8}  {boot['level'] * 100:g}% CI"]
    rows = [("mAP", doc["mAP"]), ("mAR", doc["mAR"]), ("mAP@[.50:.95]", doc["mAP_50_95"])]
    rows += [(f"AP {name}", c["AP"]) for name, c in doc["per_class"].items()]
    for label, d in rows:
        lines.append(f"  {label:<14} {_num(d['A']):>7} {_num(d['B']):>7} {_num(d['delta'], True):>8}  {_ci(d['ci'])}")
    if "by_metric" in doc:
        lines += ["", f"Performance by metric: {doc['metric']} ({doc['bucket_method']} buckets)",
                  f"  {'range':<24} {'TPR A':>6} {'TPR B':>6} {'dTPR':>7} {'CI':>17}   "
                  f"{'FNR A':>6} {'FNR B':>6} {'dFNR':>7} {'CI':>17}"]
        for k, r in enumerate(doc["by_metric"]):
            rng = f"[{r['low']:.4g}, {r['high']:.4g}{']' if k == len(doc['by_metric']) - 1 else ')'}"
            cells = [f"{_num(r['A'][rate])[:6]:>6} {_num(r['B'][rate])[:6]:>6} "
                     f"{_num(r['delta_' + rate]['value'], True)[:7]:>7} {_ci(r['delta_' + rate]['ci']):>17}"
                     for rate in ("TPR", "FNR")]
            lines.append(f"  {rng:<24} {cells[0]}   {cells[1]}")
        lines.append(f"  {doc['finding']}")
    return "\n".join(lines)
