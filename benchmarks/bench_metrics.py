"""Benchmark: cost of the pixel-metric pass against decoding the images alone.

A benchmark, not a test: it measures and reports, nothing fails on timing.

    .venv/bin/python benchmarks/bench_metrics.py [--images 2000] [--workers N]

Steps (one process): write ``--images`` synthetic 640x480 JPEGs (noise plus
random shapes) into ``benchmarks/out/metrics_images/`` once (reused when
present) and a dataset with ~7 labels and ~30 predictions per image; then time
(a) decode-only: every file opened, ``convert("RGB")``, ``np.asarray`` in a
process pool over all cores (the same pool/chunking as the metric pass);
(b) ``compute_pixel_metrics`` without cache, all cores; (c) the same with a
fresh disk cache, then (d) a second, cached run, and (e) another run of the
dataset (the same labels, every prediction moved by one pixel) on that cache:
it reuses the image parts and computes only its predictions' metrics. Prints the ratio (b)/(a)
against the target "all metrics together cost at most 2x the decode-only time"
(PASS/MISS) and writes ``benchmarks/out/bench_metrics.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from detlens.core.dataset import BoxTable, Dataset, ImageTable  # noqa: E402
from detlens.core.metrics import pixel_pass  # noqa: E402
from detlens.core.metrics.pixel_pass import compute_pixel_metrics  # noqa: E402

W, H = 640, 480
TARGET = 2.0


def make_images(folder: Path, n: int, seed: int = 0) -> list[str]:
    """Write (or reuse) ``n`` synthetic JPEGs; returns their file names."""
    folder.mkdir(parents=True, exist_ok=True)
    names = [f"img_{i:05d}.jpg" for i in range(n)]
    rng = np.random.default_rng(seed)
    for i, name in enumerate(names):
        path = folder / name
        if path.exists():
            continue
        r = np.random.default_rng([seed, i])
        base = r.integers(0, 256, 3)
        arr = np.clip(base + r.normal(0, 20 + 20 * r.random(), (H, W, 3)), 0, 255).astype(np.uint8)
        im = Image.fromarray(arr)
        draw = ImageDraw.Draw(im)
        for _ in range(12):
            x, y = int(r.integers(0, W - 20)), int(r.integers(0, H - 20))
            box = [x, y, x + int(r.integers(10, 250)), y + int(r.integers(10, 200))]
            colour = tuple(int(v) for v in r.integers(0, 256, 3))
            (draw.ellipse if r.random() < 0.5 else draw.rectangle)(box, fill=colour)
        im.save(path, "JPEG", quality=int(rng.integers(80, 96)))
    return names


def random_boxes(rng: np.random.Generator, n_images: int, per_image: float) -> BoxTable:
    counts = rng.poisson(per_image, n_images)
    image_index = np.repeat(np.arange(n_images), counts)
    k = image_index.size
    w, h = rng.uniform(8, 300, k), rng.uniform(8, 250, k)
    boxes = np.column_stack([rng.uniform(0, W - 8, k), rng.uniform(0, H - 8, k), w, h])
    return BoxTable(ids=np.arange(1, k + 1), image_index=image_index, category_index=np.zeros(k, np.int64),
                    boxes=boxes, scores=rng.random(k), iscrowd=np.zeros(k, bool), areas=w * h)


def make_dataset(names: list[str]) -> Dataset:
    rng = np.random.default_rng(1)
    n = len(names)
    images = ImageTable(ids=np.arange(1, n + 1), file_names=np.array(names, dtype=object),
                        widths=np.full(n, float(W)), heights=np.full(n, float(H)))
    return Dataset(name="bench", images=images, category_ids=np.array([1]), category_names=np.array(["x"], dtype=object),
                   labels=random_boxes(rng, n, 7), predictions=random_boxes(rng, n, 30))


def _decode_chunk(paths: list[str]) -> int:
    for p in paths:
        with Image.open(p) as im:
            np.asarray(im.convert("RGB"))
    return len(paths)


def decode_only(paths: list[str], workers: int) -> float:
    """Seconds to decode every file in a pool chunked like the metric pass."""
    from concurrent.futures import ProcessPoolExecutor, as_completed

    t0 = time.perf_counter()
    step = max(1, min(32, len(paths) // (workers * 8)))
    with ProcessPoolExecutor(max_workers=workers, mp_context=pixel_pass._mp_context()) as pool:
        futures = [pool.submit(_decode_chunk, paths[s:s + step]) for s in range(0, len(paths), step)]
        assert sum(f.result() for f in as_completed(futures)) == len(paths)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--images", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=os.cpu_count())
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out")
    args = ap.parse_args()
    folder = args.out / "metrics_images"
    t0 = time.perf_counter()
    names = make_images(folder, args.images)
    print(f"images: {len(names)} in {folder} (prepared in {time.perf_counter() - t0:.1f}s)")
    ds = make_dataset(names)
    paths = [str(folder / n) for n in names]
    print(f"labels: {len(ds.labels)}, predictions: {len(ds.predictions)}, workers: {args.workers}")

    decode_only(paths[: 4 * args.workers], args.workers)  # warm the page cache and the pool machinery
    t_decode = decode_only(paths, args.workers)
    t0 = time.perf_counter()
    plain = compute_pixel_metrics(ds, folder, workers=args.workers)
    t_metrics = time.perf_counter() - t0
    cache_dir = Path(tempfile.mkdtemp(prefix="detlens_bench_cache_"))
    try:
        t0 = time.perf_counter()
        first = compute_pixel_metrics(ds, folder, cache_dir=cache_dir, workers=args.workers)
        t_fill = time.perf_counter() - t0
        t0 = time.perf_counter()
        second = compute_pixel_metrics(ds, folder, cache_dir=cache_dir, workers=args.workers)
        t_cached = time.perf_counter() - t0
        moved = replace(ds.predictions, boxes=ds.predictions.boxes + [1.0, 1.0, 0.0, 0.0])
        other_run = replace(ds, predictions=moved)
        t0 = time.perf_counter()
        other = compute_pixel_metrics(other_run, folder, cache_dir=cache_dir, workers=args.workers)
        t_other = time.perf_counter() - t0
    finally:
        shutil.rmtree(cache_dir, ignore_errors=True)
    same = all(np.array_equal(plain.frame[k], second.frame[k], equal_nan=True) for k in plain.frame)
    ratio = t_metrics / t_decode
    verdict = "PASS" if ratio <= TARGET else "MISS"
    n = len(names)
    rows = [("(a) decode only", t_decode), ("(b) all pixel metrics, no cache", t_metrics),
            ("    ... filling a fresh cache", t_fill), ("(c) second run, cached", t_cached),
            ("(d) another run of the dataset", t_other)]
    for label, sec in rows:
        print(f"{label:34s} {sec:8.2f} s  {1000 * sec / n:7.2f} ms/image")
    print(f"ratio (b)/(a) = {ratio:.2f}  target <= {TARGET:g}x decode-only: {verdict}")
    print(f"cached run decoded {second.decoded} images, served {second.cached} from cache; "
          f"identical results: {same}; first run decoded {first.decoded}")
    print(f"another run decoded {other.decoded} images for its predictions, shared {other.shared} images' frame and "
          f"label values: {t_other / t_metrics:.2f}x the uncached pass")
    result = {
        "images": n, "labels": len(ds.labels), "predictions": len(ds.predictions), "workers": args.workers,
        "seconds": {"decode_only": t_decode, "metrics_no_cache": t_metrics, "metrics_fill_cache": t_fill,
                    "metrics_cached": t_cached, "another_run": t_other},
        "ratio_metrics_over_decode": ratio, "target_ratio": TARGET, "verdict": verdict,
        "cached_run": second.to_dict(), "identical_cached_results": same, "another_run": other.to_dict(),
        "machine": {"python": platform.python_version(), "cpu_count": os.cpu_count(), "platform": platform.platform()},
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench_metrics.json").write_text(json.dumps(result, indent=2))
    print(f"wrote {args.out / 'bench_metrics.json'}")


if __name__ == "__main__":
    main()
