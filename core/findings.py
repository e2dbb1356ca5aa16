"""The finding of Performance by metric: one sentence naming the bucket where the model departs most from its average.

Rules (tested in ``tests/test_findings.py``):

Which buckets can be named
    Both curves of a ``BucketTable.to_dict()`` are looked at: ``TPR`` of the
    predictions and ``FNR`` of the labels (:class:`~detlens.core.vocabulary.Side`).
    A curve takes part only when it exists and its average ``p`` is strictly
    between 0 and 1 (at 0 or 1 every bucket equals it: no test is possible).
    A bucket takes part when its rate is not None and it holds at least
    ``min_total`` rows (a caller's minimum count, never below
    ``MIN_BUCKET_TOTAL`` = 5; the dashboard draws the buckets left out grey).

The statistic
    One-sample z-test of the bucket's rate ``r`` over its ``n`` rows against
    the average: ``z = (r - p) / sqrt(p (1 - p) / n)``. The bucket with the
    largest ``|z|`` is chosen: within a curve the first such bucket on ties,
    between the curves TPR on ties.

What is said
    * no bucket takes part: "Too few predictions or labels with a value of <metric> to state a finding.";
    * ``|z| < Z_SIGNIFICANT`` (1.96, two-sided 5%): "No bucket of <metric>
      differs significantly from the average (<rate> <p>): ...";
    * ``|z| >= Z_SIGNIFICANT``: "<Noun> with <metric> <where> have <rate> <r>
      against <p> on average (<n> <noun>).", where the bucket is "below <edge 1>"
      (the first), "above <edge B-1>" (the last) or "between <edge b> and <edge b+1>".

Rates are written with two decimals, bucket edges by
:func:`detlens.core.metrics.units.format_value` in the metric's unit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from detlens.core.metrics.registry import base_name
from detlens.core.metrics.units import format_value
from detlens.core.vocabulary import Side

Z_SIGNIFICANT = 1.96  # |z| from here on is significant (two-sided 5%)
MIN_BUCKET_TOTAL = 5  # rows a bucket needs to be tested


@dataclass(frozen=True)
class Deviation:
    """The bucket of one curve whose rate departs most from the curve's average.

    Attributes:
        side: the curve's side (predictions: TPR, labels: FNR).
        bucket: bucket index, 0-based.
        z: z statistic of the bucket (signed; see the module docstring).
        rate: the bucket's rate in [0, 1].
        average: the curve's average rate in (0, 1).
        total: rows in the bucket.
    """

    side: Side
    bucket: int
    z: float
    rate: float
    average: float
    total: int

    def to_dict(self) -> dict:
        return {"side": self.side.value, "bucket": self.bucket, "z": self.z, "rate": self.rate,
                "average": self.average, "total": self.total}


def z_statistic(rate: float, average: float, total: int) -> float:
    """``(rate - average) / sqrt(average (1 - average) / total)`` for ``0 < average < 1`` and ``total > 0``."""
    return (rate - average) / math.sqrt(average * (1 - average) / total)


def tested_minimum(min_total: int = MIN_BUCKET_TOTAL) -> int:
    """Rows a bucket needs to be tested: ``min_total``, never below ``MIN_BUCKET_TOTAL``."""
    return max(int(min_total), MIN_BUCKET_TOTAL)


def most_deviant_bucket(curve: dict | None, side: Side, min_total: int = MIN_BUCKET_TOTAL) -> Deviation | None:
    """The bucket of one curve with the largest ``|z|`` (first on ties), or None when none can be tested.

    Args:
        curve: ``RateCurve.to_dict()`` (``rate`` list of float or None, ``totals`` list of int,
            ``average`` float or None), or None.
        side: the curve's side.
        min_total: rows a bucket needs to take part (see :func:`tested_minimum`).
    """
    average = None if curve is None else curve.get("average")
    if average is None or not 0 < average < 1:
        return None
    best = None
    for bucket, (rate, total) in enumerate(zip(curve["rate"], curve["totals"])):
        if rate is None or total < tested_minimum(min_total):
            continue
        z = z_statistic(rate, average, total)
        if best is None or abs(z) > abs(best.z):
            best = Deviation(side, bucket, z, rate, average, int(total))
    return best


def strongest_deviation(table: dict, min_total: int = MIN_BUCKET_TOTAL) -> Deviation | None:
    """The :func:`most_deviant_bucket` of the TPR and FNR curves with the larger ``|z|`` (TPR on ties), or None.

    Args:
        table: ``BucketTable.to_dict()``, or one class's curves with the edges
            (``{"edges": ..., **table["per_class"][name]}``).
        min_total: rows a bucket needs to take part (see :func:`tested_minimum`).
    """
    found = [d for side in Side if (d := most_deviant_bucket(table.get(side.rate), side, min_total)) is not None]
    return max(found, key=lambda d: abs(d.z), default=None)


def bucket_phrase(edges: list[float], bucket: int, unit: str) -> str:
    """Where a bucket lies: "below <edge 1>", "above <edge B-1>" or "between <edge b> and <edge b+1>"."""
    last = len(edges) - 2
    if bucket == 0:
        return f"below {format_value(edges[1], unit)}"
    if bucket == last:
        return f"above {format_value(edges[bucket], unit)}"
    return f"between {format_value(edges[bucket], unit)} and {format_value(edges[bucket + 1], unit)}"


def finding_sentence(table: dict, metric: str, unit: str, min_total: int = MIN_BUCKET_TOTAL) -> str:
    """One sentence stating the bucket where the model departs most from its average (rules in the module docstring).

    Args:
        table: ``BucketTable.to_dict()``, or one class's curves with the edges
            (``{"edges": ..., **table["per_class"][name]}``).
        metric: display name of the selected metric.
        unit: the unit bucket edges are written in ("" for none; see :mod:`detlens.core.metrics.units`).
        min_total: rows a bucket needs to take part (see :func:`tested_minimum`).
    """
    name = base_name(metric)
    found = strongest_deviation(table, min_total)
    if found is None:
        return f"Too few predictions or labels with a value of {name} to state a finding."
    rate_name, noun = found.side.rate, found.side.noun
    if abs(found.z) < Z_SIGNIFICANT:
        return (f"No bucket of {name} differs significantly from the average "
                f"({rate_name} {found.average:.2f}): the model does about as well across its range.")
    return (f"{noun.capitalize()} with {name} {bucket_phrase(table['edges'], found.bucket, unit)} have {rate_name} "
            f"{found.rate:.2f} against {found.average:.2f} on average ({found.total:,} {noun}).")
