"""Benchmark: detlens vs pycocotools, faster-coco-eval and hotcoco on a COCO-val-sized set.

A benchmark, not a test: it measures and reports, nothing fails on timing.

    .venv/bin/python benchmarks/bench_evaluate.py [--images 5000] [--out benchmarks/out/]

Steps (one process): generate 5,000 images / ~33k labels / ~500k predictions /
80 classes with ``core.demo`` (preset "benchmark") into ``--out``; time loading
and single-threshold bbox evaluation (IoU 0.5, area "all" [0, 1e10], maxDets 100)
for every tool; compare per-class AP/AR; time the ``detlens evaluate`` command
against a plain hotcoco Python process (``--repeat`` alternating pairs; the
headline is the median per-pair wall-time ratio against the 2.0 target); measure
detlens' peak RSS in a child process; print a table, the targets (PASS/MISS)
and a README-ready Markdown table; write ``<out>/bench_evaluate.json``.
``--processes-only`` runs just the process comparison (repeat it on a noisy
machine: ``--processes-only --repeat 15``).

``--scales 0.1,1,10`` is the scaling run: for each scale it generates ``scale x --images``
images (data kept in ``<out>/scale_<s>/`` and reused), runs the whole ``detlens evaluate``
process and a hotcoco load+evaluate process in ``--repeat`` alternating pairs, and prints
each tool's median wall time and peak RSS, their ratios (targets: time <= 2x, memory
<= 1.5x hotcoco's) and how each grew from the previous scale; it writes
``<out>/bench_scales.json``.

Environment: some machines set OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, which slow
numpy down. The script does not touch them; to measure without them run

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python benchmarks/bench_evaluate.py
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PY = sys.executable
IOU, MAX_DETS, AREA_ALL = 0.5, 100, [0.0, 1e10]
PROCESS_TARGET = 2.0  # the whole `detlens evaluate` process within 2x of a hotcoco load+evaluate process
MEMORY_TARGET = 1.5  # its peak RSS within 1.5x of the hotcoco process's (issue 13, at 5M predictions)


def timed(fn, repeat=1):
    """(median seconds, last result) of ``repeat`` calls of ``fn``."""
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def quiet(fn):
    """Run ``fn`` with stdout swallowed (pycocotools prints progress)."""
    with contextlib.redirect_stdout(io.StringIO()):
        return fn()


# A small launcher process runs each command: ru_maxrss of a child forked from this
# (large) benchmark process would start at the parent's RSS, not the child's own. A command's
# peak is the larger of its largest process's ru_maxrss and the largest sum of its process tree's
# RSS sampled every 10 ms: detlens decodes a large results file in two processes at once.
LAUNCHER = """import json, resource, subprocess, sys, threading, time
import psutil
t = time.perf_counter(); p = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
tree_peak = [0]
def sample():
    while p.poll() is None:
        try:
            root = psutil.Process(p.pid)
            total = sum(q.memory_info().rss for q in [root, *root.children(recursive=True)])
            tree_peak[0] = max(tree_peak[0], total)
        except psutil.Error:
            pass
        time.sleep(0.01)
