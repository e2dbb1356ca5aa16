"""Benchmark: concurrent dashboard sessions, with faults: lost updates, latency and memory (issue 9, part 8).

A benchmark, not a test: it measures and reports; nothing fails on timing.

    .venv/bin/python benchmarks/bench_load.py            # the full matrix below (about an hour)
    .venv/bin/python benchmarks/bench_load.py --dataset demo --manager diskcache --fault none \\
        --sessions 4 --seconds 10                         # one short run
    .venv/bin/python benchmarks/bench_load.py --half-sent-only

One run: start ``detlens serve`` (and, for ``--manager celery``, a
redis-server on a free port plus two ``detlens worker`` processes) on a copy of a
prepared cache folder (prepared once per dataset by ``detlens serve`` itself,
every IoU threshold pre-computed, as after any first start); open the page once
in headless Chromium and capture what its renderer sends (benchmarks/load_capture.py);
then ``--sessions`` simulated browser tabs (benchmarks/load_session.py) speak
Dash's protocol to it for ``--seconds``: page load, then IoU and
minimum-confidence steps, class selections, tab switches, Explorer pages and
outcome filters, quick slider steps that supersede their own jobs, a reload now
and then, with a pause of 1-4 s (``--think``) after each. With ``--fault
web-worker`` one gunicorn worker is killed (SIGKILL) half-way; with ``--fault
celery-worker`` one Celery worker and its pool, while it runs a job. Reported
per run: requests, errors (non-2xx other than 204, and network errors), **lost
updates** (a chart of the visible tab whose update never came: a final 204, an
error or no answer within ``--update-timeout``; a job the same session
superseded is not lost), p50/p95 from an input change until every chart of the
visible tab is updated, page loads, the server's CPU seconds, and the RSS (and
PSS) of every server process by role at the start, at the peak and at the end. Failures caused by a
fault are counted apart: requests in flight on a killed web worker, jobs running
or reserved on a killed Celery worker.

``--half-sent``: with 0, 1 and 3 connections that send half a request and then
stall (re-opened whenever the server drops them), or that trickle one byte every
0.5 s, how long another client waits for the page.

Datasets: ``demo`` (``detlens demo``: 300 images with pixel metrics) and
``500k`` (the "benchmark" preset: 5,000 images, ~500k predictions, geometry
metrics; written by benchmarks/bench_dashboard.py). Results go to
``<out>/load/bench_load.json`` (runs merged by name) and a table on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.bench_dashboard import write_data  # noqa: E402
from benchmarks.load_capture import Capture, capture  # noqa: E402
from benchmarks.load_services import (RssSampler, cpu_seconds, detlens, kill_celery_worker,  # noqa: E402
                                      kill_web_worker, rss_by_role, running_stack, wait_prepared)
from benchmarks.load_session import Log, Session  # noqa: E402

DATASETS, MANAGERS, FAULTS = ("demo", "500k"), ("diskcache", "celery"), ("none", "web-worker", "celery-worker")
TARGET_P95_S = {"demo": 2.0, "500k": 5.0}
HALF_SENT_TARGET_S = 2.0
FAULT_AT = 0.5  # of the run's duration
RSS_GROWTH_ALLOWED = (0.10, 50.0)  # long-lived processes may grow by 10% plus 50 MB (allocator, SQLite page caches)
LONG_LIVED = ("master", "web worker", "celery worker", "redis")
WHY = {"no_update": "ended in 204", "timeout": "not within the timeout", "network_error": "network errors",
       "http_error": "HTTP errors"}
SETTLE_S = 5.0  # after the sessions end, before the final RSS: the last jobs exit


@dataclass(frozen=True)
class Run:
    """One configuration of the matrix."""

    dataset: str
    manager: str
    fault: str
    login: bool = False

    @property
    def name(self) -> str:
        return f"{self.dataset}-{self.manager}-{self.fault}{'-login' if self.login else ''}"


def plan(args: argparse.Namespace) -> list[Run]:
    """The runs the options ask for; the full default adds one run with login."""
    pick = lambda value, every: every if value == "all" else (value,)  # noqa: E731
    runs = [Run(d, m, f, args.login) for d in pick(args.dataset, DATASETS) for m in pick(args.manager, MANAGERS)
            for f in pick(args.fault, FAULTS) if f != "celery-worker" or m == "celery"]
    if (args.dataset, args.manager, args.fault, args.login) == ("all", "all", "all", False):
        runs.append(Run("demo", "diskcache", "none", login=True))
    return runs


# ----- data and prepared caches -------------------------------------------------------------------
def dataset_files(dataset: str, out: Path) -> tuple[list[str], object]:
    """The ``detlens serve`` data options of ``dataset`` and its ``DataSource`` (files written once)."""
    from detlens.app.source import DataSource

    if dataset == "demo":
        folder = out / "load" / "demo-data"
        if not (folder / "predictions.json").exists():
            shutil.rmtree(folder, ignore_errors=True)
            subprocess.run(detlens("demo", str(folder)), check=True, cwd=ROOT, capture_output=True)
        labels, predictions, images = folder / "labels.json", folder / "predictions.json", folder / "images"
    else:
        (labels, predictions), images = write_data(out / "dashboard"), None
    source = DataSource(labels=str(labels), predictions=str(predictions), images=images and str(images))
    options = ["--labels", source.labels, "--predictions", source.predictions]
    return options + (["--images", source.images] if images else []), source


def prepared_cache(dataset: str, out: Path) -> Path:
    """A cache folder where ``detlens serve`` prepared ``dataset`` and pre-computed every IoU threshold (once)."""
    base = out / "load" / f"prepared-{dataset}"
    if (base / "PREPARED").exists():
        return base
    shutil.rmtree(base, ignore_errors=True)
    options, source = dataset_files(dataset, out)
    print(f"preparing {dataset} once in {base} ...", flush=True)
    with running_stack(out / "load" / f"prepare-{dataset}", options, base / "cache", "diskcache") as stack:
        waited = wait_prepared(stack, source, warmed=True)
    (base / "PREPARED").write_text(f"{waited:.1f} s\n")
    return base


def fresh_cache(dataset: str, out: Path, folder: Path) -> Path:
    """A copy of the prepared cache for one run (background-callback results not copied)."""
    cache = folder / "cache"
    shutil.rmtree(cache, ignore_errors=True)
    shutil.copytree(prepared_cache(dataset, out) / "cache", cache, ignore=shutil.ignore_patterns("callbacks"))
    return cache


def wait_for_quiet(limit: float | None, patience_s: float) -> float:
    """Wait (up to ``patience_s``) for a 1-minute load average below ``limit``; returns the load average."""
    deadline = time.monotonic() + patience_s
    while limit is not None and os.getloadavg()[0] >= limit and time.monotonic() < deadline:
        print(f"  load average {os.getloadavg()[0]:.1f} >= {limit}: waiting", flush=True)
        time.sleep(20)
    return os.getloadavg()[0]


# ----- one run ------------------------------------------------------------------------------------
def fault_thread(run: Run, stack, at_s: float, fault: dict) -> threading.Timer:
    """A timer that applies the run's fault after ``at_s`` seconds and records it into ``fault``."""
    def strike() -> None:
        fault.update(kill_web_worker(stack) if run.fault == "web-worker" else kill_celery_worker(stack))
    timer = threading.Timer(at_s, strike)
    timer.daemon = True
    return timer


