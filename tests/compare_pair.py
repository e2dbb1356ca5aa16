"""Two runs of one dataset for compare-mode tests: the demo's predictions (run A) and a perturbed copy (run B).

Run B, written as a real predictions file, drops run A's predictions of small boxes (area under
``SMALL_AREA`` px², so B loses some true positives and some false positives) and adds a prediction on
every ``ADD_EVERY``-th label (its box, confidence 0.99, so B finds labels A missed). Every change of
:mod:`detlens.core.compare_objects`' groups therefore occurs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from detlens.app.cache import SharedCache
from detlens.app.preparation import prepare
from detlens.app.queries import Queries
from detlens.app.source import DataSource
from detlens.core.demo import DemoConfig, write_demo

SMALL_AREA = 900.0  # px²: run B drops run A's predictions smaller than this
ADD_EVERY = 3  # run B adds a perfect prediction on every this many-th label


def write_run_b(labels: Path, predictions: Path, out: Path) -> Path:
    """Run B's predictions (module docstring) written to ``out`` (a new file)."""
    doc = json.loads(Path(labels).read_text())
    preds = json.loads(Path(predictions).read_text())
    kept = [p for p in preds if p["bbox"][2] * p["bbox"][3] >= SMALL_AREA]
    added = [{"image_id": a["image_id"], "category_id": a["category_id"], "bbox": a["bbox"], "score": 0.99}
             for a in doc["annotations"][::ADD_EVERY]]
    out.write_text(json.dumps(kept + added))
    return out


@dataclass(frozen=True)
class PreparedPair:
    """Both runs of the demo prepared in one shared cache (each run is its own dataset key)."""

    queries: Queries
    key_a: str
    key_b: str
    source_a: DataSource
    source_b: DataSource
    labels: Path
    predictions_a: Path
    predictions_b: Path
    classes: tuple[str, ...]


def prepare_pair(root: Path, n_images: int = 80) -> PreparedPair:
    """Write the demo and run B under ``root`` and prepare both runs in ``root / "cache"``."""
    paths = write_demo(root / "demo", DemoConfig.preset("default", n_images=n_images), render_images=False)
    run_b = write_run_b(Path(paths.labels), Path(paths.predictions), root / "predictions_b.json")
    queries = Queries(SharedCache(root / "cache"))
    source_a, source_b = DataSource(str(paths.labels), str(paths.predictions)), DataSource(str(paths.labels), str(run_b))
    key_a, key_b = prepare(queries, source_a), prepare(queries, source_b)
    return PreparedPair(queries, key_a, key_b, source_a, source_b, Path(paths.labels), Path(paths.predictions), run_b,
                        tuple(queries.summary(key_a)["classes"]))
