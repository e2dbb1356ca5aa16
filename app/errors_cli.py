"""Error analysis on the command line: ``detlens evaluate --errors`` and ``detlens thresholds``.

``--errors`` adds to the evaluation document (rules: :mod:`detlens.core.tide`,
:mod:`detlens.core.confusion`, :mod:`detlens.core.operating_point`, :mod:`detlens.core.calibration`):

* ``tide``: ``{iou_threshold, bg_threshold, ap_base, delta_ap: {Cls, Loc, Both, Dupe, Bkg, Miss, FP, FN}, counts}``
* ``per_class_tide``: ``{NAME: {ap_base, delta_ap, counts}}``
* ``confusion``: ``{iou_threshold, max_dets_per_image, min_score, classes, matrix, rates}``
* ``thresholds``: ``{NAME: {score, precision, recall, F1, precision_at_score, recall_at_score}}`` (``F<beta>``)
* ``calibration``: ``{iou_threshold, ece, mce, bins, per_class}`` (None, with a note, when scores are not in [0, 1])

and, with ``--by-metric``, ``by_metric.buckets``: one ``{low, high, tide: {delta_ap, counts}, ece}`` per bucket.
``detlens thresholds`` writes the per-class F-beta-optimal thresholds alone, for deployment.
"""

from __future__ import annotations

import argparse
import math
import sys

from detlens.app.cli import add_data_args, json_output, load_data, parse_max_dets, write_json

DEFAULT_BETA = 1.0
DEFAULT_CALIBRATION_BINS = 10


def add_errors_args(ev: argparse.ArgumentParser) -> None:
    """``evaluate``'s error-analysis options."""
    ev.add_argument("--errors", action="store_true",
                    help="add the error analysis: TIDE error types and their ΔAP (overall, per class and, with "
                         "--by-metric, per bucket), the confusion matrix, F-optimal thresholds and calibration")
    ev.add_argument("--beta", type=float, default=DEFAULT_BETA,
                    help="F-beta of the thresholds (default 1: F1; > 1 weighs recall more)")
    ev.add_argument("--calibration-bins", type=int, default=DEFAULT_CALIBRATION_BINS, metavar="N",
                    help=f"equal-width confidence bins of the calibration (default {DEFAULT_CALIBRATION_BINS})")


def add_thresholds_parser(sub) -> None:
    """The ``thresholds`` sub-command's options."""
    th = sub.add_parser("thresholds", help="per-class F-beta-optimal confidence thresholds as JSON, for deployment")
    add_data_args(th)
    th.add_argument("--iou", type=float, default=0.5, help="IoU threshold t; a match needs IoU >= t (default 0.5)")
    th.add_argument("--classes", default=None, help="comma-separated class names (default: all)")
    th.add_argument("--beta", type=float, default=DEFAULT_BETA, help="F-beta to maximise (default 1: F1)")
    th.add_argument("--max-dets", default="100", help="predictions kept per image and class (default 100; 'all')")
    th.add_argument("--json", required=True, metavar="OUT",
                    help="write the thresholds to OUT ('-': standard output, the table to standard error)")


def check_error_args(args: argparse.Namespace) -> None:
    """Refuse ``--errors`` settings before any work.

    Raises:
        ValueError: ``--errors`` with VOC matching, a beta that is not > 0, or fewer than 1 calibration bin.
    """
    if not getattr(args, "errors", True):
        return
    if getattr(args, "match", "coco") != "coco":
        raise ValueError("--errors needs --match coco: TIDE's error types are defined on COCO matching")
    if not (math.isfinite(args.beta) and args.beta > 0):
        raise ValueError(f"--beta must be a number > 0, got {args.beta}")
    if getattr(args, "calibration_bins", 1) < 1:
        raise ValueError(f"--calibration-bins must be >= 1, got {args.calibration_bins}")


def add_error_analysis(doc: dict, evaluator, match, classes: list[str] | None, args: argparse.Namespace):
    """Add ``tide``, ``per_class_tide``, ``confusion``, ``thresholds`` and ``calibration`` to ``doc`` and print them.

    Returns:
        the :class:`~detlens.core.tide.ErrorClassification`, for :func:`add_bucket_errors`.
    """
    from detlens.core.calibration import calibration
    from detlens.core.confusion import confusion_matrix
    from detlens.core.operating_point import operating_points
    from detlens.core.tide import classify_errors, tide_errors

    errors = classify_errors(evaluator, match, classes)
    tide = tide_errors(evaluator, match, classes, ap_method=args.ap_method, errors=errors)
    doc["tide"] = tide.to_dict()
    doc["per_class_tide"] = tide.per_class_dict()
    confusion = confusion_matrix(evaluator, match.iou_threshold, classes, match.max_dets, match.min_score,
                                 match.pixel_plus_one)
    doc["confusion"] = confusion.to_dict()
    points = operating_points(evaluator, match, classes, args.beta)
    doc["thresholds"] = points.to_dict()
    try:
        doc["calibration"] = calibration(evaluator.dataset, match, classes, args.calibration_bins).to_dict()
    except ValueError as exc:  # logits instead of confidences: the rest of the analysis still stands
        doc["calibration"] = None
        print(f"note: calibration left out: {exc}", file=sys.stderr)
    print()
    print(format_errors(doc, points.beta, confusion.top_confusions(5)))
    return errors


