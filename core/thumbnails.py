"""Image files of a dataset, found safely, and their downscaled JPEG thumbnails.

Rules (tested in ``tests/test_image_route.py``):

* An image file is only ever ``images_dir / file_name`` for a ``file_name``
  registered in the dataset: relative, no ``..`` component, no drive, and the
  resolved path (symlinks followed) must lie inside the resolved
  ``images_dir``. Anything else has no file.
* A thumbnail fits in ``size x size`` pixels (aspect ratio kept, never
  enlarged), RGB JPEG quality 85, written atomically
  (:func:`detlens.core.files.atomic_writer`), so processes sharing the cache
  folder never read half a file.
* An image without a readable file gets a flat grey placeholder of its
  dataset size (or 4:3 when unknown), so boxes still have their frame.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from detlens.core.files import atomic_writer
from detlens.core.metrics.pixel_pass import is_safe_file_name

THUMB_SIZES = (128, 256, 512, 1024)
JPEG_QUALITY = 85
PLACEHOLDER_GREY = (206, 210, 215)


def image_file(images_dir: str | Path | None, file_name: str) -> Path | None:
    """The existing file of a registered image inside ``images_dir``, or None (see the module rules)."""
    if images_dir is None or not is_safe_file_name(file_name):
        return None
    try:
        root = Path(images_dir).resolve(strict=True)
        path = (root / file_name).resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not path.is_relative_to(root) or not path.is_file():
        return None
    return path


def _save_atomic(image: Image.Image, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_writer(target) as fh:
        image.save(fh, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return target


def placeholder(width: float, height: float, size: int) -> Image.Image:
    """A grey RGB image with the aspect ratio ``width : height`` fitting ``size x size`` (4:3 when unknown)."""
    if not (width > 0 and height > 0):  # NaN too
        width, height = 4.0, 3.0
    scale = size / max(width, height)
    return Image.new("RGB", (max(1, round(width * scale)), max(1, round(height * scale))), PLACEHOLDER_GREY)


def make_thumbnail(source: Path | None, target: Path, size: int, width: float = float("nan"),
                   height: float = float("nan")) -> Path:
    """Write the thumbnail of ``source`` (or a placeholder when it is None or unreadable) to ``target``.

    Args:
        source: image file from :func:`image_file`, or None.
        target: JPEG to write (parent folders are created).
        size: longest side in pixels, one of ``THUMB_SIZES``.
        width, height: the image's dataset size, for the placeholder.

    Returns:
        ``target``.
    """
    if size not in THUMB_SIZES:
        raise ValueError(f"thumbnail size must be one of {THUMB_SIZES}, got {size}")
    image = None
    if source is not None:
        try:
            with Image.open(source) as im:
                im.draft("RGB", (size, size))  # JPEG: decode at a reduced scale, much faster
                image = im.convert("RGB")
                image.thumbnail((size, size), Image.Resampling.LANCZOS)
        except Exception:  # unreadable, truncated, not an image: a placeholder instead
            image = None
    return _save_atomic(image if image is not None else placeholder(width, height, size), target)