def run_one(run: Run, args: argparse.Namespace) -> dict:
    """Start the configuration, capture the page, run the sessions, and summarise them."""
    out = Path(args.out)
    folder = out / "load" / "runs" / run.name
    folder.mkdir(parents=True, exist_ok=True)
    options, source = dataset_files(run.dataset, out)
    cache = fresh_cache(run.dataset, out, folder)
    load_before = wait_for_quiet(args.quiet_load, args.quiet_wait)
    with running_stack(folder, options, cache, run.manager, login=run.login, web_workers=args.workers) as stack:
        wait_prepared(stack, source)
        page = capture(stack.url + "/", login=stack.login, screenshot=folder / "capture.png")
        page.save(folder / "capture.json")
        log, fault = Log(), {}
        sampler = RssSampler(stack)
        rss_start, cpu_start = rss_by_role(stack), cpu_seconds(stack)
        sampler.start()
        t0, client_cpu = time.monotonic(), time.process_time()
        stop_at = t0 + args.seconds
        sessions = [Session(i, stack.url, page, log, seed=args.seed * 1000 + i, login=stack.login,
                            think_s=args.think, update_timeout_s=args.update_timeout) for i in range(args.sessions)]
        threads = [threading.Thread(target=s.run, args=(stop_at,), name=f"session{i}") for i, s in enumerate(sessions)]
        timer = fault_thread(run, stack, FAULT_AT * args.seconds, fault) if run.fault != "none" else None
        for thread in threads:
            thread.start()
            time.sleep(min(0.1, args.seconds / 100))  # tabs opened one after another, not in the same millisecond
        if timer is not None:
            timer.start()
        for thread in threads:
            thread.join()
        elapsed, client_cpu = time.monotonic() - t0, time.process_time() - client_cpu
        if timer is not None:
            timer.cancel()
        time.sleep(SETTLE_S)
        sampler.stop()
        rss_end, cpu_end = rss_by_role(stack), cpu_seconds(stack)
    shutil.rmtree(cache, ignore_errors=True)  # a copy of hundreds of MB; logs and capture stay
    result = summarise(run, log, fault, args, page)
    result.update(elapsed_s=round(elapsed, 1), load_average_before=round(load_before, 1),
                  load_average_after=round(os.getloadavg()[0], 1),
                  rss_start=rss_start, rss_end=rss_end, rss_peak=sampler.peak(),
                  server_cpu_s=round(cpu_end - cpu_start, 1), client_cpu_s=round(client_cpu, 1),
                  server_cpu_s_per_step=round((cpu_end - cpu_start) / max(1, result["user_steps"]), 3))
    result["rss_growth_mb"], result["rss_ok"] = rss_growth(rss_start, rss_end)
    result["verdict"] = verdict(run, result)
    return result


