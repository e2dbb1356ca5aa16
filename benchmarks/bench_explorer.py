"""Benchmark: a page of 24 Explorer thumbnails in headless Chromium, cold and cached.

A benchmark, not a test: it measures and reports, nothing fails on timing.

    .venv/bin/python benchmarks/bench_explorer.py [--out benchmarks/out/] [--pages 5]

Steps: write the default demo (300 rendered images) to ``<out>/explorer/``,
start ``detlens serve`` on it with a fresh cache folder, open the Explorer in
Debian's Chromium through Playwright and time, from a click on the next page
until all 24 thumbnails of that page have loaded (``img.complete`` with a
decoded size):

* cold: thumbnails made on the server for the first time;
* cached: the same pages in a fresh browser context (nothing in the browser's
  cache), thumbnails read from the server's disk cache;
* browser-cached: the same pages again in that context (``max-age``: no request).

Prints the medians with PASS/MISS against the 1 s target and writes
``<out>/bench_explorer.json``.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.bench_dashboard import CHROMIUM_ARGS, free_port, stop  # noqa: E402
from detlens.layouts import ids  # noqa: E402

TARGET_S = 1.0
PAGE_READY = """([page]) => {
  const active = document.querySelector('#%s .page-item.active');
  const imgs = [...document.querySelectorAll('#%s img')];
  return !!active && parseInt(active.innerText) === page && imgs.length === 24
         && imgs.every(i => i.complete && i.naturalWidth > 0);
}""" % (ids.EXPLORER_PAGES, ids.EXPLORER_GRID)


def start(demo: Path, cache: Path, port: int, log: Path):
    """``detlens serve`` on the demo, returned once its data are prepared."""
    import subprocess
    import urllib.request

    from detlens.app.cache import SharedCache
    from detlens.app.source import DataSource, read_status

    proc = subprocess.Popen([sys.executable, "-m", "detlens.app.cli", "serve", "--labels", str(demo / "labels.json"),
                             "--predictions", str(demo / "predictions.json"), "--images", str(demo / "images"),
                             "--port", str(port), "--cache-dir", str(cache), "--no-precompute"],
                            cwd=ROOT, stdout=open(log, "w"), stderr=subprocess.STDOUT)
    source = DataSource(str(demo / "labels.json"), str(demo / "predictions.json"), images=str(demo / "images"))
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"detlens serve exited:\n{log.read_text()[-2000:]}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).read()
            if read_status(SharedCache(cache), source.source_id()).state == "ready":
                return proc
        except OSError:
            pass
        time.sleep(0.2)


def page_times(browser, url: str, pages: int, repeat: int = 1) -> list[list[float]]:
    """Seconds from clicking page k (2..pages+1, then back to 1) until its 24 thumbnails loaded, per round."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = ctx.new_page()
    page.goto(url)
    page.wait_for_function(f"() => /\\d/.test(document.getElementById('{ids.MAP_VALUE}')?.innerText || '')",
                           timeout=120_000)
    page.click(f"#{ids.TABS} .nav-link:has-text('Explorer')")
    page.wait_for_function(PAGE_READY, arg=[1], timeout=60_000, polling=10)
    rounds = []
    for _ in range(repeat):
        times = []
        for k in [*range(2, pages + 2), 1]:
            link = page.locator(f"#{ids.EXPLORER_PAGES} a.page-link", has_text=re.compile(f"^{k}$")).first
            t0 = time.perf_counter()
            link.click()
            page.wait_for_function(PAGE_READY, arg=[k], timeout=60_000, polling=10)
            times.append(time.perf_counter() - t0)
        rounds.append(times)
    ctx.close()
    return rounds


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the figures and the target, write ``bench_explorer.json``."""
    from playwright.sync_api import sync_playwright

    from detlens.core.demo import DemoConfig, write_demo

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "out"))
    ap.add_argument("--pages", type=int, default=5)
    args = ap.parse_args(argv)
    out = Path(args.out)
    demo = out / "explorer"
    if not (demo / "README.txt").exists():
        write_demo(demo, DemoConfig.preset("default"))
    cache = out / "explorer-cache"
    shutil.rmtree(cache, ignore_errors=True)
    port = free_port()
    proc = start(demo, cache, port, out / "serve-explorer.log")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                                        args=CHROMIUM_ARGS)
            url = f"http://127.0.0.1:{port}/"
            cold = page_times(browser, url, args.pages)[0]
            cached, browser_cached = page_times(browser, url, args.pages, repeat=2)
            browser.close()
    finally:
        stop(proc)
    summary = {"cold_s": statistics.median(cold), "cached_s": statistics.median(cached),
               "cached_max_s": max(cached), "browser_cached_s": statistics.median(browser_cached)}
    result = {"data": "default demo: 300 rendered images (320x240 +-25%), 24 thumbnails per page (256 px)",
              "cold": cold, "cached": cached, "browser_cached": browser_cached, "summary": summary}
    (out / "bench_explorer.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"page of 24 thumbnails, thumbnails made on first request  {summary['cold_s']:.2f} s median")
    print(f"page of 24 thumbnails, cached on the server (fresh browser) {summary['cached_s']:.2f} s median, "
          f"{summary['cached_max_s']:.2f} s max")
    print(f"page of 24 thumbnails, cached in the browser too         {summary['browser_cached_s']:.2f} s median")
    print(f"  target cached page < {TARGET_S} s: {'PASS' if summary['cached_max_s'] < TARGET_S else 'MISS'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
