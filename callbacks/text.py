"""Words and numbers shown on the page: units, value formats, bucket labels and the finding sentence."""

from __future__ import annotations

import math

from detlens.core.metrics.registry import FRAME, LABEL, PREDICTION, level_of

# Unit of each built-in metric (by base name) for axis titles and sentences.
UNITS = {
    "Object Area - Absolute": "px²",
    "Object Area - Relative": "%",
    "Image Area": "px²",
    "Object Count": "labels",
    "Aspect Ratio": "width / height",
    "Object Aspect Ratio": "width / height",
    "Max Overlap": "IoU",
    "Model Confidence": "score",
}
UNIT_FREE = "0 to 1"
LEVEL_TITLES = {FRAME: "Frame (image) metrics", PREDICTION: "Prediction metrics", LABEL: "Label metrics"}


def base_name(metric: str) -> str:
    """A metric's name without its ``(F)``/``(P)``/``(L)`` suffix (custom names pass through)."""
    try:
        level_of(metric)
        return metric[:-4]
    except ValueError:
        return metric


def metric_unit(metric: str, custom: bool = False) -> str:
    """Unit of a metric for axis titles ("value" for custom metrics)."""
    if custom:
        return "value"
    return UNITS.get(base_name(metric), UNIT_FREE)


def format_value(x: float, unit: str = "") -> str:
    """A metric value with 2-3 significant digits and its unit ("0.24%", "1,234 px²", "0.81")."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if abs(x) >= 100:
        text = f"{x:,.0f}"
    elif abs(x) >= 10:
        text = f"{x:.1f}"
    else:
        text = f"{x:.3g}" if abs(x) >= 0.01 or x == 0 else f"{x:.2g}"
    if unit == "%":
        return text + "%"
    if unit in ("px²", "labels"):
        return f"{text} {unit}"
    return text


def bucket_labels(edges: list[float]) -> list[str]:
    """One x-axis label per bucket, e.g. ``"0.05–0.24"`` (the unit goes in the axis title)."""
    return [f"{format_value(lo)}–{format_value(hi)}" for lo, hi in zip(edges[:-1], edges[1:])]


def _bucket_phrase(edges: list[float], b: int, unit: str) -> str:
    n = len(edges) - 1
    if b == 0:
        return f"below {format_value(edges[1], unit)}"
    if b == n - 1:
        return f"above {format_value(edges[b], unit)}"
    return f"between {format_value(edges[b], unit)} and {format_value(edges[b + 1], unit)}"


def _most_deviant(curve: dict) -> tuple[int, float] | None:
    """(bucket, z-score) of the bucket whose rate differs most from the average, or None."""
    avg = curve.get("average")
    if avg is None or not 0 < avg < 1:
        return None
    best = None
    for b, (rate, total) in enumerate(zip(curve["rate"], curve["totals"])):
        if rate is None or total < 5:
            continue
        z = (rate - avg) / math.sqrt(avg * (1 - avg) / total)
        if best is None or abs(z) > abs(best[1]):
            best = (b, z)
    return best


def finding_sentence(table: dict, metric: str, unit: str) -> str:
    """One sentence stating the bucket where the model departs most from its average.

    Args:
        table: ``BucketTable.to_dict()``.
        metric: display name of the selected metric.
        unit: the metric's unit (see :func:`metric_unit`).
    """
    name = base_name(metric)
    candidates = []
    for side, rate_name, noun in (("TPR", "TPR", "predictions"), ("FNR", "FNR", "labels")):
        curve = table.get(side)
        found = _most_deviant(curve) if curve else None
        if found is not None:
            candidates.append((abs(found[1]), found[0], curve, rate_name, noun))
    if not candidates:
        return f"Too few predictions or labels with a value of {name} to state a finding."
    z, b, curve, rate_name, noun = max(candidates, key=lambda c: c[0])
    if z < 1.96:
        return (f"No bucket of {name} differs significantly from the average "
                f"({rate_name} {curve['average']:.2f}): the model does about as well across its range.")
    noun_cap = noun.capitalize()
    return (f"{noun_cap} with {name} {_bucket_phrase(table['edges'], b, unit)} have {rate_name} "
            f"{curve['rate'][b]:.2f} against {curve['average']:.2f} on average ({curve['totals'][b]:,} {noun}).")