sampler = threading.Thread(target=sample, daemon=True); sampler.start()
out, err = p.communicate(); wall = time.perf_counter() - t; sampler.join()
u = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall": wall, "cpu": u.ru_utime + u.ru_stime,
                  "peak_rss_mb": max(u.ru_maxrss / 1024, tree_peak[0] / 2**20),
                  "rc": p.returncode, "tail": (err or out).strip().splitlines()[-1:]}))"""


def run_measured(cmd):
    """Run ``cmd`` (via the launcher): dict with wall and CPU seconds, peak RSS MB, return code."""
    out = subprocess.run([PY, "-c", LAUNCHER, *cmd], capture_output=True, text=True, cwd=ROOT, check=True)
    return json.loads(out.stdout)


# ---------------------------------------------------------------- data
def make_data(n_images: int, out: Path) -> tuple[Path, Path, str]:
    from detlens.core.demo import DemoConfig, generate_annotations

    gt, results = generate_annotations(DemoConfig.preset("benchmark", n_images=n_images))
    labels, preds = out / "labels.json", out / "predictions.json"
    labels.write_bytes(orjson.dumps(gt))
    preds.write_bytes(orjson.dumps(results))
    n_cls = len(gt["categories"])
    return labels, preds, f"{len(gt['images'])} images, {len(gt['annotations'])} labels, {len(results)} predictions, {n_cls} classes"


# ---------------------------------------------------------------- tools
def coco_params(p, iou):
    p.iouThrs = np.array([iou])
    p.areaRng, p.areaRngLbl, p.maxDets = [AREA_ALL], ["all"], [MAX_DETS]


def per_class(eval_dict):
    """(AP, AR) per class from a pycocotools-style ``eval`` dict; NaN for classes without labels."""
    prec = np.asarray(eval_dict["precision"])[0, :, :, 0, 0]  # [R, K]
    rec = np.asarray(eval_dict["recall"])[0, :, 0, 0]
    ap = np.where((prec > -1).all(axis=0), prec.mean(axis=0), np.nan)
    return ap, np.where(rec > -1, rec, np.nan)


def bench_pycocotools(L, P):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    def load():
        gt = COCO(str(L))
        return gt, gt.loadRes(str(P))

    def evaluate(gt, dt):
        ev = COCOeval(gt, dt, "bbox")
        coco_params(ev.params, IOU)
        ev.evaluate(), ev.accumulate()
        return ev

    t_load, (gt, dt) = timed(lambda: quiet(load))
    t_eval, ev = timed(lambda: quiet(lambda: evaluate(gt, dt)))
    return {"load": t_load, "eval": t_eval}, per_class(ev.eval)


def bench_faster_coco_eval(L, P, repeat):
    from faster_coco_eval import COCO, COCOeval_faster

    def load():
        gt = COCO(str(L))
        return gt, gt.loadRes(str(P))

    def evaluate(gt, dt):
        ev = COCOeval_faster(gt, dt, "bbox", print_function=lambda *a, **k: None)
        coco_params(ev.params, IOU)
        ev.evaluate(), ev.accumulate()
        return ev

    t_load, (gt, dt) = timed(load, repeat)
    t_eval, ev = timed(lambda: evaluate(gt, dt), repeat)
    return {"load": t_load, "eval": t_eval}, per_class(ev.eval)


HOTCOCO_EVAL = """
def hotcoco_eval(gt, dt, iou):
    ev = COCOeval(gt, dt, "bbox")
    p = ev.params
    p.iou_thrs, p.max_dets, p.area_rng, p.area_rng_lbl = [iou], [100], [[0.0, 1e10]], ["all"]
    ev.params = p
    ev.evaluate()
    ev.accumulate()
    return ev
