"""Deterministic synthetic detection dataset with *planted* failure causes.

This module is the reference for what the demo data contains; analyses and
tests of later features check that they recover exactly what is written here.

Scene model (one draw per image, independent of each other):

* size ``W x H`` pixels (``width``/``height``, times ``U(1-j, 1+j)`` when
  ``size_jitter = j > 0``), a textured, noisy mid-grey background;
* ``brightness`` ~ U(``brightness_range``): multiplicative gain on pixel values;
* ``contrast`` ~ U(``contrast_range``): gain around grey 128, applied before brightness;
* ``blur_sigma`` ~ U(``blur_range``): Gaussian blur radius in pixels (Pillow);
* ``n`` ~ U{``objects_per_image``} objects. Class ~ weights ``(k+1)^-class_imbalance``;
  relative area log-uniform in ``rel_area_range`` (percent of image area);
  aspect ``w/h`` log-uniform in ``aspect_range``. A fraction ``border_fraction``
  touches or crosses one image border (at most half of the object cut off,
  so the clipped box stays tight around the visible shape). Objects overlapping
  an earlier object of the same image with IoU > ``max_overlap_iou`` are dropped.
  Shapes are drawn by class index modulo 4: ellipse, rectangle, triangle, cross,
  largest first, so that every box is tight (integer pixel edges).
* ``crowd_per_image`` (Poisson mean, default 0) extra ``iscrowd=1`` regions.

Simulated detector (planted signal). Every non-crowd label is detected
independently with probability :func:`detection_probability`::

    z_size   = (2 ln a - ln a_lo - ln a_hi) / (ln a_hi - ln a_lo)  # -1..1 over rel_area_range
    z_bright = (2 b - b_lo - b_hi) / (b_hi - b_lo)                 # -1..1 over brightness_range
    logit p  = logit(base_recall) + size_effect * z_size + brightness_effect * z_bright

with ``a`` the visible box area in percent of the image and ``b`` the brightness
gain. Nothing else (class, contrast, blur, position, border) changes ``p``.
A detected label yields one prediction of its class whose edges are moved by
``N(0, s)`` times the box size, ``s = loc_jitter * exp(-loc_size_effect * z_size)``
(small objects are localised worse), shrunk until IoU >= 0.55: so a label is a
true positive at IoU 0.5 exactly when it was detected. False positives, Poisson
with mean ``fp_per_image * (k + 0.5) / (mean k + 0.5)`` for an image with k
labels (so the share of true positives does not depend on crowding; with
``fp_scale_with_objects=False`` simply ``fp_per_image``), split by ``fp_mix`` into ``background`` (IoU < 0.1
with every label), ``low_iou`` (same class, IoU 0.05..0.5 with one label),
``duplicate`` (second, lower-scored box on a detected label) and
``wrong_class`` (well placed box with another class). Background boxes have
relative area ``exp(log lo + (log hi - log lo) * U ** (1 + size_effect))``: the
stronger the size effect, the more the detector hallucinates small objects. None of them can match
an undetected label at IoU 0.5. Scores are ``sigmoid(N(score_tp_mean, 1))``
for detections, ``sigmoid(N(score_fp_mean, 1))`` for false positives and the
source score times U(0.3, 0.95) for duplicates. At most ``max_detections``
highest-scored predictions are kept per image (a detection cut by this cap
counts as not detected in the truth).

Random streams: ``SeedSequence(seed)`` children 0 (scene), 1 (detector) and
``(2, i)`` (pixels of image ``i``), so detector knobs never change the scene and
same config gives byte-identical files.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import orjson

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


def detection_probability(rel_area_percent, brightness, config: DemoConfig) -> np.ndarray:
    """The planted curve: probability that a label is detected (TP at IoU 0.5).

    Args:
        rel_area_percent: array-like float, visible box area in percent of image area.
        brightness: array-like float, image brightness gain (broadcast against areas).
        config: supplies ``base_recall``, ``size_effect``, ``brightness_effect``
            and the ranges that map both inputs to ``[-1, 1]``.
    Returns:
        float64 array of the broadcast shape, values in (0, 1).
    """
    a = np.log(np.maximum(np.asarray(rel_area_percent, np.float64), 1e-9))
    lo, hi = np.log(config.rel_area_range[0]), np.log(config.rel_area_range[1])
    z_size = (2 * a - lo - hi) / max(hi - lo, 1e-12)
    b_lo, b_hi = config.brightness_range
    z_bright = (2 * np.asarray(brightness, np.float64) - b_lo - b_hi) / max(b_hi - b_lo, 1e-12)
    logit = (np.log(config.base_recall / (1 - config.base_recall))
             + config.size_effect * z_size + config.brightness_effect * z_bright)
    return 1.0 / (1.0 + np.exp(-logit))


def iou_xywh(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Element-wise IoU of ``[..., 4]`` float boxes ``[x, y, w, h]`` (broadcast); NaN boxes give 0."""
    ix = np.minimum(a[..., 0] + a[..., 2], b[..., 0] + b[..., 2]) - np.maximum(a[..., 0], b[..., 0])
    iy = np.minimum(a[..., 1] + a[..., 3], b[..., 1] + b[..., 3]) - np.maximum(a[..., 1], b[..., 1])
    inter = np.clip(ix, 0, None) * np.clip(iy, 0, None)
    union = a[..., 2] * a[..., 3] + b[..., 2] * b[..., 3] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        out = inter / union
    return np.nan_to_num(out, nan=0.0)


