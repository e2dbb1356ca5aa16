"""core.findings: the finding sentence, each rule at its edge."""

from __future__ import annotations

import math

import numpy as np
import pytest

from detlens.core.findings import (MIN_BUCKET_TOTAL, Z_SIGNIFICANT, finding_sentence, most_deviant_bucket,
                                   strongest_deviation, z_statistic)
from detlens.core.vocabulary import Side

EDGES = [0.05, 0.24, 1.0, 5.0]
TOO_FEW = "Too few predictions or labels with a value of Object Area - Relative to state a finding."


def curve(rate, totals, average):
    return {"rate": rate, "totals": totals, "average": average}


def table(tpr=None, fnr=None, edges=EDGES):
    return {"edges": edges, "TPR": tpr, "FNR": fnr}


def sentence(tpr=None, fnr=None, edges=EDGES):
    return finding_sentence(table(tpr, fnr, edges), "Object Area - Relative (P)", "%")


def rate_at_threshold(average: float, total: int) -> float:
    """The smallest rate whose computed z reaches Z_SIGNIFICANT (the one just below does not)."""
    rate = average + Z_SIGNIFICANT * math.sqrt(average * (1 - average) / total)
    while z_statistic(rate, average, total) < Z_SIGNIFICANT:
        rate = float(np.nextafter(rate, 1.0))
    while z_statistic(float(np.nextafter(rate, 0.0)), average, total) >= Z_SIGNIFICANT:
        rate = float(np.nextafter(rate, 0.0))
    return rate


def test_z_statistic():
    assert z_statistic(0.6, 0.5, 100) == pytest.approx(2.0, abs=1e-12)
    assert z_statistic(0.4, 0.5, 100) == pytest.approx(-2.0, abs=1e-12)


def test_z_exactly_at_the_threshold_is_significant():
    rate = rate_at_threshold(0.5, 100)
    at = sentence(curve([rate, 0.5, 0.5], [100, 100, 100], 0.5))
    below = sentence(curve([float(np.nextafter(rate, 0.0)), 0.5, 0.5], [100, 100, 100], 0.5))
    assert at.startswith("Predictions with Object Area - Relative below 0.24% have TPR 0.60")
    assert below.startswith("No bucket of Object Area - Relative differs significantly from the average (TPR 0.50)")


@pytest.mark.parametrize("total, expected", [(MIN_BUCKET_TOTAL - 1, None), (MIN_BUCKET_TOTAL, 0)])
def test_a_bucket_needs_five_rows(total, expected):
    found = most_deviant_bucket(curve([1.0, 0.5], [total, 1000], 0.5), Side.PREDICTIONS)
    assert (None if found is None or found.bucket != 0 else 0) == expected


def test_only_buckets_too_small_says_too_few():
    assert MIN_BUCKET_TOTAL == 5
    assert sentence(curve([1.0, 0.0, 1.0], [4, 4, 4], 0.5)) == TOO_FEW


@pytest.mark.parametrize("average", [0.0, 1.0, None])
def test_an_average_of_0_or_1_cannot_be_tested(average):
    assert sentence(curve([0.0, 1.0, 0.5], [100, 100, 100], average)) == TOO_FEW


def test_buckets_without_a_rate_are_skipped():
    found = most_deviant_bucket(curve([None, 0.9, 0.5], [0, 100, 100], 0.5), Side.LABELS)
    assert (found.bucket, found.side, found.total) == (1, Side.LABELS, 100)


def test_no_curves_says_too_few():
    assert sentence() == TOO_FEW


def test_ties_within_a_curve_go_to_the_first_bucket():
    found = most_deviant_bucket(curve([0.25, 0.75, 0.5], [100, 100, 100], 0.5), Side.PREDICTIONS)
    assert found.bucket == 0 and found.z == -5.0


def test_ties_between_curves_go_to_tpr():
    same = curve([0.5, 0.75, 0.5], [100, 100, 100], 0.5)
    assert strongest_deviation(table(same, dict(same))).side is Side.PREDICTIONS


def test_the_larger_deviation_wins_across_curves():
    tpr = curve([0.5, 0.6, 0.5], [100, 100, 100], 0.5)
    fnr = curve([0.5, 0.5, 0.9], [100, 100, 400], 0.5)
    assert sentence(tpr, fnr) == ("Labels with Object Area - Relative above 1% have FNR 0.90 against 0.50 "
                                  "on average (400 labels).")


@pytest.mark.parametrize("rates, where", [
    ([0.05, 0.2, 0.25], "below 0.24%"),
    ([0.17, 0.05, 0.17], "between 0.24% and 1%"),
    ([0.17, 0.17, 0.05], "above 1%"),
])
def test_the_sentence_names_where_the_bucket_lies(rates, where):
    assert sentence(curve(rates, [312, 312, 312], 0.17)) == (
        f"Predictions with Object Area - Relative {where} have TPR 0.05 against 0.17 on average (312 predictions).")


def test_a_single_bucket_is_below_its_upper_edge():
    assert sentence(curve([0.9], [100], 0.5), edges=[0.0, 2.0]).startswith(
        "Predictions with Object Area - Relative below 2% have TPR 0.90")


def test_deviation_to_dict():
    found = most_deviant_bucket(curve([0.6], [100], 0.5), Side.LABELS)
    assert found.to_dict() == {"side": "labels", "bucket": 0, "z": found.z, "rate": 0.6, "average": 0.5,
                               "total": 100}