def percentile(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 3) if values else None


def summarise(run: Run, log: Log, fault: dict, args: argparse.Namespace, page: Capture) -> dict:
    """Counts, lost updates and latencies of one run, failures caused by its fault counted apart."""
    struck = fault.get("t")
    killed_tasks = set(fault.get("tasks", []))

    def in_flight(t0: float, t1: float | None) -> bool:
        return struck is not None and t0 <= struck <= (t1 if t1 is not None else float("inf"))

    def by_fault(call) -> bool:
        if run.fault == "web-worker":
            return call.outcome == "network_error" and in_flight(call.t0, call.t1)
        return run.fault == "celery-worker" and call.job in killed_tasks

    start = min((h.t0 for h in log.hits), default=0.0)
    errors = [h for h in log.hits if h.error or (h.status is not None and h.status >= 400)]
    errors_fault = [h for h in errors if run.fault == "web-worker" and h.error and in_flight(h.t0, h.t1)]
    lost = [c for c in log.calls if c.lost]
    lost_fault = [c for c in lost if by_fault(c)]
    lost_why: dict[str, int] = {}
    for call in lost:
        if not by_fault(call):
            lost_why[call.outcome] = lost_why.get(call.outcome, 0) + 1
    steps = [a for a in log.actions if a.kind not in ("load", "status")]
    latencies = [a.latency() for a in steps if a.latency() is not None]
    loads = [a.latency() for a in log.actions if a.kind == "load" and a.latency() is not None]
    by_kind = {}
    for kind in sorted({a.kind for a in steps}):
        times = [a.latency() for a in steps if a.kind == kind and a.latency() is not None]
        by_kind[kind] = {"count": len(times), "p50_s": percentile(times, 50), "p95_s": percentile(times, 95)}
    expected = [c for c in log.calls if c.expected and c.outcome not in ("superseded", "abandoned")]
    outcomes: dict[str, int] = {}
    for call in log.calls:
        outcomes[call.outcome] = outcomes.get(call.outcome, 0) + 1
    return {
        "run": asdict(run), "name": run.name, "sessions": args.sessions, "seconds": args.seconds,
        "requests": len(log.hits), "errors": len(errors) - len(errors_fault), "errors_at_fault": len(errors_fault),
        "error_examples": sorted({f"{h.kind} {h.status or h.error}" for h in errors})[:8],
        "updates_expected": len(expected), "lost_updates": len(lost) - len(lost_fault),
        "lost_at_fault": len(lost_fault), "lost_by_outcome": lost_why,
        "lost_examples": [f"session {c.session} {c.output[:40]} {c.outcome} {c.error or ''} after {c.polls} polls, "
                          f"asked at {c.t0 - start:.1f} s" for c in lost if not by_fault(c)][:8],
        "call_outcomes": outcomes, "requests_by_kind": request_times(log), "user_steps": len(steps),
        "latency_p50_s": percentile(latencies, 50),
        "latency_p95_s": percentile(latencies, 95), "latency_max_s": percentile(latencies, 100),
        "page_load_p50_s": percentile(loads, 50), "page_load_p95_s": percentile(loads, 95),
        "page_loads": len(loads), "by_step": by_kind, "session_failures": log.failures[:10],
        "fault": {k: v for k, v in fault.items() if k != "t"} | (
            {"at_s": round(struck - start, 1)} if struck and log.hits else {}),
        "captured_callbacks": len(page.templates),
        "not_judged": sorted({c.output[:60] for c in log.calls if c.background and c.output not in page.tabs}),
    }