def _clip_boxes(boxes: np.ndarray, w: np.ndarray, h: np.ndarray) -> np.ndarray:
    x1 = np.clip(boxes[:, 0], 0, w)
    y1 = np.clip(boxes[:, 1], 0, h)
    x2 = np.clip(boxes[:, 0] + boxes[:, 2], 0, w)
    y2 = np.clip(boxes[:, 1] + boxes[:, 3], 0, h)
    return np.stack([x1, y1, x2 - x1, y2 - y1], axis=1)


def _scene(cfg: DemoConfig, rng: np.random.Generator):
    n = cfg.n_images
    if cfg.size_jitter > 0:
        f = rng.uniform(1 - cfg.size_jitter, 1 + cfg.size_jitter, (2, n))
        widths = np.maximum(np.rint(cfg.width * f[0]), 8).astype(np.int64)
        heights = np.maximum(np.rint(cfg.height * f[1]), 8).astype(np.int64)
    else:
        widths = np.full(n, cfg.width, np.int64)
        heights = np.full(n, cfg.height, np.int64)
    brightness = rng.uniform(*cfg.brightness_range, n)
    contrast = rng.uniform(*cfg.contrast_range, n)
    blur = rng.uniform(*cfg.blur_range, n)

    counts = rng.integers(cfg.objects_per_image[0], cfg.objects_per_image[1] + 1, n)
    img = np.repeat(np.arange(n), counts)
    m = len(img)
    n_cls = len(cfg.category_names)
    weights = (np.arange(n_cls) + 1.0) ** -cfg.class_imbalance
    cat = rng.choice(n_cls, size=m, p=weights / weights.sum())
    W, H = widths[img].astype(float), heights[img].astype(float)
    area = np.exp(rng.uniform(*np.log(cfg.rel_area_range), m)) / 100 * W * H
    aspect = np.exp(rng.uniform(*np.log(cfg.aspect_range), m))
    bw = np.clip(np.rint(np.sqrt(area * aspect)), 3, np.floor(0.9 * W))
    bh = np.clip(np.rint(area / np.maximum(bw, 1)), 3, np.floor(0.9 * H))
    x1 = np.floor(rng.uniform(0, 1, m) * (W - bw + 1))
    y1 = np.floor(rng.uniform(0, 1, m) * (H - bh + 1))
    # border objects: touch (25%) or cross one border by up to half their extent
    on_border = rng.uniform(size=m) < cfg.border_fraction
    side = rng.integers(0, 4, m)
    cut = np.where(rng.uniform(size=m) < 0.25, 0.0, rng.uniform(0, 0.5, m))
    cut_x, cut_y = np.floor(cut * bw), np.floor(cut * bh)
    cut_y = np.where((side == 3) & (cat % 4 == 2), 0, cut_y)  # triangles: no bottom cut
    x1 = np.where(on_border & (side == 0), -cut_x, x1)
    x1 = np.where(on_border & (side == 1), W - bw + cut_x, x1)
    y1 = np.where(on_border & (side == 2), -cut_y, y1)
    y1 = np.where(on_border & (side == 3), H - bh + cut_y, y1)
    draw = np.stack([x1, y1, bw, bh], axis=1)
    boxes = _clip_boxes(draw, W, H)

    # drop objects overlapping an earlier object of the same image too much
    slot = np.arange(m) - np.repeat(np.cumsum(counts) - counts, counts)
    pad = np.full((n, max(int(counts.max(initial=0)), 1), 4), np.nan)
    pad[img, slot] = boxes
    ious = iou_xywh(pad[:, :, None, :], pad[:, None, :, :])
    ious *= np.tril(np.ones(ious.shape[1:], bool), k=-1)
    keep = (ious.max(axis=2, initial=0) <= cfg.max_overlap_iou)[img, slot]
    img, cat, draw, boxes = img[keep], cat[keep], draw[keep], boxes[keep]
    crowd = np.zeros(len(img), bool)

    n_crowd = rng.poisson(cfg.crowd_per_image, n) if cfg.crowd_per_image > 0 else np.zeros(n, int)
    if n_crowd.sum():
        c_img = np.repeat(np.arange(n), n_crowd)
        cW, cH = widths[c_img].astype(float), heights[c_img].astype(float)
        side_c = np.sqrt(rng.uniform(0.02, 0.15, len(c_img)) * cW * cH)
        cw, ch = np.minimum(np.rint(side_c), cW - 1), np.minimum(np.rint(side_c), cH - 1)
        cx = np.floor(rng.uniform(size=len(c_img)) * (cW - cw))
        cy = np.floor(rng.uniform(size=len(c_img)) * (cH - ch))
        c_draw = np.stack([cx, cy, cw, ch], axis=1)
        order = np.argsort(np.concatenate([img, c_img]), kind="stable")
        img = np.concatenate([img, c_img])[order]
        cat = np.concatenate([cat, rng.choice(n_cls, len(c_img))])[order]
        draw = np.concatenate([draw, c_draw])[order]
        boxes = np.concatenate([boxes, c_draw])[order]
        crowd = np.concatenate([crowd, np.ones(len(c_img), bool)])[order]
    return widths, heights, brightness, contrast, blur, img, cat, draw, boxes, crowd


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _jitter(src: np.ndarray, noise: np.ndarray, W: np.ndarray, H: np.ndarray) -> np.ndarray:
    """Move box edges by ``noise * size``; halve the move until IoU >= TP_IOU_FLOOR."""
    scale = np.ones(len(src))
    for attempt in range(7):
        n = noise * scale[:, None]
        x1 = src[:, 0] + n[:, 0] * src[:, 2]
        y1 = src[:, 1] + n[:, 1] * src[:, 3]
        x2 = src[:, 0] + src[:, 2] * (1 + n[:, 2])
        y2 = src[:, 1] + src[:, 3] * (1 + n[:, 3])
        out = _clip_boxes(np.stack([x1, y1, x2 - x1, y2 - y1], axis=1), W, H)
        bad = (iou_xywh(out, src) < TP_IOU_FLOOR) | (out[:, 2] <= 0) | (out[:, 3] <= 0)
        if not bad.any():
            break
        scale[bad] = 0.5 if attempt < 5 else 0.0
    return out


