"""Pixel metrics of one decoded image: pure numpy (plus Pillow's C conversions).

Input is an RGB image as a ``(H, W, 3)`` uint8 array. All values are floats in
[0, 1]; a value that cannot be computed is NaN, never 0.

Definitions (``docs/metrics.md`` copies this section)
------------------------------------------------------

* **Brightness** = mean of all R, G and B values of the pixels / 255.
* **Contrast** = population standard deviation of all R, G and B values / 255.
* **Sharpness**: ``grey`` is the 8-bit ITU-R 601-2 luma that Pillow's
  ``convert("L")`` computes, ``Y = (19595 R + 38470 G + 7471 B + 32768) >> 16``
  (= round(0.299 R + 0.587 G + 0.114 B)), divided by 255. ``L`` is the
  4-neighbour Laplacian ``4 g[y, x] - g[y-1, x] - g[y+1, x] - g[y, x-1] - g[y, x+1]``
  at every interior pixel (not on the border row/column). ``raw`` = population
  variance of ``L``; ``Sharpness = raw / (raw + K)`` with ``K = SHARPNESS_K = 0.02``
  (= 1300 in 0-255 grey units). A flat image scores 0, a 1-pixel black/white
  checkerboard 0.9988. Scikit-learn's sample photos score 0.81 (china.jpg, sharp
  everywhere) and 0.24 (flower.jpg, blurred background). Images (or crops)
  smaller than 3x3 pixels have no interior: NaN.
* **Blur** = 1 - Sharpness.
* **Saturation** = mean over pixels of the HSV saturation
  ``S = (max - min) / max`` of (R, G, B) (0 for black), as Python's ``colorsys``.
* **Redness / Greenness / Blueness** = share of the image's pixels that are
  saturated (``S >= 0.3``), bright enough (``V = max / 255 >= 0.2``, i.e.
  ``max(R, G, B) >= 51``) and whose hue (``colorsys`` hue x 360 degrees) lies
  within 30 degrees of the primary, band ends included: red ``[330, 360) or
  [0, 30]``, green ``[90, 150]``, blue ``[210, 270]``. Equivalently: that channel
  is the strict maximum and the middle channel value is at most halfway between
  the minimum and the maximum (``mid - min <= max - mid``); evaluated exactly in
  integers, so no rounding at the band ends.
* **Object Brightness / Contrast / Sharpness**: the same definitions on the box
  crop. The crop of box ``[x, y, w, h]`` is columns ``floor(x) .. ceil(x + w) - 1``
  and rows ``floor(y) .. ceil(y + h) - 1``, clipped to the image and at least one
  pixel wide and high (a box entirely outside the image uses the nearest edge
  column/row). The crop's Laplacian uses only pixels inside the crop.
* **Uniqueness** (per image, needs all images): descriptor = grey image resized
  to 16x16 by Pillow ``resize((16, 16), BILINEAR, reducing_gap=2.0)``, flattened,
  / 255 (D = 256 values in [0, 1]). Uniqueness = Euclidean distance to the
  nearest *other* image's descriptor / sqrt(D), in [0, 1]; exact duplicates 0.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

SHARPNESS_K = 0.02
SATURATION_MIN = 0.3
VALUE_MIN_U8 = 51  # V >= 0.2  <=>  max(R, G, B) >= 0.2 * 255 = 51
DESCRIPTOR_SIDE = 16
FRAME_METRICS = ("Brightness (F)", "Contrast (F)", "Sharpness (F)", "Blur (F)", "Saturation (F)",
                 "Redness (F)", "Greenness (F)", "Blueness (F)")
OBJECT_METRICS = ("Object Brightness", "Object Contrast", "Object Sharpness")
_GREY_SCALE2 = 255.0 ** 2
BAND_ROWS = 64  # rows per band of the single pass (cache-sized)


def _as_image(rgb: np.ndarray) -> Image.Image:
    arr = np.asarray(rgb)
    if arr.ndim != 3 or arr.shape[2] != 3 or arr.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 RGB array, got {arr.shape} {arr.dtype}")
    return Image.fromarray(np.ascontiguousarray(arr), "RGB")


def _row_cumsum(plane: np.ndarray, max_abs: int) -> np.ndarray:
    """Row-wise cumulative sum in an integer type that cannot overflow."""
    dtype = np.int32 if plane.shape[1] * max_abs < 2**31 else np.int64
    return plane.cumsum(axis=1, dtype=dtype)


def _gather(table: np.ndarray, rows: slice, rowcum: np.ndarray, bounds: np.ndarray) -> None:
    """``table[:, rows] = rowcum[:, bounds - 1].T`` (prefix sums of each row at x bounds)."""
    table[:, rows] = rowcum[:, np.maximum(bounds - 1, 0)].T


def _rect(table: np.ndarray, n: int, y0: np.ndarray, y1: np.ndarray) -> np.ndarray:
    """Rectangle sums from a summed-area table ``(2n, H + 1)`` over the x bounds."""
    k0, k1 = np.arange(n), np.arange(n, 2 * n)
    return table[k1, y1] - table[k1, y0] - table[k0, y1] + table[k0, y0]


def _mean_var(total: np.ndarray, total_sq: np.ndarray, count: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = total / count
    return mean, np.maximum(total_sq / count - mean * mean, 0.0)


class DecodedImage:
    """One decoded RGB image; :meth:`analyse` computes all its metrics in one pass.

    The pass walks the image in bands of :data:`BAND_ROWS` rows so the per-pixel
    planes (channel sum, sum of squares, Laplacian, hue tests) stay in the CPU
    cache. Rectangle sums use a summed-area table kept only at the columns the
    crops need: per band, row-wise cumulative sums are gathered at the crops' x
    bounds, then cumulated down the rows (O(H * W + H * N), exact int64).
    """

    def __init__(self, im: Image.Image):
        self.width, self.height = im.size
        self.r, self.g, self.b = (np.asarray(band) for band in im.split())
        self.grey_image = im.convert("L")

    def _colour_band(self, r: np.ndarray, g: np.ndarray, b: np.ndarray) -> list[float]:
        """Saturation sum and red/green/blue pixel counts of a band of rows."""
        mx = np.maximum(np.maximum(r, g), b)
        mn = np.minimum(np.minimum(r, g), b)
        sat = (mx - mn).astype(np.float32)
        sat /= np.maximum(mx, 1).astype(np.float32)  # max - min == 0 where max == 0
        # Exact: distinct fractions k/m (m <= 255) differ far more than float32 rounding.
        keep = sat >= np.float32(SATURATION_MIN)
        keep &= mx >= VALUE_MIN_U8
        # Middle channel (uint8 wrap-around is exact: the result is in 0..255).
        # Hue within 30 degrees of the top channel's primary <=> mid - mn <= mx - mid
        # (ties for the top channel give mid == mx and fail unless grey).
        mid = r + g
        mid += b
        mid -= mx
        mid -= mn
        keep &= (mid - mn) <= (mx - mid)
        return [float(sat.sum(dtype=np.float32))] + [np.count_nonzero(keep & (top == mx)) for top in (r, g, b)]

    def analyse(self, *box_sets: np.ndarray, with_frame: bool = True) -> tuple[np.ndarray | None, list[np.ndarray]]:
        """All pixel metrics of the image.

        Args:
            box_sets: ``(N_k, 4)`` float64 ``[x, y, w, h]`` boxes in this image's pixels.
            with_frame: False skips the frame-only work (the colour counts) when only boxes are wanted.

        Returns:
            ``(8,)`` float64 frame values in :data:`FRAME_METRICS` order (None without
            ``with_frame``), and per box set an ``(N_k, 3)`` float64 array in :data:`OBJECT_METRICS` order.
        """
        w, h = self.width, self.height
        parts = [np.array([[0, 0, w, h]], np.int64)] + [box_crops(bs, w, h) for bs in box_sets]
        crops = np.concatenate(parts)
        empty = (crops[:, 2] <= crops[:, 0]) | (crops[:, 3] <= crops[:, 1])
        crops[empty] = [0, 0, 1, 1]
        x0, y0, x1, y1 = crops.T
        n = crops.shape[0]
        has_lap = h >= 3 and w >= 3
        ok = ((x1 - x0) >= 3) & ((y1 - y0) >= 3)  # crops with an interior
        # Interior of crop [x0, x1) is columns x0+1 .. x1-2: Laplacian-plane bounds x0 .. x1-2.
        lx0, ly0, lx1, ly1 = (np.where(ok, v, 0) for v in (x0, y0, x1 - 2, y1 - 2))
        xa, xb = np.concatenate([x0, x1]), np.concatenate([lx0, lx1])
        sq = np.zeros((2, 2 * n, h + 1), np.int64)  # R+G+B and R^2+G^2+B^2
        lap = np.zeros((2, 2 * n, max(h - 1, 1)), np.int64)  # L and L^2 on the interior
        colour = np.zeros(4)
        grey = np.asarray(self.grey_image).astype(np.int16)
        for ya in range(0, h, BAND_ROWS):
            yb = min(ya + BAND_ROWS, h)
            r, g, b = self.r[ya:yb], self.g[ya:yb], self.b[ya:yb]
            if with_frame:
                colour += self._colour_band(r, g, b)
            s = r.astype(np.int16)
            s += g
            s += b
            r2, g2, b2 = r.astype(np.uint16), g.astype(np.uint16), b.astype(np.uint16)
            r2 *= r2  # <= 65025: exact in uint16
            g2 *= g2
            b2 *= b2
            q = r2.astype(np.int32)
            q += g2
            q += b2
            _gather(sq[0], slice(ya + 1, yb + 1), _row_cumsum(s, 765), xa)
            _gather(sq[1], slice(ya + 1, yb + 1), _row_cumsum(q, 3 * 255**2), xa)
            la, lb = max(ya, 1), min(yb, h - 1)  # interior rows of this band
            if has_lap and lb > la:
                lp = grey[la:lb, 1:-1] << 2
                for nb in (grey[la - 1:lb - 1, 1:-1], grey[la + 1:lb + 1, 1:-1], grey[la:lb, :-2], grey[la:lb, 2:]):
                    lp -= nb
                lp2 = lp.astype(np.int32)
                lp2 *= lp2
                # Image row iy is Laplacian row iy - 1, whose prefix-table index is iy.
                _gather(lap[0], slice(la, lb), _row_cumsum(lp, 1020), xb)
                _gather(lap[1], slice(la, lb), _row_cumsum(lp2, 1020**2), xb)
        sq[:, xa == 0] = 0
        lap[:, xb == 0] = 0
        np.cumsum(sq, axis=2, out=sq)
        np.cumsum(lap, axis=2, out=lap)

        out = np.full((n, 3), np.nan)
        mean, var = _mean_var(_rect(sq[0], n, y0, y1), _rect(sq[1], n, y0, y1), 3.0 * (x1 - x0) * (y1 - y0))
        out[:, 0] = mean / 255.0
        out[:, 1] = np.sqrt(var) / 255.0
        if has_lap and ok.any():
            m = np.maximum((lx1 - lx0) * (ly1 - ly0), 1).astype(np.float64)
            _, raw = _mean_var(_rect(lap[0], n, ly0, ly1), _rect(lap[1], n, ly0, ly1), m)
            raw = raw / _GREY_SCALE2
            out[:, 2] = np.where(ok, raw / (raw + SHARPNESS_K), np.nan)
        out[empty] = np.nan

        bounds = np.cumsum([len(p) for p in parts])
        objects = [out[i:j] for i, j in zip(bounds[:-1], bounds[1:])]
        if not with_frame:
            return None, objects
        bright, contrast, sharp = out[0]
        frame = np.array([bright, contrast, sharp, 1.0 - sharp, *(colour / (w * h))], np.float64)
        return frame, objects

    def descriptor(self) -> np.ndarray:
        """``(256,)`` float32 in [0, 1]: the 16x16 grey thumbnail."""
        side = DESCRIPTOR_SIDE
        small = self.grey_image.resize((side, side), Image.BILINEAR, reducing_gap=2.0)
        return np.asarray(small, dtype=np.float32).reshape(-1) / np.float32(255.0)


def box_crops(boxes: np.ndarray, width: int, height: int) -> np.ndarray:
    """Integer crop bounds of boxes, clipped to the image.

    Args:
        boxes: ``(N, 4)`` float64 ``[x, y, w, h]`` in pixels of this image.
        width, height: image size in pixels.

    Returns:
        ``(N, 4)`` int64 ``[x0, y0, x1, y1]`` (exclusive ends), ``x1 - x0 >= 1``;
        rows for non-finite boxes are ``[0, 0, 0, 0]`` (empty).
    """
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    finite = np.isfinite(boxes).all(axis=1)
    b = np.where(finite[:, None], boxes, 0.0)
    x0 = np.clip(np.floor(b[:, 0]), 0, width - 1)
    y0 = np.clip(np.floor(b[:, 1]), 0, height - 1)
    x1 = np.clip(np.ceil(b[:, 0] + b[:, 2]), x0 + 1, width)
    y1 = np.clip(np.ceil(b[:, 1] + b[:, 3]), y0 + 1, height)
    crops = np.stack([x0, y0, x1, y1], axis=1).astype(np.int64)
    crops[~finite] = 0
    return crops


def frame_pixel_metrics(rgb: np.ndarray) -> dict[str, float]:
    """Frame metrics of one image (definitions in the module docstring).

    Args:
        rgb: ``(H, W, 3)`` uint8 RGB pixels.

    Returns:
        ``{name: value}`` for the names in :data:`FRAME_METRICS`; floats in [0, 1] or NaN.
    """
    values, _ = DecodedImage(_as_image(rgb)).analyse()
    return {name: float(v) for name, v in zip(FRAME_METRICS, values)}


def box_pixel_metrics(rgb: np.ndarray, boxes: np.ndarray) -> dict[str, np.ndarray]:
    """Object metrics of boxes in one image; O(H * W + N) via summed-area tables.

    Args:
        rgb: ``(H, W, 3)`` uint8 RGB pixels.
        boxes: ``(N, 4)`` float64 ``[x, y, w, h]`` in pixels of this image.

    Returns:
        ``{name: (N,) float64}`` for the names in :data:`OBJECT_METRICS`
        (Sharpness NaN for crops smaller than 3x3; NaN rows for non-finite boxes).
    """
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    if boxes.shape[0] == 0:
        _as_image(rgb)
        return {name: np.zeros(0, np.float64) for name in OBJECT_METRICS}
    _, (out,) = DecodedImage(_as_image(rgb)).analyse(boxes)
    return {name: out[:, i].copy() for i, name in enumerate(OBJECT_METRICS)}


def image_descriptor(rgb: np.ndarray) -> np.ndarray:
    """``(256,)`` float32 descriptor in [0, 1]: 16x16 grey thumbnail (see module docstring)."""
    return DecodedImage(_as_image(rgb)).descriptor()


def uniqueness(descriptors: np.ndarray, chunk_elements: int = 4_000_000) -> np.ndarray:
    """Distance of each image's descriptor to the nearest other one, / sqrt(D).

    Args:
        descriptors: ``(N, D)`` float descriptors with values in [0, 1]; rows with
            any NaN are images without pixels.
        chunk_elements: size of the distance blocks (memory bound, ~8 bytes each).

    Returns:
        ``(N,)`` float64 in [0, 1]; NaN for NaN rows, and for all rows when fewer
        than two images have descriptors. Exact duplicates score exactly 0.
    """
    x = np.asarray(descriptors, np.float64)
    n, dim = x.shape
    out = np.full(n, np.nan)
    valid = np.flatnonzero(np.isfinite(x).all(axis=1))
    if valid.size < 2:
        return out
    v = x[valid]
    sq = np.einsum("ij,ij->i", v, v)
    nearest = np.empty(valid.size, np.int64)
    step = max(1, chunk_elements // valid.size)
    for start in range(0, valid.size, step):
        stop = min(start + step, valid.size)
        d2 = sq[start:stop, None] + sq[None, :] - 2.0 * (v[start:stop] @ v.T)
        d2[np.arange(stop - start), np.arange(start, stop)] = np.inf
        nearest[start:stop] = np.argmin(d2, axis=1)
    # Exact distance to the chosen neighbour (duplicates give exactly 0).
    dist = np.sqrt(((v - v[nearest]) ** 2).sum(axis=1))
    out[valid] = dist / np.sqrt(dim)
    return out
