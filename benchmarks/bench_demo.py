"""Demo generation speed: the default demo written (annotations and images) and the benchmark preset's annotations.

Targets: the default demo (what ``make run`` writes on first start) within 20 s;
the benchmark preset's 500k-prediction annotations within 15 s.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from detlens.core.demo import DemoConfig, generate_annotations, write_demo

TARGETS_S = {"default demo written": 20.0, "benchmark annotations generated": 15.0}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        write_demo(Path(tmp) / "demo", DemoConfig.preset("default"))
        measured = {"default demo written": time.perf_counter() - t0}
    t0 = time.perf_counter()
    gt, results = generate_annotations(DemoConfig.preset("benchmark"))
    measured["benchmark annotations generated"] = time.perf_counter() - t0
    print(f"benchmark preset: {len(gt['images']):,} images, {len(gt['annotations']):,} labels, "
          f"{len(results):,} predictions")
    for name, seconds in measured.items():
        target = TARGETS_S[name]
        print(f"{name:<34} {seconds:6.2f} s   target {target:.0f} s   {'PASS' if seconds <= target else 'MISS'}")


if __name__ == "__main__":
    main()