def _pick(f_img: np.ndarray, pool: np.ndarray, pool_img: np.ndarray, n: int, u: np.ndarray):
    """For each row a uniformly chosen member of ``pool`` in the same image (-1 if none)."""
    counts = np.bincount(pool_img, minlength=n)
    start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    c = counts[f_img]
    j = np.minimum(start[f_img] + np.floor(u * c).astype(np.int64), max(len(pool) - 1, 0))
    return np.where(c > 0, pool[j] if len(pool) else -1, -1)


def _detector(cfg: DemoConfig, rng: np.random.Generator, widths, heights, brightness,
              img, cat, boxes, crowd):
    n, n_cls = cfg.n_images, len(cfg.category_names)
    Wl, Hl = widths[img].astype(float), heights[img].astype(float)
    rel = boxes[:, 2] * boxes[:, 3] / (Wl * Hl) * 100
    p = np.where(crowd, np.nan, detection_probability(rel, brightness[img], cfg))
    detected = (rng.uniform(size=len(img)) < p) & ~crowd
    det = np.flatnonzero(detected)
    lo, hi = np.log(cfg.rel_area_range)
    z = (2 * np.log(rel[det]) - lo - hi) / max(hi - lo, 1e-12)
    s = cfg.loc_jitter * np.exp(-cfg.loc_size_effect * z)
    tp_boxes = _jitter(boxes[det], rng.normal(size=(len(det), 4)) * s[:, None], Wl[det], Hl[det])
    tp_scores = _sigmoid(rng.normal(cfg.score_tp_mean, 1.0, len(det)))
    score_of_label = np.zeros(len(img))
    score_of_label[det] = tp_scores

    # false positives: draw every random number for every row, then select by kind
    # proportional to the image's object count (plus a floor), so that the share of
    # true positives does not depend on how crowded an image is
    lab_per_img = np.bincount(img, minlength=n).astype(float)
    fp_rate = np.full(n, cfg.fp_per_image)
    if cfg.fp_scale_with_objects and n:
        fp_rate = cfg.fp_per_image * (lab_per_img + 0.5) / (lab_per_img.mean() + 0.5)
    f_img = np.repeat(np.arange(n), rng.poisson(fp_rate))
    f = len(f_img)
    mix = np.asarray(cfg.fp_mix, float)
    kind = rng.choice(4, size=f, p=mix / mix.sum()) + 1
    u = rng.uniform(size=f)
    nonc = np.flatnonzero(~crowd)
    src_any = _pick(f_img, nonc, img[nonc], n, u)
    src_det = _pick(f_img, det, img[det], n, u)
    src = np.where(kind == 3, src_det, np.where(kind == 1, -1, src_any))
    kind = np.where((kind != 1) & ((src < 0) | ((kind == 4) & (n_cls < 2))), 1, kind)
    src0 = np.maximum(src, 0)
    srcb = boxes[src0] if len(img) else np.zeros((f, 4))
    src_cat = cat[src0] if len(img) else np.zeros(f, np.int64)
    Wf, Hf = widths[f_img].astype(float), heights[f_img].astype(float)
    near = _jitter(srcb, rng.normal(size=(f, 4)) * cfg.loc_jitter, Wf, Hf)
    t = rng.uniform(0.1, 0.45, f)
    shift = (1 - t) / (1 + t) * rng.choice([-1.0, 1.0], f)
    along_x = rng.uniform(size=f) < 0.5
    low = srcb.copy()
    low[:, 0] += np.where(along_x, shift * srcb[:, 2], 0)
    low[:, 1] += np.where(along_x, 0, shift * srcb[:, 3])
    low = _clip_boxes(low, Wf, Hf)
    f_cat = np.where(kind == 4, (src_cat + rng.integers(1, max(n_cls, 2), f)) % n_cls,
                     np.where(kind == 1, rng.choice(n_cls, f), src_cat))
    dup_score = score_of_label[src0] if len(img) else np.zeros(f)
    f_scores = np.where(kind == 3, dup_score * rng.uniform(0.3, 0.95, f),
                        _sigmoid(rng.normal(cfg.score_fp_mean, 1.0, f)))
    f_boxes = np.where((kind == 2)[:, None], low, near)

    lab_count = np.bincount(img, minlength=n)
    lab_start = np.concatenate([[0], np.cumsum(lab_count)[:-1]])

    def max_iou(bx: np.ndarray, rows: np.ndarray, same_class: bool) -> np.ndarray:
        """Max IoU of ``bx`` (FP ``rows``) with labels of its image other than its source."""
        cnt = lab_count[f_img[rows]]
        pair = np.repeat(np.arange(len(rows)), cnt)
        first = np.cumsum(cnt) - cnt
        lab = np.repeat(lab_start[f_img[rows]] - first, cnt) + np.arange(len(pair))
        val = iou_xywh(bx[pair], boxes[lab])
        val[lab == src[rows][pair]] = 0.0
        if same_class:
            val[(cat[lab] != f_cat[rows][pair]) | crowd[lab]] = 0.0
        out = np.zeros(len(rows))
        has = cnt > 0
        if has.any():
            out[has] = np.maximum.reduceat(val, first[has])
        return out

    todo = np.flatnonzero(kind == 1)
    for _ in range(5):  # background boxes: resample those within IoU 0.1 of any label
        # the detector hallucinates small objects more often the stronger the size effect
        lo_a, hi_a = np.log(cfg.rel_area_range)
        skew = rng.uniform(size=len(todo)) ** (1.0 + max(cfg.size_effect, 0.0))
        area = np.exp(lo_a + (hi_a - lo_a) * skew) / 100 * Wf[todo] * Hf[todo]
        aspect = np.exp(rng.uniform(*np.log(cfg.aspect_range), len(todo)))
        bw = np.minimum(np.sqrt(area * aspect), 0.9 * Wf[todo])
        bh = np.minimum(area / bw, 0.9 * Hf[todo])
        xy = rng.uniform(size=(len(todo), 2)) * np.stack([Wf[todo] - bw, Hf[todo] - bh], axis=1)
        f_boxes[todo] = np.column_stack([xy, bw, bh])
        todo = todo[max_iou(f_boxes[todo], todo, False) >= 0.1]
        if not len(todo):
            break
    ok = np.ones(f, bool)
    ok[todo] = False
    ok &= (max_iou(f_boxes, np.arange(f), True) < 0.5) & (f_boxes[:, 2] > 0) & (f_boxes[:, 3] > 0)
    src_iou = iou_xywh(f_boxes, srcb)
    ok &= (kind != 2) | ((src_iou >= 0.05) & (src_iou < 0.5))

    # keep the max_detections best per image; a capped detection is no longer "detected"
    p_img = np.concatenate([img[det], f_img[ok]])
    p_score = np.concatenate([tp_scores, f_scores[ok]])
    order = np.lexsort((-p_score, p_img))
    counts = np.bincount(p_img, minlength=n)
    rank = np.arange(len(order)) - np.repeat(np.cumsum(counts) - counts, counts)
    dropped, order = order[rank >= cfg.max_detections], order[rank < cfg.max_detections]
    detected[det[dropped[dropped < len(det)]]] = False
    preds = (p_img, np.concatenate([cat[det], f_cat[ok]]), np.concatenate([tp_boxes, f_boxes[ok]]),
             p_score, np.concatenate([np.zeros(len(det), np.int64), kind[ok]]),
             np.concatenate([det, src[ok]]))
    return (rel, p, detected, *(a[order] for a in preds))


