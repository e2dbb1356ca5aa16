"""Units of the metrics and how a metric value is written in text.

Rules (tested in ``tests/test_metric_units.py``):

Units
    Each built-in metric has a unit by base name (``UNITS``); a metric not in
    the table is a ratio or score in [0, 1] (``UNIT_FREE``, "0 to 1"). Custom
    metrics read from the user's data have no known unit (``CUSTOM_UNIT``, "value").

Values
    ``None`` or NaN is ``"n/a"``. Otherwise, by magnitude ``|x|``:

    ===================  =================================  ==============
    ``|x|``              written as                         example
    ===================  =================================  ==============
    >= 100               no decimals, thousands separated   ``12,345``
    >= 10 and < 100      one decimal                        ``12.3``
    >= 0.01 and < 10     3 significant digits               ``0.241``
    < 0.01, not 0        2 significant digits               ``0.0012``
    0                    ``0``                              ``0``
    ===================  =================================  ==============

    The unit follows for ``%`` (attached: ``0.241%``), ``px²`` and ``labels``
    (after a space: ``12,345 px²``); every other unit goes in axis titles, not
    after the number.
"""

from __future__ import annotations

import math

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
CUSTOM_UNIT = "value"
ATTACHED_UNITS = ("%",)
SPACED_UNITS = ("px²", "labels")
THOUSANDS_FROM = 100.0  # |x| from here on: no decimals
ONE_DECIMAL_FROM = 10.0  # |x| from here to THOUSANDS_FROM: one decimal
THREE_DIGITS_FROM = 0.01  # |x| from here to ONE_DECIMAL_FROM: 3 significant digits (below: 2)


def unit_of_base(base: str, custom: bool = False) -> str:
    """The unit of a metric by base name (e.g. ``"Object Area - Relative"`` -> ``"%"``); ``"value"`` if ``custom``."""
    return CUSTOM_UNIT if custom else UNITS.get(base, UNIT_FREE)


def format_value(x: float | None, unit: str = "") -> str:
    """A metric value in text with 2-3 significant digits and its unit, per the module's rules.

    Args:
        x: the value in the metric's unit (None or NaN = missing).
        unit: the metric's unit (see :func:`unit_of_base`); "" for none.

    Returns:
        e.g. ``"0.241%"``, ``"12,345 px²"``, ``"0.81"``, ``"n/a"``.
    """
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if abs(x) >= THOUSANDS_FROM:
        text = f"{x:,.0f}"
    elif abs(x) >= ONE_DECIMAL_FROM:
        text = f"{x:.1f}"
    else:
        text = f"{x:.3g}" if abs(x) >= THREE_DIGITS_FROM or x == 0 else f"{x:.2g}"
    if unit in ATTACHED_UNITS:
        return text + unit
    if unit in SPACED_UNITS:
        return f"{text} {unit}"
    return text