def request_times(log: Log) -> dict[str, dict]:
    """Per kind of request (page, asset, callback, poll, ...): count and p50/p95/max seconds."""
    kinds: dict[str, list[float]] = {}
    for hit in log.hits:
        kinds.setdefault(hit.kind, []).append(hit.t1 - hit.t0)
    return {kind: {"count": len(times), "p50_s": percentile(times, 50), "p95_s": percentile(times, 95),
                   "max_s": percentile(times, 100)} for kind, times in sorted(kinds.items())}


def rss_growth(start: dict, end: dict) -> tuple[float, bool]:
    """MB the long-lived processes grew by over the run, and whether that is within ``RSS_GROWTH_ALLOWED``."""
    before = sum(start.get(role, {}).get("mb", 0.0) for role in LONG_LIVED)
    after = sum(end.get(role, {}).get("mb", 0.0) for role in LONG_LIVED)
    share, extra = RSS_GROWTH_ALLOWED
    return round(after - before, 1), after <= before * (1 + share) + extra


def verdict(run: Run, result: dict) -> str:
    """PASS, or MISS with the reasons: lost updates, errors, p95 over target, RSS growth."""
    misses = []
    if result["lost_updates"]:
        misses.append(f"{result['lost_updates']} lost")
    if result["errors"]:
        misses.append(f"{result['errors']} errors")
    p95 = result["latency_p95_s"]
    if p95 is None:
        misses.append("no step had all its charts updated")
    elif p95 >= TARGET_P95_S[run.dataset]:
        misses.append(f"p95 {p95} s >= {TARGET_P95_S[run.dataset]} s")
    if not result["rss_ok"]:
        misses.append(f"RSS grew {result['rss_growth_mb']} MB")
    return "PASS" if not misses else "MISS: " + "; ".join(misses)