def generate(config: DemoConfig | None = None) -> DemoData:
    """Scene and detector output in memory, no pixels (see :class:`DemoData`)."""
    cfg = config or DemoConfig()
    ss = np.random.SeedSequence(cfg.seed)
    scene_rng, det_rng = (np.random.Generator(np.random.PCG64(c)) for c in ss.spawn(2))
    w, h, bright, contrast, blur, img, cat, draw, boxes, crowd = _scene(cfg, scene_rng)
    rel, p, detected, *preds = _detector(cfg, det_rng, w, h, bright, img, cat, boxes, crowd)
    return DemoData(cfg, w, h, bright, contrast, blur, img.astype(np.int64), cat.astype(np.int64),
                    boxes, draw, crowd, rel, p, detected,
                    *(a.astype(np.int64) if a.dtype.kind in "iu" else a for a in preds))


def to_coco(data: DemoData) -> tuple[dict, list[dict]]:
    """COCO ground truth dict and COCO results list (bbox 2 decimals, score 4 decimals)."""
    names = data.config.category_names
    images = [{"id": i + 1, "file_name": fn, "width": int(w), "height": int(h)}
              for i, (fn, w, h) in enumerate(zip(data.file_names, data.widths, data.heights))]
    lb = data.label_boxes
    anns = [{"id": j + 1, "image_id": i + 1, "category_id": c + 1, "bbox": b,
             "area": round(a, 2), "iscrowd": int(k)}
            for j, (i, c, b, a, k) in enumerate(zip(
                data.label_image.tolist(), data.label_category.tolist(), np.round(lb, 2).tolist(),
                (lb[:, 2] * lb[:, 3]).tolist(), data.label_iscrowd.tolist()))]
    gt = {"info": {"description": "detlens synthetic demo", "seed": data.config.seed},
          "images": images, "annotations": anns,
          "categories": [{"id": k + 1, "name": n, "supercategory": "shape"} for k, n in enumerate(names)]}
    results = [{"image_id": i + 1, "category_id": c + 1, "bbox": b, "score": s}
               for i, c, b, s in zip(data.pred_image.tolist(), data.pred_category.tolist(),
                                     np.round(data.pred_boxes, 2).tolist(),
                                     np.round(data.pred_scores, 4).tolist())]
    return gt, results


