"""The built-in quality metrics: display names, levels and user-facing descriptions.

A metric's display name ends in its level: ``(F)`` frame (one value per
image, joined to every prediction and label of that image), ``(P)``
prediction, ``(L)`` label. Object metrics exist as a ``(P)`` and an ``(L)``
twin with the same base name. The exact definitions are in ``docs/metrics.md``
and in the modules that compute them (:mod:`detlens.core.metrics.geometry`,
:mod:`detlens.core.metrics.pixels`); units in :mod:`detlens.core.metrics.units`.

Custom metrics are read from the user's data (extra numeric annotation fields,
the frame CSV): :func:`custom_metric` marks them ``custom`` with unit "value".
"""

from __future__ import annotations

from dataclasses import dataclass

from detlens.core.metrics.units import unit_of_base

FRAME, PREDICTION, LABEL = "F", "P", "L"
LEVEL_NAMES = {FRAME: "frame (image)", PREDICTION: "prediction", LABEL: "label"}


@dataclass(frozen=True)
class MetricInfo:
    """One metric as users see it.

    Attributes:
        name: display name including the level suffix, e.g. ``"Brightness (F)"``.
        base: name without the suffix.
        level: ``"F"``, ``"P"`` or ``"L"``.
        description: one paragraph shown to users.
        needs_images: computed from pixels (needs the image files).
        unit: unit of its values (see :mod:`detlens.core.metrics.units`), e.g. ``"%"``, ``"0 to 1"``.
        custom: read from the user's data rather than built in.
    """

    name: str
    base: str
    level: str
    description: str
    needs_images: bool
    unit: str
    custom: bool = False

    def to_dict(self) -> dict:
        return {"name": self.name, "base": self.base, "level": self.level, "description": self.description,
                "needs_images": self.needs_images, "unit": self.unit, "custom": self.custom}


_FRAME = [
    ("Brightness", True, "Mean of all RGB channel values of the image, divided by 255: 0 is black, 1 is white."),
    ("Contrast", True, "Standard deviation of all RGB channel values of the image, divided by 255."),
    ("Sharpness", True, "Strength of edges: variance of the Laplacian of the grey image, mapped to [0, 1] "
                        "(0 = flat or very blurry, near 1 = crisp fine detail)."),
    ("Blur", True, "1 - Sharpness: high values mean a blurry or flat image."),
    ("Saturation", True, "Mean HSV saturation of the image's pixels, in [0, 1]."),
    ("Redness", True, "Share of the image's pixels that are saturated, bright enough and red."),
    ("Greenness", True, "Share of the image's pixels that are saturated, bright enough and green."),
    ("Blueness", True, "Share of the image's pixels that are saturated, bright enough and blue."),
    ("Uniqueness", True, "Distance to the most similar other image on a 16x16 grey thumbnail, in [0, 1]; "
                         "exact duplicates score 0."),
    ("Image Area", False, "Image width times height, in pixels."),
    ("Aspect Ratio", False, "Image width divided by height."),
    ("Object Count", False, "Number of labels in the image."),
    ("Object Density", False, "Share of the image area covered by at least one label, in [0, 1]."),
    ("Random Values", False, "Uniform random noise per image: a control metric that should rank near zero."),
]

_OBJECT = [
    ("Object Area - Absolute", False, "Box width times height, in pixels."),
    ("Object Area - Relative", False, "Box area as a percentage of the image area."),
    ("Object Aspect Ratio", False, "Box width divided by box height."),
    ("Border Closeness", False, "1 when the box touches the image border, falling linearly to 0 at the "
                                "image centre: 1 - 2 x (distance to the nearest edge as a share of that side)."),
    ("Object Brightness", True, "Mean of the RGB channel values inside the box, divided by 255."),
    ("Object Contrast", True, "Standard deviation of the RGB channel values inside the box, divided by 255."),
    ("Object Sharpness", True, "Sharpness (see the frame metric) computed on the box crop."),
    ("Max Overlap", False, "Largest IoU with another object of the same class in the same image "
                           "(labels against labels, predictions against predictions)."),
    ("Random Values", False, "Uniform random noise per object: a control metric that should rank near zero."),
]

CONFIDENCE = "Model Confidence (P)"


def _builtin(base: str, level: str, description: str, needs_images: bool) -> MetricInfo:
    return MetricInfo(f"{base} ({level})", base, level, description, needs_images, unit=unit_of_base(base))


def _catalogue() -> tuple[MetricInfo, ...]:
    out = [_builtin(b, FRAME, d, img) for b, img, d in _FRAME]
    for level in (PREDICTION, LABEL):
        out += [_builtin(b, level, d, img) for b, img, d in _OBJECT]
    out.append(_builtin(base_of(CONFIDENCE), PREDICTION, "The model's confidence score for the prediction.", False))
    return tuple(out)


def custom_metric(base: str, level: str, source: str) -> MetricInfo:
    """A metric read from the user's data (an extra numeric field or a CSV column): ``custom``, unit "value"."""
    return MetricInfo(f"{base} ({level})", base, level, f"Custom metric '{base}' read from {source}.", False,
                      unit=unit_of_base(base, custom=True), custom=True)


def level_of(name: str) -> str:
    """The level letter of a display name (``"Brightness (F)"`` -> ``"F"``)."""
    if len(name) < 4 or name[-4:-2] != " (" or name[-1] != ")" or name[-2] not in (FRAME, PREDICTION, LABEL):
        raise ValueError(f"metric name must end in (F), (P) or (L): {name!r}")
    return name[-2]


def base_of(name: str) -> str:
    """The name without its level suffix.

    Raises:
        ValueError: the name has no ``(F)``/``(P)``/``(L)`` suffix.
    """
    level_of(name)
    return name[:-4]


def base_name(name: str) -> str:
    """Like :func:`base_of`, but a name without a level suffix (an object-table column) passes through."""
    try:
        return base_of(name)
    except ValueError:
        return name


def metric_unit(name: str, custom: bool = False) -> str:
    """Unit of a metric by display name or base name ("value" for custom metrics)."""
    return unit_of_base(base_name(name), custom)


BUILTIN_METRICS: tuple[MetricInfo, ...] = _catalogue()