# ----- half-sent requests -------------------------------------------------------------------------
class HalfSender(threading.Thread):
    """Holds one connection with half a request open: ``stalled`` sends nothing more, ``trickle`` one byte
    every 0.5 s; re-opens it whenever the server drops it, until :meth:`stop`."""

    def __init__(self, port: int, mode: str):
        super().__init__(daemon=True)
        self.port, self.mode = port, mode
        self.done = threading.Event()
        self.drops = 0

    def run(self) -> None:
        while not self.done.is_set():
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                    conn.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
                    while not self.done.is_set():
                        if self.mode == "trickle":
                            conn.sendall(b"a")
                        try:
                            if conn.recv(1024) == b"":
                                break  # dropped by the server
                        except socket.timeout:
                            continue
            except OSError:
                pass
            self.drops += 1

    def stop(self) -> None:
        self.done.set()
        self.join()


def half_sent(args: argparse.Namespace) -> list[dict]:
    """Page latency for another client with 0, 1 and 3 half-sent requests held open (demo, diskcache)."""
    out = Path(args.out)
    folder = out / "load" / "runs" / "half-sent"
    folder.mkdir(parents=True, exist_ok=True)
    options, source = dataset_files("demo", out)
    cache = fresh_cache("demo", out, folder)
    wait_for_quiet(args.quiet_load, args.quiet_wait)
    rows = []
    with running_stack(folder, options, cache, "diskcache", web_workers=args.workers) as stack:
        wait_prepared(stack, source)
        port = int(stack.url.rpartition(":")[2])
        for mode, held in (("stalled", 0), ("stalled", 1), ("stalled", 3), ("trickle", 1), ("trickle", 3)):
            senders = [HalfSender(port, mode) for _ in range(held)]
            for sender in senders:
                sender.start()
            time.sleep(1.5)  # let them take the workers
            waits, failed = [], 0
            deadline = time.monotonic() + args.half_sent_seconds
            while time.monotonic() < deadline:
                t0 = time.monotonic()
                try:
                    urllib.request.urlopen(stack.url + "/", timeout=150).read()
                    waits.append(time.monotonic() - t0)
                except OSError:
                    failed += 1
                time.sleep(0.25)
            for sender in senders:
                sender.stop()
            row = {"mode": mode, "held": held, "probes": len(waits), "failed": failed,
                   "p50_s": percentile(waits, 50), "max_s": percentile(waits, 100),
                   "dropped_by_server": sum(s.drops for s in senders)}
            row["verdict"] = "PASS" if not failed and waits and max(waits) < HALF_SENT_TARGET_S else "MISS"
            rows.append(row)
            print(f"  half-sent {mode:8} x{held}: page in {row['p50_s']} s median, {row['max_s']} s max, "
                  f"{failed} failed, {row['dropped_by_server']} dropped by the server  {row['verdict']}", flush=True)
    shutil.rmtree(cache, ignore_errors=True)
    return rows


# ----- report -------------------------------------------------------------------------------------
def table(results: list[dict]) -> str:
    """The runs as a Markdown table (the README's)."""
    lines = ["| dataset | manager | fault | requests | errors | lost updates | p50 (s) | p95 (s) | page load p95 (s) "
             "| RSS start -> end, MB (peak RSS / PSS) | load avg | |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---|---|---|"]
    for r in results:
        run = r["run"]
        fault = run["fault"] + (" (login)" if run["login"] else "")
        errors = f"{r['errors']}" + (f" (+{r['errors_at_fault']} in flight on the killed worker)"
                                     if r["errors_at_fault"] else "")
        lost = f"{r['lost_updates']}" + (f" (+{r['lost_at_fault']} on the killed worker)" if r["lost_at_fault"] else "")
        why = ", ".join(f"{n} {WHY.get(outcome, outcome)}" for outcome, n in sorted(r["lost_by_outcome"].items()))
        lost += f" of {r['updates_expected']}" + (f" ({why})" if why else "")
        peak = r["rss_peak"].get("total", {})
        rss = f"{r['rss_start']['total']['mb']:.0f} -> {r['rss_end']['total']['mb']:.0f} " \
              f"({peak.get('mb', 0):.0f} / {peak.get('pss_mb', 0):.0f})"
        p50, p95, load = (r[k] if r[k] is not None else "-" for k in ("latency_p50_s", "latency_p95_s",
                                                                        "page_load_p95_s"))
        lines.append(f"| {run['dataset']} | {run['manager']} | {fault} | {r['requests']} | {errors} | {lost} | "
                     f"{p50} | {p95} | {load} | {rss} | "
                     f"{r['load_average_before']}-{r['load_average_after']} | {r['verdict']} |")
    return "\n".join(lines)


