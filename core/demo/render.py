"""Pixels for :mod:`detlens.core.demo`: draws each generated scene and saves it as JPEG.

Per image ``i`` (own random stream ``SeedSequence(seed, spawn_key=(2, i))``):
low-frequency coloured texture around a random mid-grey plus pixel noise
(triangular, std 6.5);
shapes drawn largest first in a random colour far from the background
(class ``k`` -> ``SHAPES[k % 4]``, crowd regions as 6-12 small shapes); then
Gaussian blur (``blur_sigma``), contrast around 128, brightness gain, clipping
to 0..255, JPEG at ``jpeg_quality`` with fixed encoder settings.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from detlens.core.demo.config import DemoData
from detlens.core.files import atomic_writer


def draw_shape(draw: ImageDraw.ImageDraw, kind: int, x: float, y: float, w: float, h: float,
           color: tuple[int, int, int]) -> None:
    """Draw shape ``kind`` filling exactly the pixels of box ``[x, y, w, h]`` (integers)."""
    x2, y2 = x + w - 1, y + h - 1
    if kind == 0:
        draw.ellipse((x, y, x2, y2), fill=color)
    elif kind == 1:
        draw.rectangle((x, y, x2, y2), fill=color)
    elif kind == 2:
        draw.polygon([(x, y2), ((x + x2) / 2, y), (x2, y2)], fill=color)
    else:
        tx, ty = w / 3, h / 3
        draw.rectangle((x + round(tx), y, x + round(2 * tx) - 1, y2), fill=color)
        draw.rectangle((x, y + round(ty), x2, y + round(2 * ty) - 1), fill=color)


def _color(rng: np.random.Generator, base: np.ndarray) -> tuple[int, int, int]:
    c = rng.integers(0, 256, 3)
    if np.abs(c - base).mean() < 70:
        c = np.where(base > 128, c * 0.35, 255 - (255 - c) * 0.35).astype(int)
    return tuple(int(v) for v in c)


def render_image(data: DemoData, i: int) -> Image.Image:
    """Image ``i`` as an RGB Pillow image of size ``(widths[i], heights[i])``."""
    cfg = data.config
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(cfg.seed, spawn_key=(2, i))))
    w, h = int(data.widths[i]), int(data.heights[i])
    base = rng.uniform(90, 170, 3)
    coarse = rng.normal(0, 22, (5, 6, 3)) + base
    small = Image.fromarray(np.clip(coarse, 0, 255).astype(np.uint8))
    bg = np.asarray(small.resize((w, h), Image.BILINEAR), np.float32)
    noise = np.frombuffer(rng.bytes(h * w * 3), np.uint8).reshape(h, w, 3)
    bg += (noise >> 4).astype(np.float32) + (noise & 15) - 15.0  # triangular, std 6.5
    img = Image.fromarray(np.clip(bg, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    rows = np.flatnonzero(data.label_image == i)
    boxes = data.label_draw_boxes[rows]
    for j in rows[np.argsort(-(boxes[:, 2] * boxes[:, 3]), kind="stable")]:
        x, y, bw, bh = (float(v) for v in data.label_draw_boxes[j])
        kind = int(data.label_category[j]) % 4
        color = _color(rng, base)
        if not data.label_iscrowd[j]:
            draw_shape(draw, kind, x, y, bw, bh, color)
            continue
        for _ in range(int(rng.integers(6, 13))):  # crowd: many small shapes inside the region
            sw, sh = max(3, round(bw * rng.uniform(0.15, 0.3))), max(3, round(bh * rng.uniform(0.15, 0.3)))
            sx, sy = x + int(rng.integers(0, bw - sw + 1)), y + int(rng.integers(0, bh - sh + 1))
            draw_shape(draw, kind, sx, sy, sw, sh, color)
    sigma = float(data.blur_sigma[i])
    if sigma > 0.05:
        img = img.filter(ImageFilter.GaussianBlur(radius=sigma))
    levels = ((np.arange(256) - 128.0) * float(data.contrast[i]) + 128.0) * float(data.brightness[i])
    lut = np.clip(np.rint(levels), 0, 255).astype(np.uint8).tolist()
    return img.point(lut * 3)


def render_all(data: DemoData, images_dir: Path) -> np.ndarray:
    """Write every image as ``images_dir/<file_name>``.

    Returns ``(N,)`` float64 mean luminance (Pillow ``L``, 0..255) before JPEG.
    """
    images_dir.mkdir(parents=True, exist_ok=True)
    lum = np.zeros(len(data.widths))
    for i, name in enumerate(data.file_names):
        img = render_image(data, i)
        lum[i] = float(np.asarray(img.convert("L"), np.float64).mean())
        with atomic_writer(images_dir / name) as fh:
            img.save(fh, format="JPEG", quality=data.config.jpeg_quality, subsampling=2, optimize=False,
                     progressive=False)
    return lum