"""


def bench_hotcoco(L, P, repeat):
    from hotcoco import COCO, COCOeval

    ns = {"COCOeval": COCOeval}
    exec(HOTCOCO_EVAL, ns)
    hotcoco_eval = ns["hotcoco_eval"]

    def load():
        gt = COCO(str(L))
        return gt, gt.load_res(str(P))

    t_load, (gt, dt) = timed(load, repeat)
    t_eval, ev = timed(lambda: hotcoco_eval(gt, dt, IOU), repeat)
    t_eval75, _ = timed(lambda: hotcoco_eval(gt, dt, 0.75), repeat)
    return {"load": t_load, "eval": t_eval, "eval_0.75": t_eval75}, per_class(ev.eval)


def bench_detlens(L, P, repeat):
    from detlens.core.evaluation import Evaluator
    from detlens.core.io import load_dataset

    t_load, ds = timed(lambda: load_dataset(str(L), str(P)), repeat)
    t_eval, r = timed(lambda: Evaluator(ds).evaluate(iou_threshold=IOU, max_dets=MAX_DETS), repeat)
    ev = Evaluator(ds)
    ev.evaluate(iou_threshold=IOU, max_dets=MAX_DETS)  # fills the IoU cache
    t_cand, _ = timed(lambda: Evaluator(ds).candidates(), repeat)
    t_re, _ = timed(lambda: ev.evaluate(iou_threshold=0.75, max_dets=MAX_DETS), repeat)
    ap = np.array([c.ap for c in r.per_class], float)
    ar = np.array([c.ar for c in r.per_class], float)
    return {"load": t_load, "eval": t_eval, "candidates": t_cand, "eval_0.75_cached": t_re}, (ap, ar)


def max_diff(a, b):
    """Max |a - b| over classes, NaN (no labels) must agree."""
    (ap1, ar1), (ap2, ar2) = a, b
    if np.isnan(ap1).tolist() != np.isnan(ap2).tolist():
        return float("inf"), float("inf")
    f = lambda x, y: float(np.nanmax(np.abs(x - y), initial=0.0))  # noqa: E731
    return f(ap1, ap2), f(ar1, ar2)


# ---------------------------------------------------------------- processes
def process_commands(L, P, out: Path) -> dict[str, list[str]]:
    """The whole-process commands: the ``detlens evaluate`` CLI, a plain hotcoco script, and a
    load+evaluate script for detlens' peak memory."""
    detlens_bin = Path(PY).parent / "detlens"
    cli = [str(detlens_bin)] if detlens_bin.exists() else [PY, "-m", "detlens.app.cli"]
    cli += ["evaluate", "--labels", str(L), "--predictions", str(P), "--iou", "0.5", "--json", str(out / "detlens_eval.json")]
    hot = [PY, "-c", "from hotcoco import COCO, COCOeval\n" + HOTCOCO_EVAL
           + f"gt = COCO({str(L)!r}); ev = hotcoco_eval(gt, gt.load_res({str(P)!r}), 0.5)\n"
             "print(ev.eval['precision'][0, :, :, 0, 0].mean())"]
    mem = [PY, "-c", "from detlens.core.io import load_dataset; from detlens.core.evaluation import Evaluator\n"
           f"r = Evaluator(load_dataset({str(L)!r}, {str(P)!r})).evaluate(0.5, max_dets=100); print(r.m_ap)"]
    return {"detlens_memory": mem, "detlens_cli": cli, "hotcoco_process": hot}


def bench_processes(L, P, out: Path, repeat, memory_run: bool = True):
    """Whole-command wall times (start-up included) and peak RSS of each child.

    The detlens CLI and the hotcoco process run in alternation, ``repeat`` pairs, so that load from
    other processes on a shared machine hits both alike; ``ratio`` is the median of the per-pair
    ratios (``ratios`` lists them all).
    """
    cmds = process_commands(L, P, out)
    load_before = os.getloadavg()[0]
    runs: dict[str, list[dict]] = {"detlens_cli": [], "hotcoco_process": []}
    if memory_run:
        runs["detlens_memory"] = [run_measured(cmds["detlens_memory"])]
    for _ in range(repeat):
        for name in ("detlens_cli", "hotcoco_process"):
            runs[name].append(run_measured(cmds[name]))
    res = {}
    for name, rs in runs.items():
        ok = all(r["rc"] == 0 for r in rs)
        res[name] = {"wall": statistics.median(r["wall"] for r in rs) if ok else None,
                     "walls": [r["wall"] for r in rs],
                     "cpu": statistics.median(r["cpu"] for r in rs),
                     "peak_rss_mb": max(r["peak_rss_mb"] for r in rs), "ok": ok,
                     "error": None if ok else rs[-1]["tail"]}
    if res["detlens_cli"]["ok"] and res["hotcoco_process"]["ok"]:
        ratios = [d["wall"] / h["wall"] for d, h in zip(runs["detlens_cli"], runs["hotcoco_process"])]
        res["evaluate_process_ratio"] = {"ratio": statistics.median(ratios), "ratios": ratios,
                                         "cpu_ratio": res["detlens_cli"]["cpu"] / res["hotcoco_process"]["cpu"],
                                         "load_average": [load_before, os.getloadavg()[0]]}
    return res