def save(path: Path, results: list[dict], half: list[dict] | None) -> dict:
    """Merge this invocation's runs into ``bench_load.json`` (by run name) and write it."""
    doc = json.loads(path.read_text()) if path.exists() else {}
    doc.setdefault("runs", {}).update({r["name"]: r for r in results})
    if half is not None:
        doc["half_sent"] = half
    doc.update(cpu_count=os.cpu_count(), python=platform.python_version(), written=time.strftime("%Y-%m-%d %H:%M"))
    path.write_text(json.dumps(doc, indent=1) + "\n")
    return doc


def main(argv: list[str] | None = None) -> int:
    """Run the chosen configurations (default: all), print the table, write ``bench_load.json``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="all", choices=[*DATASETS, "all"])
    ap.add_argument("--manager", default="all", choices=[*MANAGERS, "all"])
    ap.add_argument("--fault", default="all", choices=[*FAULTS, "all"])
    ap.add_argument("--login", action="store_true", help="the chosen runs with login (the full default adds one)")
    ap.add_argument("--sessions", type=int, default=20, help="simulated browser tabs (default 20)")
    ap.add_argument("--seconds", type=float, default=60.0, help="how long they keep stepping (default 60)")
    ap.add_argument("--think", type=lambda text: tuple(float(x) for x in text.split(",")), default=(1.0, 4.0),
                    metavar="LOW,HIGH", help="a user's pause after each step, seconds (default 1,4)")
    ap.add_argument("--update-timeout", type=float, default=60.0, help="an update not there after this is lost")
    ap.add_argument("--workers", type=int, default=None, help="detlens serve --workers (default: its own default)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--half-sent", action="store_true", help="also the half-sent requests measurement "
                                                             "(part of the full default)")
    ap.add_argument("--half-sent-only", action="store_true")
    ap.add_argument("--half-sent-seconds", type=float, default=8.0)
    ap.add_argument("--quiet-load", type=float, default=None,
                    help="before each run, wait for a 1-minute load average below this (the machine is shared)")
    ap.add_argument("--quiet-wait", type=float, default=900.0, help="how long to wait for it at most (s)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "out"))
    args = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stop the servers on the way out (finally blocks)
    full = (args.dataset, args.manager, args.fault, args.login) == ("all", "all", "all", False)
    results, path = [], Path(args.out) / "load" / "bench_load.json"
    for run in ([] if args.half_sent_only else plan(args)):
        print(f"{run.name}: {args.sessions} sessions for {args.seconds:.0f} s ...", flush=True)
        result = run_one(run, args)
        results.append(result)
        print(f"  {result['requests']} requests, {result['errors']} errors (+{result['errors_at_fault']} at the "
              f"fault), {result['lost_updates']} lost updates (+{result['lost_at_fault']} at the fault) of "
              f"{result['updates_expected']}, p50 {result['latency_p50_s']} s, p95 {result['latency_p95_s']} s, "
              f"page load p95 {result['page_load_p95_s']} s, load average {result['load_average_before']} -> "
              f"{result['load_average_after']}: {result['verdict']}", flush=True)
        save(path, [result], None)  # after each run: a long matrix keeps what it measured
    half = half_sent(args) if (args.half_sent or args.half_sent_only or full) else None
    save(path, results, half)
    if results:
        print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
