"""The ``detlens`` command line.

Imports stay lean at start-up: heavy modules are imported inside the
sub-command that needs them, so ``detlens evaluate`` starts fast.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

EXIT_BAD_INPUT = 2


def _add_data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--labels", required=True, help="ground truth: COCO JSON, VOC XML folder, YOLO or text folder")
    p.add_argument("--predictions", required=True, help="predictions: COCO results/dataset JSON, or a folder")
    p.add_argument("--images", default=None, help="folder with the image files (sizes, metrics)")
    p.add_argument("--format", default="auto", choices=["auto", "coco", "yolo", "voc", "txt"],
                   help="input format (auto: detected for each path on its own)")
    p.add_argument("--box-format", default="xyxy", choices=["xyxy", "xywh"],
                   help="text files: 'name [conf] left top right bottom' (xyxy) or 'name [conf] x y w h' (xywh)")
    p.add_argument("--names", default=None, help="class names file for YOLO / class-id text files")
    p.add_argument("--no-clip", action="store_true",
                   help="keep boxes that stick out of their image as given (pycocotools does not clip)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="detlens", description="Which properties of my data make my object detector fail?")
    sub = parser.add_subparsers(dest="command", required=True)

    ev = sub.add_parser("evaluate", help="mAP / mAR at one IoU threshold, exactly as pycocotools")
    _add_data_args(ev)
    ev.add_argument("--iou", type=float, default=0.5, help="IoU threshold t; a match needs IoU >= t (default 0.5)")
    ev.add_argument("--classes", default=None, help="comma-separated class names (default: all)")
    ev.add_argument("--ap-method", default="coco101", choices=["coco101", "voc_all_point", "voc_11_point"])
    ev.add_argument("--match", default="coco", choices=["coco", "voc"],
                    help="matching rule: coco (pycocotools, default) or voc (VOC devkit: max-IoU label, else duplicate)")
    ev.add_argument("--pixel-plus-one", action="store_true", help="legacy VOC '+1 pixel' box areas")
    ev.add_argument("--max-dets", default="100", help="predictions kept per image and class (default 100; 'all' = no cap)")
    ev.add_argument("--json", default=None, metavar="OUT", help="also write the result as JSON to OUT")

    demo = sub.add_parser("demo", help="write the embedded demo dataset (COCO files + images)")
    demo.add_argument("out_dir", help="folder to write labels.json, predictions.json and images/ into")
    demo.add_argument("--preset", default="default", help="generator preset (default, size, brightness)")
    demo.add_argument("--seed", type=int, default=0)
    return parser


def _parse_max_dets(text: str) -> int | None:
    if text.lower() in ("all", "none"):
        return None
    value = int(text)
    if value < 1:
        raise ValueError(f"--max-dets must be >= 1 or 'all', got {text}")
    return value


def _fmt(x: float | None) -> str:
    return "   -  " if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:6.4f}"


def format_evaluation(doc: dict) -> str:
    """A readable table of an evaluation document (``EvaluationResult.to_dict()`` plus extras)."""
    c = doc["counts"]
    lines = [
        f"IoU threshold {doc['iou_threshold']:.2f}   AP method {doc['ap_method']}   "
        f"matching {doc['match_method']}   max dets {doc['max_dets'] or 'all'}",
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


def run_evaluate(args: argparse.Namespace) -> int:
    from core.evaluation import Evaluator
    from core.io import load_dataset

    max_dets = _parse_max_dets(args.max_dets)
    if not 0.0 < args.iou <= 1.0:
        raise ValueError(f"--iou must be in (0, 1], got {args.iou}")
    dataset = load_dataset(args.labels, args.predictions, fmt=args.format, box_format=args.box_format,
                           images_dir=args.images, names_file=args.names, clip=not args.no_clip)
    for warning in dataset.warnings:
        print(f"note: {warning}", file=sys.stderr)
    classes = [c.strip() for c in args.classes.split(",") if c.strip()] if args.classes else None
    result = Evaluator(dataset).evaluate(
        iou_threshold=args.iou, classes=classes, ap_method=args.ap_method, max_dets=max_dets,
        match_method=args.match, pixel_plus_one=args.pixel_plus_one)
    doc = result.to_dict()
    doc["dataset"] = {"name": dataset.name, "images": len(dataset.images), "warnings": list(dataset.warnings)}
    print(format_evaluation(doc))
    if args.json:
        Path(args.json).write_text(json.dumps(doc, indent=2) + "\n")
    return 0


def run_demo(args: argparse.Namespace) -> int:
    from core.demo import DemoConfig, write_demo

    config = DemoConfig.preset(args.preset)
    if args.seed != config.seed:
        from dataclasses import replace
        config = replace(config, seed=args.seed)
    paths = write_demo(Path(args.out_dir), config)
    print(f"demo dataset written: labels {paths.labels}, predictions {paths.predictions}, images {paths.images_dir}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``detlens`` console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    handlers = {"evaluate": run_evaluate, "demo": run_demo}
    try:
        return handlers[args.command](args)
    except (ValueError, OSError) as exc:  # InputError is a ValueError; both are the user's input
        print(f"detlens: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
