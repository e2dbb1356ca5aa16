"""Configuration and result types of the demo generator (see :mod:`detlens.core.demo`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

SHAPES = ("ellipse", "rectangle", "triangle", "cross")
PRED_KINDS = ("tp", "background", "low_iou", "duplicate", "wrong_class")
TP_IOU_FLOOR = 0.55


@dataclass(frozen=True)
class DemoConfig:
    """All knobs of the generator (see the module docstring). Ranges are ``(low, high)``.

    Detector effects are logit changes from the middle to the end of their range;
    score means are logits. ``DemoConfig()`` equals ``DemoConfig.preset("default")``.
    """

    seed: int = 0
    n_images: int = 300
    width: int = 320
    height: int = 240
    size_jitter: float = 0.25  # per-image size factor U(1-j, 1+j)
    classes: tuple[str, ...] = SHAPES
    n_classes: int = 0  # > 0: classes are "class_00".."class_{n-1}" instead
    class_imbalance: float = 0.5  # class k has weight (k+1)^-class_imbalance
    objects_per_image: tuple[int, int] = (1, 8)
    rel_area_range: tuple[float, float] = (0.2, 25.0)  # percent of image area
    aspect_range: tuple[float, float] = (0.5, 2.0)
    border_fraction: float = 0.15  # objects touching / crossing a border
    max_overlap_iou: float = 0.2
    crowd_per_image: float = 0.0  # Poisson mean of iscrowd=1 regions
    brightness_range: tuple[float, float] = (0.3, 1.3)  # pixel gain
    contrast_range: tuple[float, float] = (0.5, 1.5)  # gain around 128
    blur_range: tuple[float, float] = (0.0, 2.0)  # Gaussian radius, pixels
    jpeg_quality: int = 85
    # simulated detector
    base_recall: float = 0.75  # detection probability at the middle of both ranges
    size_effect: float = 2.0
    brightness_effect: float = 2.0
    loc_jitter: float = 0.09  # edge noise std, fraction of box size
    loc_size_effect: float = 0.6
    fp_per_image: float = 2.0  # Poisson mean, before dropping / capping
    fp_scale_with_objects: bool = True  # FP rate proportional to the image's label count
    fp_mix: tuple[float, float, float, float] = (0.4, 0.2, 0.2, 0.2)  # bg, low_iou, dup, wrong
    score_tp_mean: float = 1.5
    score_fp_mean: float = -0.5
    max_detections: int = 100

    def __post_init__(self) -> None:
        for name in ("objects_per_image", "rel_area_range", "aspect_range",
                     "brightness_range", "contrast_range", "blur_range"):
            lo, hi = getattr(self, name)
            if not lo <= hi:
                raise ValueError(f"{name}: low {lo} > high {hi}")
        if self.n_images < 1 or self.width < 8 or self.height < 8:
            raise ValueError("need n_images >= 1 and images of at least 8x8 pixels")
        if self.objects_per_image[0] < 0 or self.rel_area_range[0] <= 0:
            raise ValueError("objects_per_image and rel_area_range must be positive")
        if not 0 < self.base_recall < 1:
            raise ValueError("base_recall must be in (0, 1)")
        if len(self.fp_mix) != 4 or min(self.fp_mix) < 0 or sum(self.fp_mix) <= 0:
            raise ValueError("fp_mix: four non-negative weights, not all zero")
        if not self.category_names:
            raise ValueError("need at least one class")

    @property
    def category_names(self) -> tuple[str, ...]:
        """Class names, index ``k`` has COCO category id ``k + 1``."""
        if self.n_classes > 0:
            return tuple(f"class_{k:02d}" for k in range(self.n_classes))
        return tuple(self.classes)

    @classmethod
    def preset(cls, name: str, **overrides) -> "DemoConfig":
        """Named configuration, then ``overrides`` (field=value) on top.

        ``default``: both effects moderate (same as ``DemoConfig()``).
        ``size``: only object size drives misses. ``brightness``: only image
        brightness drives misses. ``benchmark``: 5,000 640x480 images,
        80 classes, ~33k labels, ~500k predictions (use without rendering).
        """
        presets = {
            "default": {},
            "size": dict(size_effect=3.0, brightness_effect=0.0),
            "brightness": dict(size_effect=0.0, brightness_effect=3.0, loc_size_effect=0.0),
            "benchmark": dict(n_images=5000, width=640, height=480, size_jitter=0.25,
                              n_classes=80, class_imbalance=1.0, objects_per_image=(2, 12),
                              rel_area_range=(0.05, 20.0), fp_per_image=110.0,
                              fp_mix=(0.7, 0.1, 0.1, 0.1), score_fp_mean=-2.0, fp_scale_with_objects=False),
        }
        if name not in presets:
            raise ValueError(f"unknown preset {name!r}; known: {', '.join(presets)}")
        return replace(cls(), **{**presets[name], **overrides})


@dataclass(frozen=True, eq=False)
class DemoData:
    """A generated dataset, columnar, plus the true causes.

    Images ``(N,)``: ``widths``/``heights`` int64 pixels, ``brightness``,
    ``contrast``, ``blur_sigma`` float64 (see module docstring); image id is
    ``i + 1``, file name ``f"{i + 1:06d}.jpg"``.
    Labels ``(L,)``, grouped by image: ``label_image`` int64 image index,
    ``label_category`` int64 class index, ``label_boxes`` ``(L, 4)`` float64
    ``[x, y, w, h]`` pixels (clipped to the image), ``label_draw_boxes`` the
    unclipped integer box the shape is drawn in, ``label_iscrowd`` bool,
    ``label_rel_area`` float64 visible box area in percent of the image,
    ``label_detect_prob`` float64 (NaN for crowd), ``label_detected`` bool.
    Label id is ``j + 1``.
    Predictions ``(P,)``, by image then descending score: ``pred_image``,
    ``pred_category`` int64, ``pred_boxes`` ``(P, 4)`` float64, ``pred_scores``
    float64 in (0, 1), ``pred_kind`` int64 index into :data:`PRED_KINDS`,
    ``pred_source`` int64 label index it was made from (-1 for background).
    """

    config: DemoConfig
    widths: np.ndarray
    heights: np.ndarray
    brightness: np.ndarray
    contrast: np.ndarray
    blur_sigma: np.ndarray
    label_image: np.ndarray
    label_category: np.ndarray
    label_boxes: np.ndarray
    label_draw_boxes: np.ndarray
    label_iscrowd: np.ndarray
    label_rel_area: np.ndarray
    label_detect_prob: np.ndarray
    label_detected: np.ndarray
    pred_image: np.ndarray
    pred_category: np.ndarray
    pred_boxes: np.ndarray
    pred_scores: np.ndarray
    pred_kind: np.ndarray
    pred_source: np.ndarray

    @property
    def file_names(self) -> list[str]:
        return [f"{i + 1:06d}.jpg" for i in range(len(self.widths))]


@dataclass(frozen=True)
class DemoPaths:
    """Files written by :func:`write_demo` (``images_dir`` None when not rendered)."""

    labels: Path
    predictions: Path
    images_dir: Path | None
    truth: Path | None = None

    def to_dict(self) -> dict[str, str | None]:
        return {k: (None if v is None else str(v)) for k, v in asdict(self).items()}
