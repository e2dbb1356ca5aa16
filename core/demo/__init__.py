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

from dataclasses import asdict
from pathlib import Path

import numpy as np
import orjson

from detlens.core.demo.config import PRED_KINDS, SHAPES, TP_IOU_FLOOR, DemoConfig, DemoData, DemoPaths
from detlens.core.demo.simulate import simulate_detector, simulate_scene, detection_probability, iou_xywh
from detlens.core.files import write_atomic

__all__ = ["PRED_KINDS", "SHAPES", "TP_IOU_FLOOR", "DemoConfig", "DemoData", "DemoPaths", "detection_probability",
           "generate", "generate_annotations", "iou_xywh", "to_coco", "truth_dict", "write_demo"]


def generate(config: DemoConfig | None = None) -> DemoData:
    """Scene and detector output in memory, no pixels (see :class:`DemoData`)."""
    cfg = config or DemoConfig()
    ss = np.random.SeedSequence(cfg.seed)
    scene_rng, det_rng = (np.random.Generator(np.random.PCG64(c)) for c in ss.spawn(2))
    w, h, bright, contrast, blur, img, cat, draw, boxes, crowd = simulate_scene(cfg, scene_rng)
    rel, p, detected, *preds = simulate_detector(cfg, det_rng, w, h, bright, img, cat, boxes, crowd)
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
    ``images/*.jpg`` (unless ``render_images`` is False) under ``out_dir``.

    Each file is written atomically (:func:`detlens.core.files.write_atomic`) and
    replaces a file of the same name; ``README.txt`` comes last, so its presence
    marks a complete demo. Whether ``out_dir`` may hold other files is the
    caller's decision (``detlens demo`` refuses a non-empty folder without ``--force``).
    """
    cfg = config or DemoConfig()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = generate(cfg)
    images_dir, lum = None, None
    if render_images:
        from detlens.core.demo.render import render_all
        images_dir = out / "images"
        lum = render_all(data, images_dir)
    gt, results = to_coco(data)
    paths = DemoPaths(out / "labels.json", out / "predictions.json", images_dir, out / "truth.json")
    write_atomic(paths.labels, orjson.dumps(gt))
    write_atomic(paths.predictions, orjson.dumps(results))
    write_atomic(paths.truth, orjson.dumps(truth_dict(data, lum)))
    write_atomic(out / "README.txt", README.format(seed=cfg.seed, size=cfg.size_effect, bright=cfg.brightness_effect))
    return paths
