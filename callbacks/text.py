"""Words shown on the page: level titles and bucket labels.

The rules that decide words and numbers live in core and are re-exported here
for the callbacks: units and value formats (:mod:`detlens.core.metrics.units`,
:mod:`detlens.core.metrics.registry`) and the finding sentence
(:mod:`detlens.core.findings`).
"""

from __future__ import annotations

from detlens.core.findings import finding_sentence
from detlens.core.metrics.registry import FRAME, LABEL, PREDICTION, base_name, metric_unit
from detlens.core.metrics.units import format_value

__all__ = ["LEVEL_TITLES", "base_name", "bucket_labels", "finding_sentence", "format_value", "metric_unit"]

LEVEL_TITLES = {FRAME: "Frame (image) metrics", PREDICTION: "Prediction metrics", LABEL: "Label metrics"}


def bucket_labels(edges: list[float]) -> list[str]:
    """One x-axis label per bucket, e.g. ``"0.05–0.24"`` (the unit goes in the axis title).

    Args:
        edges: ``B + 1`` bucket edges in the metric's unit.

    Returns:
        ``B`` labels.
    """
    return [f"{format_value(lo)}–{format_value(hi)}" for lo, hi in zip(edges[:-1], edges[1:])]