def print_process_ratio(procs) -> None:
    """The headline: the whole `detlens evaluate` process against a hotcoco process, target 2.0."""
    r = procs.get("evaluate_process_ratio")
    if r is None:
        print("\n`detlens evaluate` / hotcoco process: not measured (a process failed)")
        return
    verdict = "PASS" if r["ratio"] <= PROCESS_TARGET else "MISS"
    print(f"\n`detlens evaluate` / hotcoco process (wall, median of {len(r['ratios'])} alternating pairs): "
          f"{r['ratio']:.2f}x  (target <= {PROCESS_TARGET}: {verdict}); pairs "
          + ", ".join(f"{x:.2f}" for x in r["ratios"])
          + f"; CPU-time ratio {r['cpu_ratio']:.2f}x; median walls {procs['detlens_cli']['wall']:.3f} s vs "
            f"{procs['hotcoco_process']['wall']:.3f} s")
    before, after = r["load_average"]
    busy = max(before, after) > (os.cpu_count() or 1)
    print(f"  1-minute load average {before:.1f} before, {after:.1f} after, {os.cpu_count()} cores"
          + ("  -- BUSY MACHINE: other processes compete for the cores, "
             "the ratio is not meaningful; measure again when idle" if busy else ""))


# ---------------------------------------------------------------- scaling
def scale_data(images: int, scale: float, out: Path) -> tuple[Path, Path, str]:
    """The generated set of ``round(images * scale)`` images in ``out/scale_<scale>/``, reused when present."""
    folder = out / f"scale_{scale:g}"
    folder.mkdir(parents=True, exist_ok=True)
    L, P, desc_file = folder / "labels.json", folder / "predictions.json", folder / "data.txt"
    if L.is_file() and P.is_file() and desc_file.is_file():
        return L, P, desc_file.read_text()
    t0 = time.perf_counter()
    L, P, desc = make_data(max(1, round(images * scale)), folder)
    desc_file.write_text(desc)
    print(f"generated {desc} in {time.perf_counter() - t0:.1f} s -> {folder}", flush=True)
    return L, P, desc


def bench_scales(images: int, scales: list[float], out: Path, repeat: int) -> list[dict]:
    """Whole-process wall time and peak RSS of ``detlens evaluate`` and of a hotcoco process at each scale."""
    rows = []
    for scale in scales:
        L, P, desc = scale_data(images, scale, out)
        print(f"scale {scale:g}: {desc}; {repeat} alternating pairs ...", flush=True)
        procs = bench_processes(L, P, L.parent, repeat, memory_run=False)
        d, h = procs["detlens_cli"], procs["hotcoco_process"]
        ratio = procs.get("evaluate_process_ratio", {})
        rows.append({"scale": scale, "data": desc, "detlens_s": d["wall"], "hotcoco_s": h["wall"],
                     "time_ratio": ratio.get("ratio"), "pair_ratios": ratio.get("ratios"),
                     "detlens_peak_mb": d["peak_rss_mb"], "hotcoco_peak_mb": h["peak_rss_mb"],
                     "memory_ratio": d["peak_rss_mb"] / h["peak_rss_mb"] if d["ok"] and h["ok"] else None,
                     "load_average": ratio.get("load_average"), "errors": [p["error"] for p in (d, h) if not p["ok"]]})
    return rows