def generate_annotations(config: DemoConfig | None = None) -> tuple[dict, list[dict]]:
    """``to_coco(generate(config))``: COCO ground truth dict and results list, no images."""
    return to_coco(generate(config))


def truth_dict(data: DemoData, mean_luminance: np.ndarray | None = None) -> dict:
    """Planted causes, columnar: per image, per label (by id order) and per prediction (file order)."""
    lum = None if mean_luminance is None else np.round(mean_luminance, 3).tolist()
    return {
        "config": asdict(data.config),
        "curve": "logit p = logit(base_recall) + size_effect*z_size + brightness_effect*z_bright",
        "images": {"id": (np.arange(len(data.widths)) + 1).tolist(),
                   "brightness": np.round(data.brightness, 4).tolist(),
                   "contrast": np.round(data.contrast, 4).tolist(),
                   "blur_sigma": np.round(data.blur_sigma, 4).tolist(), "mean_luminance": lum},
        "labels": {"id": (np.arange(len(data.label_image)) + 1).tolist(),
                   "rel_area_percent": np.round(data.label_rel_area, 5).tolist(),
                   "detection_probability": [None if np.isnan(v) else round(v, 5)
                                             for v in data.label_detect_prob.tolist()],
                   "detected": data.label_detected.tolist()},
        "predictions": {"kind": [PRED_KINDS[k] for k in data.pred_kind.tolist()],
                        "label_id": np.where(data.pred_source >= 0, data.pred_source + 1, 0).tolist()},
    }