def add_bucket_errors(doc: dict, evaluator, match, errors, tables, metric: str, args: argparse.Namespace) -> None:
    """Add ``by_metric.buckets``: each bucket's TIDE counts and ΔAP and its ECE (same edges as its TPR/FNR)."""
    from detlens.core.calibration import calibration_by_bucket
    from detlens.core.tide import tide_by_metric

    table = tide_by_metric(evaluator, match, errors, tables, metric, args.buckets, args.bucket_method,
                           args.ap_method)
    try:
        eces = [c.ece for c in calibration_by_bucket(evaluator.dataset, match, table.pred_bucket,
                                                     len(table.buckets), args.calibration_bins)]
    except ValueError:  # noted once by add_error_analysis
        eces = [None] * len(table.buckets)
    doc["by_metric"]["buckets"] = [
        {"low": float(table.edges[b]), "high": float(table.edges[b + 1]),
         "tide": {k: v for k, v in breakdown.to_dict().items() if k != "ap_base"}, "ece": eces[b]}
        for b, breakdown in enumerate(table.buckets)]
    print()
    print(format_bucket_errors(table.metric, doc["by_metric"]["buckets"]))


def _num(x: float | None, width: int = 7, digits: int = 4) -> str:
    return f"{'-':>{width}}" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:{width}.{digits}f}"


def format_errors(doc: dict, beta: float, top: list[tuple[str, str, int]]) -> str:
    """The printed error analysis: TIDE ΔAP and counts, thresholds per class, calibration, top confusions."""
    from detlens.core.operating_point import f_key
    from detlens.core.vocabulary import ErrorType, TideOracle

    tide = doc["tide"]
    types = [e.value for e in ErrorType]
    lines = [f"TIDE errors at IoU {tide['iou_threshold']:.2f} (background below {tide['bg_threshold']:g}); "
             "ΔAP = AP gained by fixing that type alone",
             "  " + " ".join(f"{t:>7}" for t in types + [o.value for o in TideOracle]),
             "  " + " ".join(_num(tide["delta_ap"][t]) for t in types + [o.value for o in TideOracle]),
             "  " + " ".join(f"{tide['counts'][t]:>7}" for t in types) + "   (counts)"]
    lines += ["", f"{f_key(beta)}-optimal thresholds", *format_thresholds(doc["thresholds"], f_key(beta))]
    cal = doc["calibration"]
    if cal is not None:
        lines += ["", f"Calibration: ECE {cal['ece']:.4f}   MCE {cal['mce']:.4f}   ({len(cal['bins'])} bins)"]
    if top:
        lines += ["", "Most confused (label -> prediction): "
                  + ", ".join(f"{a} -> {b} {n}" for a, b, n in top)]
    return "\n".join(lines)


def format_thresholds(thresholds: dict, key: str) -> list[str]:
    """Lines of a per-class threshold table (``thresholds``: the ``thresholds`` document, ``key``: ``F1``...)."""
    width = max([5] + [len(n) for n in thresholds])
    lines = [f"  {'class':<{width}}  {'score':>7}  {'prec.':>7}  {'recall':>7}  {key:>7}"]
    for name, p in thresholds.items():
        lines.append(f"  {name:<{width}}  {_num(p['score'])}  {_num(p['precision'])}  {_num(p['recall'])}  "
                     f"{_num(p[key])}")
    return lines


def format_bucket_errors(metric: str, buckets: list[dict]) -> str:
    """One line per bucket: error counts, the ΔAP of Loc, Cls and Miss, and the ECE."""
    from detlens.core.vocabulary import ErrorType

    types = [e.value for e in ErrorType]
    lines = [f"Errors by {metric}",
             f"  {'range':<25} " + " ".join(f"{t:>5}" for t in types) + "   ΔLoc    ΔCls    ΔMiss    ECE"]
    for i, b in enumerate(buckets):
        rng = f"[{b['low']:.4g}, {b['high']:.4g}{']' if i == len(buckets) - 1 else ')'}"
        counts = " ".join(f"{b['tide']['counts'][t]:>5}" for t in types)
        d = b["tide"]["delta_ap"]
        lines.append(f"  {rng:<25} {counts} {_num(d['Loc'])} {_num(d['Cls'])} {_num(d['Miss'])} {_num(b['ece'])}")
    return "\n".join(lines)


def run_thresholds(args: argparse.Namespace) -> int:
    """``detlens thresholds``: each class's F-beta-optimal confidence threshold, as JSON."""
    from detlens.core.evaluation import Evaluator
    from detlens.core.operating_point import f_key, operating_points

    out = json_output(args)
    max_dets = parse_max_dets(args.max_dets)
    if not 0.0 < args.iou <= 1.0:
        raise ValueError(f"--iou must be in (0, 1], got {args.iou}")
    check_error_args(args)
    dataset = load_data(args)
    classes = [c.strip() for c in args.classes.split(",") if c.strip()] if args.classes else None
    evaluator = Evaluator(dataset)
    points = operating_points(evaluator, evaluator.match(args.iou, max_dets, reasons=False), classes, args.beta)
    key = f_key(points.beta)
    doc = {"iou_threshold": points.iou_threshold, "beta": points.beta, "max_dets": max_dets,
           f"mean_{key}": None if math.isnan(points.mean_f) else points.mean_f, "thresholds": points.to_dict()}
    print(f"{key}-optimal thresholds at IoU {points.iou_threshold:.2f} (mean {key} {_num(doc[f'mean_{key}'], 1)})")
    print("\n".join(format_thresholds(doc["thresholds"], key)))
    write_json(out, doc)
    return 0