def report_scales(rows: list[dict], out: Path) -> None:
    """The scaling table (and its Markdown), growth from each scale to the next, the targets."""
    fmt = lambda x, spec: "-" if x is None else format(x, spec)  # noqa: E731
    md = ["| scale | data | detlens s | hotcoco s | time ratio | detlens peak GB | hotcoco peak GB | memory ratio |"
          " detlens growth (x) | hotcoco growth (x) |", "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    previous = None
    for r in rows:
        growth = lambda key: (None if previous is None or not previous[key] or r[key] is None  # noqa: E731
                              else r[key] / previous[key])
        time_ok = r["time_ratio"] is not None and r["time_ratio"] <= PROCESS_TARGET
        memory_ok = r["memory_ratio"] is not None and r["memory_ratio"] <= MEMORY_TARGET
        md.append(f"| {r['scale']:g}x | {r['data']} | {fmt(r['detlens_s'], '.2f')} | {fmt(r['hotcoco_s'], '.2f')} | "
                  f"{fmt(r['time_ratio'], '.2f')}x {'PASS' if time_ok else 'MISS'} | "
                  f"{r['detlens_peak_mb'] / 1024:.2f} | {r['hotcoco_peak_mb'] / 1024:.2f} | "
                  f"{fmt(r['memory_ratio'], '.2f')}x {'PASS' if memory_ok else 'MISS'} | "
                  f"{fmt(growth('detlens_s'), '.1f')} | {fmt(growth('hotcoco_s'), '.1f')} |")
        if r["errors"]:
            md.append(f"|  | FAILED: {r['errors']} | | | | | | | | |")
        previous = r
    loads = [x for r in rows for x in (r["load_average"] or [])]
    print(f"\nScaling (whole processes, medians of alternating pairs; targets: time <= {PROCESS_TARGET}x, "
          f"peak memory <= {MEMORY_TARGET}x hotcoco; growth: wall time against the previous scale; "
          f"1-minute load average {min(loads, default=0):.1f}-{max(loads, default=0):.1f} on "
          f"{os.cpu_count()} cores):\n\n" + "\n".join(md) + "\n")
    (out / "bench_scales.json").write_text(json.dumps({"rows": rows, "markdown": "\n".join(md)}, indent=2))
    print(f"wrote {out / 'bench_scales.json'}")


# ---------------------------------------------------------------- report
def report(t, diffs, procs, data_desc, out: Path):
    d, h, f, pc = t["detlens"], t["hotcoco"], t["faster-coco-eval"], t.get("pycocotools")
    ratio = lambda a, b: a / b if a is not None and b else None  # noqa: E731
    targets = [
        ("detlens eval (IoU .5) / hotcoco evaluate+accumulate", ratio(d["eval"], h["eval"]), "<=", 1.5),
        ("faster-coco-eval eval / detlens eval (speed-up)", ratio(f["eval"], d["eval"]), ">=", 20.0),
        ("detlens re-eval @.75 cached / hotcoco eval @.75", ratio(d["eval_0.75_cached"], h["eval_0.75"]), "<=", 0.5),
        ("detlens load / hotcoco load", ratio(d["load"], h["load"]), "<=", 2.0),
        ("`detlens evaluate` / hotcoco python process", procs.get("evaluate_process_ratio", {}).get("ratio"), "<=", PROCESS_TARGET),
        ("detlens load+evaluate peak RSS (GB)", procs["detlens_memory"]["peak_rss_mb"] / 1024 if procs["detlens_memory"]["ok"] else None, "<", 2.0),
    ]
    verdicts = []
    for name, val, op, goal in targets:
        ok = None if val is None else (val <= goal if op == "<=" else val >= goal if op == ">=" else val < goal)
        verdicts.append({"target": name, "value": val, "goal": f"{op} {goal}",
                         "verdict": "SKIP" if ok is None else "PASS" if ok else "MISS"})

    fmt = lambda s: "-" if s is None else f"{s:.3f}"  # noqa: E731
    print(f"\nData: {data_desc}")
    print(f"Python {platform.python_version()}, {os.cpu_count()} cores, OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')}, "
          f"OPENBLAS_L2_SIZE={os.environ.get('OPENBLAS_L2_SIZE')}")
    print(f"\n{'tool':<18}{'load s':>10}{'eval@.5 s':>12}{'eval@.75 s':>12}{'AP diff':>11}{'AR diff':>11}")
    for name, r in t.items():
        e75 = r.get("eval_0.75_cached", r.get("eval_0.75"))
        dd = diffs.get(name, (None, None))
        print(f"{name:<18}{fmt(r['load']):>10}{fmt(r['eval']):>12}{fmt(e75):>12}"
              f"{'' if dd[0] is None else f'{dd[0]:.1e}':>11}{'' if dd[1] is None else f'{dd[1]:.1e}':>11}")
    print(f"detlens: candidate IoUs {d['candidates']:.3f} s of the first eval; eval@.75 is on cached IoUs "
          "(hotcoco has no cache: its eval@.75 recomputes IoUs). AP/AR diff: detlens vs that tool, max over classes.")
    for name, p in procs.items():
        if name == "evaluate_process_ratio":
            continue
        print(f"process {name:<16} wall {fmt(p['wall'])} s (runs {', '.join(f'{w:.2f}' for w in p['walls'])}), "
              f"CPU {p['cpu']:.2f} s, peak RSS {p['peak_rss_mb']:.0f} MB" + ("" if p["ok"] else f"  FAILED: {p['error']}"))
    print_process_ratio(procs)
    print("\nTargets:")
    for v in verdicts:
        print(f"  [{v['verdict']}] {v['target']}: {fmt(v['value'])} (goal {v['goal']})")

    md = ["| tool | load (s) | eval IoU 0.5 (s) | eval IoU 0.75 (s) |", "|---|---:|---:|---:|"]
    for name, r in t.items():
        e75 = r.get("eval_0.75_cached", r.get("eval_0.75"))
        md.append(f"| {name} | {fmt(r['load'])} | {fmt(r['eval'])} | {fmt(e75)}{' (cached IoUs)' if name == 'detlens' else ''} |")
    pr = procs.get("evaluate_process_ratio")
    pr_txt = "-" if pr is None else f"{pr['ratio']:.2f}x"
    md.append(f"| `detlens evaluate` vs hotcoco process (wall) | {fmt(procs['detlens_cli']['wall'])} vs "
              f"{fmt(procs['hotcoco_process']['wall'])} ({pr_txt}) | | |")
    print(f"\nMarkdown ({data_desc}; {os.cpu_count()} cores):\n\n" + "\n".join(md) + "\n")
    doc = {"data": data_desc, "cpu_count": os.cpu_count(), "python": platform.python_version(),
           "env": {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")},
           "timings_s": t, "max_abs_diff_vs_detlens": {k: {"ap": v[0], "ar": v[1]} for k, v in diffs.items()},
           "processes": procs, "targets": verdicts, "markdown": "\n".join(md)}
    (out / "bench_evaluate.json").write_text(json.dumps(doc, indent=2, default=float))
    print(f"wrote {out / 'bench_evaluate.json'}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=5000)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out")
    ap.add_argument("--repeat", type=int, default=5, help="repeats of the fast steps (median)")
    ap.add_argument("--skip-pycocotools", action="store_true", help="it takes minutes at full size")
    ap.add_argument("--processes-only", action="store_true",
                    help="only the whole-process comparison (`detlens evaluate` vs a hotcoco process), "
                         "--repeat alternating pairs, on the data already in --out (generated if missing)")
    ap.add_argument("--scales", default=None, metavar="S,S,...",
                    help="the scaling run: whole processes at these multiples of --images (e.g. 0.1,1,10)")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    if args.scales:
        try:
            scales = [float(s) for s in args.scales.split(",")]
        except ValueError:
            ap.error(f"--scales: comma-separated numbers, got {args.scales!r}")
        if any(s <= 0 for s in scales):
            ap.error("--scales: every scale must be > 0")
        report_scales(bench_scales(args.images, scales, args.out, args.repeat), args.out)
        return

    if args.processes_only:
        L, P = args.out / "labels.json", args.out / "predictions.json"
        if not (L.is_file() and P.is_file()):
            L, P, desc = make_data(args.images, args.out)
            print(f"generated {desc} -> {args.out}", flush=True)
        procs = bench_processes(L, P, args.out, args.repeat)
        for name in ("detlens_cli", "hotcoco_process"):
            p = procs[name]
            print(f"process {name:<16} runs {', '.join(f'{w:.2f}' for w in p['walls'])} s, CPU {p['cpu']:.2f} s, "
                  f"peak RSS {p['peak_rss_mb']:.0f} MB" + ("" if p["ok"] else f"  FAILED: {p['error']}"))
        print_process_ratio(procs)
        return

    t0 = time.perf_counter()
    L, P, desc = make_data(args.images, args.out)
    print(f"generated {desc} in {time.perf_counter() - t0:.1f} s -> {args.out}", flush=True)

    timings, classes = {}, {}
    steps = [("detlens", lambda: bench_detlens(L, P, args.repeat)),
             ("hotcoco", lambda: bench_hotcoco(L, P, args.repeat)),
             ("faster-coco-eval", lambda: bench_faster_coco_eval(L, P, args.repeat))]
    if not args.skip_pycocotools:
        steps.append(("pycocotools", lambda: bench_pycocotools(L, P)))
    for name, step in steps:
        print(f"timing {name} ...", flush=True)
        timings[name], classes[name] = step()
    diffs = {k: max_diff(classes["detlens"], v) for k, v in classes.items() if k != "detlens"}
    print("timing processes ...", flush=True)
    procs = bench_processes(L, P, args.out, args.repeat)
    report(timings, diffs, procs, desc, args.out)


if __name__ == "__main__":
    main()