README = """Synthetic detlens demo data (seed {seed}): NOT real photographs or a real model.
Scenes of simple shapes; predictions come from a simulated detector whose misses
are planted: detection probability depends only on object size (size_effect={size})
and image brightness (brightness_effect={bright}). See core/demo.py for the model and
truth.json for the true per-image / per-label causes.
"""


def write_demo(out_dir: str | Path, config: DemoConfig | None = None, *,
               render_images: bool = True) -> DemoPaths:
    """Write ``labels.json``, ``predictions.json``, ``truth.json``, ``README.txt`` and
    ``images/*.jpg`` (unless ``render_images`` is False) under ``out_dir``."""
    cfg = config or DemoConfig()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = generate(cfg)
    images_dir, lum = None, None
    if render_images:
        from core.demo_render import render_all
        images_dir = out / "images"
        lum = render_all(data, images_dir)
    gt, results = to_coco(data)
    paths = DemoPaths(out / "labels.json", out / "predictions.json", images_dir, out / "truth.json")
    paths.labels.write_bytes(orjson.dumps(gt))
    paths.predictions.write_bytes(orjson.dumps(results))
    paths.truth.write_bytes(orjson.dumps(truth_dict(data, lum)))
    (out / "README.txt").write_text(README.format(seed=cfg.seed, size=cfg.size_effect,
                                                  bright=cfg.brightness_effect))
    return paths


def main(argv: list[str] | None = None) -> None:
    """``python -m core.demo OUT_DIR [--preset NAME] [--seed N] [--n-images N] [--no-images]``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out_dir")
    ap.add_argument("--preset", default="default")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n-images", type=int)
    ap.add_argument("--no-images", action="store_true")
    a = ap.parse_args(argv)
    extra = {"n_images": a.n_images} if a.n_images else {}
    paths = write_demo(a.out_dir, DemoConfig.preset(a.preset, seed=a.seed, **extra),
                       render_images=not a.no_images)
    print(orjson.dumps(paths.to_dict(), option=orjson.OPT_INDENT_2).decode())


if __name__ == "__main__":
    main()
