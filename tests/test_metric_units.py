"""core.metrics.units and the registry's unit and custom flag: each rule at its edge."""

from __future__ import annotations

import math

import pytest

from detlens.core.metrics.registry import BUILTIN_METRICS, CONFIDENCE, base_name, custom_metric, metric_unit
from detlens.core.metrics.units import format_value


@pytest.mark.parametrize("x, unit, text", [
    (None, "%", "n/a"),
    (math.nan, "", "n/a"),
    (100.0, "", "100"),  # from 100: no decimals, thousands separated
    (99.94, "", "99.9"),  # below 100: one decimal
    (12345.0, "px²", "12,345 px²"),
    (-1234.4, "", "-1,234"),
    (10.0, "", "10.0"),  # from 10: one decimal
    (9.994, "", "9.99"),  # below 10: 3 significant digits
    (0.01, "", "0.01"),  # from 0.01: 3 significant digits
    (0.2412, "%", "0.241%"),
    (0.009876, "", "0.0099"),  # below 0.01: 2 significant digits
    (0.0, "", "0"),
    (3.0, "labels", "3 labels"),
    (0.5, "0 to 1", "0.5"),  # other units go in axis titles
    (1.5, "width / height", "1.5"),
])
def test_format_value(x, unit, text):
    assert format_value(x, unit) == text


@pytest.mark.parametrize("name, custom, unit", [
    ("Object Area - Relative (P)", False, "%"),
    ("Object Area - Relative", False, "%"),  # an object-table column (base name)
    ("Image Area (F)", False, "px²"),
    ("Brightness (F)", False, "0 to 1"),
    ("Model Confidence (P)", False, "score"),
    ("occlusion (L)", True, "value"),
])
def test_metric_unit(name, custom, unit):
    assert metric_unit(name, custom) == unit


def test_base_name_passes_names_without_a_level_through():
    assert base_name("Brightness (F)") == "Brightness"
    assert base_name("Object Area - Relative") == "Object Area - Relative"


def test_builtin_metrics_carry_their_unit_and_are_not_custom():
    by_name = {m.name: m for m in BUILTIN_METRICS}
    assert by_name["Object Area - Absolute (L)"].unit == "px²" and by_name[CONFIDENCE].unit == "score"
    assert not any(m.custom for m in BUILTIN_METRICS)
    assert all(m.unit == metric_unit(m.name) for m in BUILTIN_METRICS)


def test_custom_metric_is_flagged_in_its_dict():
    doc = custom_metric("weather", "F", "frame.csv").to_dict()
    assert doc == {"name": "weather (F)", "base": "weather", "level": "F",
                   "description": "Custom metric 'weather' read from frame.csv.", "needs_images": False,
                   "unit": "value", "custom": True}
