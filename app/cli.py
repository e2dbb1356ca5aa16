"""The ``detlens`` command line.

Imports stay lean at start-up: heavy modules are imported inside the
sub-command that needs them, so ``detlens evaluate`` starts fast.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import re
import sys
from pathlib import Path
from typing import TextIO

EXIT_BAD_INPUT = 2
STDOUT = "-"  # --json -
JSON_HELP = ("also write {what} as JSON to OUT; '-': the JSON to standard output and the readable text to "
             "standard error")


def add_data_args(p: argparse.ArgumentParser, runs: bool = False) -> None:
    """The data options; ``runs``: ``--predictions`` is repeated, one ``NAME=PATH`` per run (``detlens compare``)."""
    p.add_argument("--labels", required=True, help="ground truth: COCO JSON, VOC XML folder, YOLO or text folder")
    if runs:
        p.add_argument("--predictions", required=True, action="append", metavar="NAME=PATH",
                       help="one run's predictions (as for evaluate), named; give it once per run; "
                            "a bare PATH is named after its file")
    else:
        p.add_argument("--predictions", required=True, help="predictions: COCO results/dataset JSON, or a folder")
    p.add_argument("--images", default=None, help="folder with the image files (pixel metrics)")
    p.add_argument("--format", default="auto", choices=["auto", "coco", "yolo", "voc", "txt"],
                   help="input format (auto: detected for each path on its own)")
    p.add_argument("--box-format", default="xyxy", choices=["xyxy", "xywh"],
                   help="text files: 'name [conf] left top right bottom' (xyxy) or 'name [conf] x y w h' (xywh)")
    p.add_argument("--names", default=None,
                   help="class names file of the labels (YOLO / class-id text files; also the predictions' "
                        "unless --pred-names)")
    p.add_argument("--pred-names", default=None, help="class names file of the predictions, when it differs")
    p.add_argument("--no-clip", action="store_true",
                   help="keep boxes that stick out of their image as given (pycocotools does not clip)")


def add_metric_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cache-dir", default=None, help="metric cache folder (default: ~/.cache/detlens)")
    p.add_argument("--workers", type=int, default=None, help="processes for the pixel pass (default: all cores)")
    p.add_argument("--frame-csv", default=None, help="CSV of custom frame metrics keyed by file_name")


def _add_serve_parser(sub) -> None:
    from detlens.app.config import (DEFAULT_HOST, DEFAULT_JOB_RUNNERS, DEFAULT_MAX_JOBS, DEFAULT_PORT,
                                    DEFAULT_RESULTS_CACHE_MB)

    sv = sub.add_parser("serve", help="open the dashboard in the browser (the embedded demo when no data is given)")
    sv.add_argument("--labels", default=None, help="ground truth (as for evaluate); omit with --predictions for the demo")
    sv.add_argument("--predictions", default=None, action="append", metavar="[NAME=]PATH",
                    help="predictions (as for evaluate); repeat it for several runs of these labels, each "
                         "NAME=PATH (a bare PATH is named after its file)")
    sv.add_argument("--workspace", default=None, metavar="FILE",
                    help="a TOML file listing datasets and their runs (instead of --labels/--predictions); "
                         "read again when it changes")
    sv.add_argument("--images", default=None, help="folder with the image files (pixel metrics)")
    sv.add_argument("--format", default="auto", choices=["auto", "coco", "yolo", "voc", "txt"])
    sv.add_argument("--box-format", default="xyxy", choices=["xyxy", "xywh"])
    sv.add_argument("--names", default=None, help="class names file of the labels (and predictions)")
    sv.add_argument("--pred-names", default=None, help="class names file of the predictions, when it differs")
    sv.add_argument("--no-clip", action="store_true", help="keep boxes that stick out of their image")
    sv.add_argument("--host", default=DEFAULT_HOST, help=f"interface to listen on (default {DEFAULT_HOST}: this machine only)")
    sv.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    sv.add_argument("--cache-dir", default=None, help="cache folder shared by all workers (default: ~/.cache/detlens)")
    sv.add_argument("--no-precompute", action="store_true",
                    help="do not pre-compute every IoU threshold after start (compute each when first chosen)")
    sv.add_argument("--workers", type=int, default=None,
                    help="web worker processes (default: min(4, cores))")
    sv.add_argument("--max-jobs", type=int, default=DEFAULT_MAX_JOBS,
                    help=f"background jobs computing at once on this host (default {DEFAULT_MAX_JOBS})")
    sv.add_argument("--job-runners", type=int, default=DEFAULT_JOB_RUNNERS,
                    help="long-lived job processes per web worker, which keep the memory their jobs touched; "
                         f"0 starts a fresh process per job (default {DEFAULT_JOB_RUNNERS})")
    sv.add_argument("--results-cache-mb", type=int, default=DEFAULT_RESULTS_CACHE_MB,
                    help=f"size bound of memoised results (default {DEFAULT_RESULTS_CACHE_MB} MB)")
    add_rule_args(sv, "the AP rule the page selects at first (the page's AP rule selector changes it)")
    _add_login_args(sv)
    sv.add_argument("--broker", default=None, metavar="URL",
                    help="Redis URL (redis://HOST:6379/0): background jobs and the preparation run on "
                         "'detlens worker' processes (default: on this host)")


def add_rule_args(p: argparse.ArgumentParser, note: str = "") -> None:
    """``--ap-method``, ``--match``, ``--pixel-plus-one``: the AP rule (:class:`detlens.core.ap_rule.APRule`)."""
    from detlens.core.ap import AP_METHODS
    from detlens.core.matching import MATCH_METHODS

    p.add_argument("--ap-method", default="coco101", choices=list(AP_METHODS), help=note or None)
    p.add_argument("--match", default="coco", choices=list(MATCH_METHODS),
                   help="matching rule: coco (pycocotools, default) or voc (VOC devkit: max-IoU label, else duplicate)")
    p.add_argument("--pixel-plus-one", action="store_true", help="legacy VOC '+1 pixel' box areas")


def _add_worker_parser(sub) -> None:
    wk = sub.add_parser("worker", help="a Celery worker for 'detlens serve --broker' (scale-out over machines)")
    wk.add_argument("--broker", required=True, metavar="URL", help="the Redis URL the web servers were given")
    wk.add_argument("--cache-dir", default=None,
                    help="the cache folder the web servers share (default: ~/.cache/detlens)")
    wk.add_argument("--concurrency", type=int, default=None, metavar="N",
                    help="jobs at once (default: the number of cores)")


def _add_login_args(sv: argparse.ArgumentParser) -> None:
    sv.add_argument("--users", default=None, metavar="FILE",
                    help="require login: user names and password hashes written by 'detlens user add'")
    sv.add_argument("--allowed-hosts", default="", metavar="A,B",
                    help="answer only these Host: names (port ignored; .example.org: its subdomains too); "
                         "default: any. Set it when others can reach the server")
    sv.add_argument("--insecure-no-auth", action="store_true",
                    help="serve a non-loopback --host without login (anyone who can reach it sees the data)")
    sv.add_argument("--trusted-proxies", type=int, default=0, metavar="N",
                    help="believe X-Forwarded-For/-Proto/-Host from the N reverse proxies in front (default 0)")


def _add_user_parser(sub) -> None:
    user = sub.add_parser("user", help="manage the users file of 'detlens serve --users FILE'")
    actions = user.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="add a user (or, with --force, set a new password)")
    add.add_argument("name", help="user name: letters, digits and . _ @ - (at most 64)")
    add.add_argument("--users", required=True, metavar="FILE", help="the users file (created when missing, mode 0600)")
    add.add_argument("--password-stdin", action="store_true",
                     help="read the password from the first line of standard input instead of asking twice")
    add.add_argument("--force", action="store_true", help="replace the password of an existing user")


def build_parser() -> argparse.ArgumentParser:
    from detlens.app.compare_cli import add_compare_parser
    from detlens.app.errors_cli import add_errors_args, add_thresholds_parser
    from detlens.core.settings import BUCKET_METHODS, BUCKETS_DEFAULT, BUCKETS_MAX, BUCKETS_MIN

    parser = argparse.ArgumentParser(
        prog="detlens", description="Which properties of my data make my object detector fail?")
    sub = parser.add_subparsers(dest="command", required=True)

    ev = sub.add_parser("evaluate", help="mAP / mAR at one IoU threshold, exactly as pycocotools")
    add_data_args(ev)
    ev.add_argument("--iou", type=float, default=0.5, help="IoU threshold t; a match needs IoU >= t (default 0.5)")
    ev.add_argument("--classes", default=None, help="comma-separated class names (default: all)")
    add_rule_args(ev)
    ev.add_argument("--max-dets", default="100", help="predictions kept per image and class (default 100; 'all' = no cap)")
    ev.add_argument("--min-score", type=float, default=None, metavar="S",
                    help="treat predictions scoring below S as absent, as the page's minimum confidence (default: keep all)")
    ev.add_argument("--json", default=None, metavar="OUT", help=JSON_HELP.format(what="the result"))
    ev.add_argument("--metrics", action="store_true",
                    help="rank metric importance/correlation (implied by --images; without images only "
                         "geometry metrics are available)")
    ev.add_argument("--by-metric", default=None, metavar="NAME",
                    help="print TPR/FNR per bucket of this metric, e.g. 'Object Area - Relative (L)'")
    ev.add_argument("--buckets", type=int, default=BUCKETS_DEFAULT,
                    help=f"number of buckets for --by-metric ({BUCKETS_MIN}..{BUCKETS_MAX})")
    ev.add_argument("--bucket-method", default="quantile", choices=list(BUCKET_METHODS))
    add_metric_args(ev)
    add_errors_args(ev)

    mt = sub.add_parser("metrics", help="compute and cache every quality metric, print a summary")
    add_data_args(mt)
    add_metric_args(mt)
    mt.add_argument("--json", default=None, metavar="OUT", help=JSON_HELP.format(what="the summary"))

    _add_serve_parser(sub)
    add_compare_parser(sub)
    add_thresholds_parser(sub)
    _add_user_parser(sub)
    _add_worker_parser(sub)

    demo = sub.add_parser("demo", help="write the embedded demo dataset (COCO files + images)")
    demo.add_argument("out_dir", help="folder to write labels.json, predictions.json and images/ into")
    demo.add_argument("--preset", default="default", help="generator preset (default, size, brightness)")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--force", action="store_true",
                      help="write into a folder that is not empty (files of the same name are replaced)")
    return parser


def parse_max_dets(text: str) -> int | None:
    """``--max-dets`` as core takes it: an int >= 1, or None for 'all'."""
    if text.lower() in ("all", "none"):
        return None
    value = int(text)
    if value < 1:
        raise ValueError(f"--max-dets must be >= 1 or 'all', got {text}")
    return value


def _parse_min_score(value: float | None) -> float | None:
    """``--min-score`` as core takes it: None (0 too, as on the page) keeps every prediction."""
    if value is not None and not (math.isfinite(value) and value >= 0):
        raise ValueError(f"--min-score must be a number >= 0, got {value}")
    return value or None


def _fmt(x: float | None) -> str:
    return "   -  " if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:6.4f}"


def format_evaluation(doc: dict) -> str:
    """A readable table of an evaluation document (``EvaluationResult.to_dict()`` plus extras)."""
    c = doc["counts"]
    lines = [
        f"IoU threshold {doc['iou_threshold']:.2f}   AP method {doc['ap_method']}   "
        f"matching {doc['match_method']}   max dets {doc['max_dets'] or 'all'}"
        + (f"   min score {doc['min_score']:g}" if doc.get("min_score") else ""),
        f"mAP {_fmt(doc['mAP'])}   mAR {_fmt(doc['mAR'])}   "
        f"labels {c['labels']}  predictions {c['predictions']}  TP {c['TP']}  FP {c['FP']}  FN {c['FN']}"
        + (f"  ignored {c['ignored']}" if c.get("ignored") else ""),
        "",
    ]
    names = list(doc["per_class"])
    width = max([5] + [len(n) for n in names])
    lines.append(f"{'class':<{width}}  {'AP':>6}  {'AR':>6}  {'labels':>7}  {'preds':>7}  {'TP':>6}  {'FP':>6}  {'FN':>6}")
    for name in names:
        r = doc["per_class"][name]
        lines.append(f"{name:<{width}}  {_fmt(r['AP'])}  {_fmt(r['AR'])}  {r['labels']:>7}  {r['predictions']:>7}  "
                     f"{r['TP']:>6}  {r['FP']:>6}  {r['FN']:>6}")
    return "\n".join(lines)


def load_data(args: argparse.Namespace):
    from detlens.core.io import load_dataset

    dataset = load_dataset(args.labels, args.predictions, fmt=args.format, box_format=args.box_format,
                           images_dir=args.images, names_file=args.names, clip=not args.no_clip,
                           pred_names_file=args.pred_names)
    for warning in dataset.warnings:
        print(f"note: {warning}", file=sys.stderr)
    return dataset


def metric_tables(args: argparse.Namespace, dataset):
    from detlens.app.config import default_cache_dir
    from detlens.core.metrics.tables import compute_metric_tables

    progress = None
    if args.images is not None:
        from detlens.core.metrics.pixel_pass import text_progress

        progress = text_progress(sys.stderr)
    tables = compute_metric_tables(
        dataset, args.images, cache_dir=args.cache_dir or default_cache_dir(), workers=args.workers,
        progress=progress, frame_csv=args.frame_csv)
    for warning in tables.warnings:
        print(f"note: {warning}", file=sys.stderr)
    return tables


def format_ranking(title: str, ranking: list) -> str:
    """Metric importance and correlation as an aligned table, most important first."""
    width = max([6] + [len(d.metric) for d in ranking])
    lines = [title, f"  {'metric':<{width}}  importance  {'90% interval':>14}  correlation"]
    for d in ranking:
        interval = "-" if math.isnan(d.importance_low) else f"[{d.importance_low:.3f}, {d.importance_high:.3f}]"
        lines.append(f"  {d.metric:<{width}}  {_fmt(d.importance):>10}  {interval:>14}  "
                     f"{'   -  ' if math.isnan(d.correlation) else f'{d.correlation:+.3f}':>11}")
    return "\n".join(lines)


def format_buckets(table) -> str:
    """Performance by metric: one line per bucket with TPR and FNR and their 95% intervals."""
    def cell(curve, b):
        if curve is None:
            return f"{'n/a':>24}"
        if curve.totals[b] == 0:
            return f"{'-':>6} {'':>10} {0:>6}"
        return f"{curve.rate[b]:6.3f} [{curve.low[b]:.2f},{curve.high[b]:.2f}] {curve.totals[b]:>6}"

    lines = [f"Performance by metric: {table.metric} ({table.method} buckets)",
             f"  {'range':<25} {'TPR':>6} {'95% CI':>11} {'preds':>6}   {'FNR':>6} {'95% CI':>11} {'labels':>6}"]
    for b in range(table.n_buckets):
        rng = f"[{table.edges[b]:.4g}, {table.edges[b + 1]:.4g}{']' if b == table.n_buckets - 1 else ')'}"
        lines.append(f"  {rng:<25} {cell(table.tpr, b)}   {cell(table.fnr, b)}")
    avg_t = "n/a" if table.tpr is None else f"{table.tpr.average:.3f}"
    avg_f = "n/a" if table.fnr is None else f"{table.fnr.average:.3f}"
    lines.append(f"  average TPR {avg_t}   average FNR {avg_f}")
    return "\n".join(lines)


INPUT_OPTIONS = ("labels", "predictions", "names", "pred_names", "frame_csv", "images")  # never written to


def json_output(args: argparse.Namespace) -> Path | TextIO | None:
    """The ``--json`` file, checked before any work: never an input or inside an input folder
    (see :func:`detlens.core.files.check_output`); ``--json -``: the standard output :func:`main` set aside."""
    from detlens.core.files import check_output

    if not args.json:
        return None
    if args.json == STDOUT:
        return args.json_stream
    inputs = {"--" + option.replace("_", "-"): getattr(args, option, None) for option in INPUT_OPTIONS}
    return check_output(args.json, inputs, "--json")


def write_json(out: Path | TextIO, doc: dict) -> None:
    from detlens.core.files import write_atomic

    if not isinstance(out, Path):  # --json -
        out.write(json.dumps(doc, indent=2) + "\n")
        out.flush()
        return
    if out.exists():
        print(f"note: replacing {out}", file=sys.stderr)
    write_atomic(out, json.dumps(doc, indent=2) + "\n")


def by_metric_name(args: argparse.Namespace, dataset) -> str:
    """The metric ``--by-metric`` names, checked before any work is printed (the pixel pass included).

    A name without its level suffix is resolved when that is unambiguous: an
    object metric's ``(P)`` and ``(L)`` twins give the same table (predictions
    by one, labels by the other), so only a base name that is both a frame and an
    object metric is ambiguous. Letter case is not significant.

    Raises:
        ValueError: the buckets are out of range, the metric needs ``--images``, or it is unknown or
            ambiguous (the message lists the metrics available for these inputs).
    """
    from detlens.core.metrics.registry import BUILTIN_METRICS, FRAME, level_of
    from detlens.core.metrics.tables import compute_metric_tables
    from detlens.core.settings import BUCKETS_MAX, BUCKETS_MIN

    if not BUCKETS_MIN <= args.buckets <= BUCKETS_MAX:
        raise ValueError(f"--buckets must be between {BUCKETS_MIN} and {BUCKETS_MAX}, got {args.buckets}")
    wanted = args.by_metric.strip().casefold()
    pixel = [m.name for m in BUILTIN_METRICS if m.needs_images]
    if args.images is None and (named := [n for n in pixel if wanted in (n.casefold(), n[:-4].casefold())]):
        raise ValueError(f"--by-metric: {named[0]} needs --images (the folder with the image files)")
    # every metric but the pixel ones is cheap to list: geometry, custom fields, the frame CSV's columns
    available = list(compute_metric_tables(dataset, None, frame_csv=args.frame_csv).info)
    available += pixel if args.images is not None else []
    exact = [n for n in available if n.casefold() == wanted]
    if exact:
        return exact[0]
    same_base = [n for n in available if n[:-4].casefold() == wanted]
    levels = {level_of(n) == FRAME for n in same_base}  # {True}: the frame metric; {False}: object twins
    if len(levels) == 1:
        return same_base[0]
    problem = f"{args.by_metric!r} is ambiguous" if same_base else f"unknown metric {args.by_metric!r}"
    raise ValueError(f"--by-metric: {problem}; choose one of: {', '.join(available)}"
                     + ("" if args.images is not None else " (pixel metrics such as Brightness (F) need --images)"))


def run_evaluate(args: argparse.Namespace) -> int:
    from detlens.app.errors_cli import add_bucket_errors, add_error_analysis, check_error_args
    from detlens.core.evaluation import Evaluator

    out = json_output(args)
    max_dets = parse_max_dets(args.max_dets)
    min_score = _parse_min_score(args.min_score)
    if not 0.0 < args.iou <= 1.0:
        raise ValueError(f"--iou must be in (0, 1], got {args.iou}")
    check_error_args(args)
    dataset = load_data(args)
    by_metric = by_metric_name(args, dataset) if args.by_metric else None  # before anything is printed
    classes = [c.strip() for c in args.classes.split(",") if c.strip()] if args.classes else None
    evaluator = Evaluator(dataset)
    # outcomes only: AP, AR and the metric statistics do not need false-positive reasons
    match = evaluator.match(args.iou, max_dets, args.match, args.pixel_plus_one, min_score=min_score, reasons=False)
    result = evaluator.evaluate_match(match, classes=classes, ap_method=args.ap_method)
    doc = result.to_dict()
    doc["dataset"] = {"name": dataset.name, "images": len(dataset.images), "warnings": list(dataset.warnings)}
    print(format_evaluation(doc))
    errors = add_error_analysis(doc, evaluator, match, classes, args) if args.errors else None
    if args.images is not None or args.metrics or args.by_metric:
        from detlens.core.analysis import performance_by_metric, rank_metrics, too_few_to_rank
        from detlens.core.vocabulary import Side

        tables = metric_tables(args, dataset)
        if args.images is not None or args.metrics:
            for side, prefix in ((Side.PREDICTIONS, "metric"), (Side.LABELS, "label_metric")):
                title = f"{side.value[:-1].capitalize()} side ({' vs '.join(side.outcome_words)})"
                ranking = rank_metrics(dataset, tables, match, classes, side=side)
                rows = [d.to_dict() for d in ranking]
                doc[f"{prefix}_importance"] = {r["metric"]: r["importance"] for r in rows}
                doc[f"{prefix}_importance_interval"] = {
                    r["metric"]: None if r["importance_low"] is None else [r["importance_low"], r["importance_high"]]
                    for r in rows}
                doc[f"{prefix}_correlation"] = {r["metric"]: r["correlation"] for r in rows}
                print()
                print(format_ranking(f"Metric importance, {title}:", ranking))
                caveat = too_few_to_rank(ranking, side)
                if caveat:
                    print(f"  {caveat}")
        if args.by_metric:
            table = performance_by_metric(dataset, tables, match, by_metric, classes, args.buckets,
                                          args.bucket_method)
            doc["by_metric"] = table.to_dict()
            print()
            print(format_buckets(table))
            if errors is not None:
                add_bucket_errors(doc, evaluator, match, errors, tables, by_metric, args)
    if out is not None:
        write_json(out, doc)
    return 0


def run_metrics(args: argparse.Namespace) -> int:
    out = json_output(args)
    dataset = load_data(args)
    tables = metric_tables(args, dataset)
    summary = tables.summary()
    width = max(len(n) for n in summary)
    print(f"{len(summary)} metrics for {len(dataset.images)} images, {len(dataset.labels)} labels, "
          f"{len(dataset.predictions)} predictions")
    print(f"  {'metric':<{width}}  {'values':>8} {'missing':>8} {'min':>10} {'median':>10} {'max':>10}")
    for name, row in summary.items():
        stats = "".join(f" {'-' if row[k] is None else f'{row[k]:.4g}':>10}" for k in ("min", "median", "max"))
        print(f"  {name:<{width}}  {row['values']:>8} {row['missing']:>8}{stats}")
    if out is not None:
        write_json(out, {"metrics": summary, "warnings": list(tables.warnings)})
    return 0


def run_demo(args: argparse.Namespace) -> int:
    from detlens.core.demo import DemoConfig, write_demo

    out = Path(args.out_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out} is a file, not a folder")
    if out.is_dir() and any(out.iterdir()) and not args.force:
        raise ValueError(f"{out} is not empty: add --force to write the demo into it "
                         "(its files of the same name are replaced)")
    config = DemoConfig.preset(args.preset)
    if args.seed != config.seed:
        from dataclasses import replace
        config = replace(config, seed=args.seed)
    paths = write_demo(out, config)
    print(f"demo dataset written: labels {paths.labels}, predictions {paths.predictions}, images {paths.images_dir}")
    return 0


def run_serve(args: argparse.Namespace) -> int:
    """``detlens serve``: the dashboard on the given data, or on the embedded demo without data arguments."""
    from detlens.app.config import ServeConfig, default_cache_dir, default_workers
    from detlens.app.security import check_exposure
    from detlens.app.server import serve
    from detlens.app.source import DataSource
    from detlens.app.workspace import Workspace, parse_runs, read_workspace

    if args.workspace and (args.labels or args.predictions):
        raise ValueError("give --workspace, or --labels and --predictions, not both")
    if bool(args.labels) != bool(args.predictions):
        raise ValueError("give both --labels and --predictions, or neither to serve the embedded demo")
    if args.broker:  # before anything is written
        celery_jobs().check_broker(args.broker)
    workspace = read_workspace(args.workspace) if args.workspace else None  # its runs: errors shown on the page
    checked = None
    if args.labels:
        runs = parse_runs(args.predictions)
        source = DataSource(labels=args.labels, predictions=runs[0][1], images=args.images, fmt=args.format,
                            box_format=args.box_format, names=args.names, clip=not args.no_clip,
                            pred_names=args.pred_names)
        workspace = Workspace.of_runs(source, runs)
        checked = workspace.runs
    config = ServeConfig(cache_dir=Path(args.cache_dir or default_cache_dir()), workspace=workspace, host=args.host,
                         port=args.port, precompute=not args.no_precompute, broker=args.broker,
                         workers=default_workers() if args.workers is None else args.workers, max_jobs=args.max_jobs,
                         job_runners=args.job_runners, results_cache_mb=args.results_cache_mb,
                         ap_method=args.ap_method, match_method=args.match, pixel_plus_one=args.pixel_plus_one,
                         **_login_options(args))
    for name in ("workers", "max_jobs", "results_cache_mb"):
        if getattr(config, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(config, name)}")
    if config.job_runners < 0:
        raise ValueError(f"--job-runners must be 0 or more, got {config.job_runners}")
    warning = check_exposure(config)  # before anything is written or bound
    if warning:
        print(warning, file=sys.stderr)
    if checked:
        check_runs(args, config.cache_dir, checked)
    return serve(config)


def check_runs(args: argparse.Namespace, cache_dir: Path, runs) -> None:
    """Load the files of every run ``serve`` was given that is not prepared in ``cache_dir`` yet: bad input
    gives one line and exit 2 before anything is bound. What loads is handed to the preparation
    (:func:`~detlens.app.preparation.hand_over`), which would otherwise parse the same files again."""
    from detlens.app.cache import SharedCache
    from detlens.app.preparation import hand_over, is_ready

    cache = SharedCache(cache_dir) if (cache_dir / "data").is_dir() else None  # a new cache has nothing ready
    for run in runs:
        if cache is not None and is_ready(cache, run.source):
            continue  # checked when it was prepared, and its files have not changed since (the source id)
        dataset = load_data(argparse.Namespace(**{**vars(args), "predictions": run.source.predictions}))
        cache = cache or SharedCache(cache_dir)
        hand_over(cache, run.source, dataset)
        del dataset  # the server process does not keep it


def celery_jobs():
    """The module :mod:`detlens.app.celery_jobs`.

    Raises:
        ValueError: the ``celery`` extra is not installed (one line saying how to install it).
    """
    try:
        import detlens.app.celery_jobs as module
    except ImportError as exc:
        raise ValueError(f"--broker needs the celery extra: pip install 'detlens[celery]' ({exc})") from None
    return module


def run_worker(args: argparse.Namespace) -> int:
    """``detlens worker``: background jobs and preparations of ``detlens serve --broker`` on this machine."""
    from detlens.app.config import ServeConfig, default_cache_dir

    if args.concurrency is not None and args.concurrency < 1:
        raise ValueError(f"--concurrency must be >= 1, got {args.concurrency}")
    config = ServeConfig(cache_dir=Path(args.cache_dir or default_cache_dir()), broker=args.broker)
    return celery_jobs().run_worker(config, args.concurrency)


def _login_options(args: argparse.Namespace) -> dict:
    """``ServeConfig`` fields of serve's login options; the users file is read once here to fail early."""
    from detlens.app.config import split_hosts
    from detlens.app.users import read_users

    if args.users:
        read_users(args.users)
    if args.trusted_proxies < 0:
        raise ValueError(f"--trusted-proxies must be >= 0, got {args.trusted_proxies}")
    return dict(users_file=Path(args.users) if args.users else None, allowed_hosts=split_hosts(args.allowed_hosts),
                insecure_no_auth=args.insecure_no_auth, trusted_proxies=args.trusted_proxies)


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().removesuffix("\n").removesuffix("\r")
    import getpass

    try:
        password = getpass.getpass(f"Password for {args.name}: ")
        again = getpass.getpass("The same password again: ")
    except (EOFError, KeyboardInterrupt):
        raise ValueError("no password was given; nothing was written") from None
    if again != password:
        raise ValueError("the two passwords differ; nothing was written")
    return password


