"""The demo's scenes and simulated detector, in numpy (the model is described in :mod:`detlens.core.demo`)."""

from __future__ import annotations

import numpy as np

from detlens.core.demo.config import TP_IOU_FLOOR, DemoConfig

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


def simulate_scene(cfg: DemoConfig, rng: np.random.Generator):
    """The demo's images and labels: sizes, photometry, classes and boxes (seeded by ``rng``)."""
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


def simulate_detector(cfg: DemoConfig, rng: np.random.Generator, widths, heights, brightness,
                      img, cat, boxes, crowd):
    """The planted detector's predictions for the labels of :func:`simulate_scene` (seeded by ``rng``)."""
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