def run_user(args: argparse.Namespace) -> int:
    """``detlens user add``: add a user to a users file, or set a new password with ``--force``."""
    from detlens.app.users import add_user

    replaced = add_user(args.users, args.name, _read_password(args), force=args.force)
    print(f"{'password of' if replaced else 'user'} {args.name} {'replaced' if replaced else 'added'} in {args.users}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``detlens`` console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    from detlens.app.compare_cli import run_compare
    from detlens.app.errors_cli import run_thresholds

    handlers = {"evaluate": run_evaluate, "metrics": run_metrics, "demo": run_demo, "serve": run_serve,
                "worker": run_worker, "user": run_user, "compare": run_compare, "thresholds": run_thresholds}
    json_to_stdout = getattr(args, "json", None) == STDOUT
    args.json_stream = sys.stdout  # --json -: the JSON alone goes here, every printed line to standard error
    try:
        with contextlib.redirect_stdout(sys.stderr) if json_to_stdout else contextlib.nullcontext():
            return handlers[args.command](args)
    except (ValueError, OSError) as exc:  # InputError is a ValueError; both are the user's input
        print(f"detlens: error: {in_cli_words(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT


# core's parameter names as the options that set them, for messages (core words its errors in its own names)
CLI_NAMES = {"images_dir": "--images", "names_file": "--names", "pred_names_file": "--pred-names",
             "box_format": "--box-format", "fmt": "--format", "frame_csv": "--frame-csv", "ap_method": "--ap-method",
             "max_dets": "--max-dets", "min_score": "--min-score", "cache_dir": "--cache-dir"}
_CLI_NAME_RE = re.compile(r"(?<![\w./-])(" + "|".join(CLI_NAMES) + r")(?![\w./-])")


def in_cli_words(exc: BaseException) -> str:
    """The one-line message of ``exc`` with core's parameter names replaced by the options that set them.

    ``"imgs: images_dir: is not a folder"`` -> ``"imgs: --images: is not a folder"``. The file name of an
    :class:`~detlens.core.io.InputError` is kept as it is, whatever it is called.
    """
    from detlens.core.io.errors import InputError

    def words(text: str) -> str:
        return _CLI_NAME_RE.sub(lambda m: CLI_NAMES[m.group(1)], text)

    if isinstance(exc, InputError):
        return " ".join(f"{exc.file}: {words(exc.record)}: {words(exc.problem)}".split())
    return words(str(exc))


if __name__ == "__main__":
    sys.exit(main())
