"""Shared pieces of the importers: the intermediate :class:`Part`, vectorised
validation helpers, image lookup and names files. Assembly into a
:class:`~detlens.core.dataset.Dataset` lives in :mod:`detlens.core.io.assemble`.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from detlens.core.io.errors import InputError

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".gif")
NAMES_FILES = ("obj.names", "classes.txt", "classes.names", "voc.names", "coco.names", "data.yaml")

CLIP_NOISE = 0.01  # pixels; boxes sticking out by less are clipped silently

# (display file, record) for box i of a Part
Describe = Callable[[int], tuple[str, str]]


@dataclass
class Part:
    """What one importer read from one path (labels or predictions).

    Box references (``box_img``, ``box_cat``) are local indices into this
    part's image/category lists, except for a COCO results list
    (``results_list=True``) where they are raw source ids.

    Attributes:
        file: display name of the path (for messages).
        has_ids: images/categories carry meaningful source ids (COCO).
        results_list: a COCO results list (no images/categories of its own).
        img_ids: ``(n,)`` int64 source ids (0..n-1 when none).
        img_names: ``(n,)`` object array of file names.
        img_stems: ``(n,)`` object array of file-name stems (matching key).
        img_w, img_h: ``(n,)`` float64 pixel sizes, NaN if unknown.
        cat_ids: ``(c,)`` int64 source ids (0..c-1 when none).
        cat_names: ``(c,)`` object array of names.
        names_order: class names of a names file, if one was used.
        box_img, box_cat: ``(N,)`` int64 references (see above).
        boxes: ``(N, 4)`` float64 ``[x, y, w, h]`` pixels.
        scores: ``(N,)`` float64 or None (labels).
        iscrowd: ``(N,)`` bool.
        areas: ``(N,)`` float64, NaN where the input had no area.
        ids: ``(N,)`` int64 source annotation ids, or None (assign 1..N).
        extra: numeric per-object fields, ``(N,)`` float64 with NaN.
        describe: ``i -> (file, record)`` for messages about box ``i``.
        warnings: notes collected while reading.
    """

    file: str
    has_ids: bool
    results_list: bool
    img_ids: np.ndarray
    img_names: np.ndarray
    img_stems: np.ndarray
    img_w: np.ndarray
    img_h: np.ndarray
    cat_ids: np.ndarray
    cat_names: np.ndarray
    box_img: np.ndarray
    box_cat: np.ndarray
    boxes: np.ndarray
    scores: np.ndarray | None
    iscrowd: np.ndarray
    areas: np.ndarray
    ids: np.ndarray | None
    describe: Describe
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    names_order: list[str] | None = None
    warnings: list[str] = field(default_factory=list)


@contextmanager
def no_gc() -> Iterator[None]:
    """Pause the cyclic GC while building millions of small objects (3x faster)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        # The parsed records may outlive this block (error messages point into them);
        # freezing keeps the next young-generation collection from scanning millions of them.
        gc.freeze()
        if was:
            gc.enable()


def display_name(path: Path) -> str:
    """Short name of ``path`` for messages: ``parent/name`` for files in a folder."""
    return path.name or str(path)


def read_bytes(path: Path, display: str) -> bytes:
    """The bytes of ``path``; :class:`InputError` when missing or 0 bytes."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(display, "file", f"cannot read: {exc.strerror or exc}") from None
    if not data or data.isspace():  # not data.strip(): no copy of a large file
        raise InputError(display, "file", "file is empty")
    return data


def stem_of(file_name: str) -> str:
    """Stem of the base name of ``file_name`` (``"a/b/x.jpg"`` -> ``"x"``)."""
    base = file_name.replace("\\", "/").rsplit("/", 1)[-1]
    return base.rsplit(".", 1)[0] if "." in base else base


def first_bad(mask: np.ndarray) -> int:
    """Index of the first True in a 1-D bool mask."""
    return int(np.flatnonzero(mask)[0])


def check_boxes(boxes: np.ndarray, describe: Describe, what: str = "bbox") -> None:
    """Vectorised check of ``(N, 4)`` float64 ``[x, y, w, h]``: finite, ``w, h > 0``.

    Raises:
        InputError: naming the first offending box.
    """
    if boxes.shape[0] == 0:
        return
    bad = ~np.isfinite(boxes).all(axis=1)
    if bad.any():
        i = first_bad(bad)
        raise InputError(*describe(i), f"{what} values must be finite numbers, got {boxes[i].tolist()}")
    for col, label in ((2, "width"), (3, "height")):
        bad = boxes[:, col] <= 0
        if bad.any():
            i = first_bad(bad)
            raise InputError(*describe(i), f"{what} {label} must be > 0, got {boxes[i, col]:g}")


def check_finite(values: np.ndarray, describe: Describe, what: str) -> None:
    """Raise :class:`InputError` for the first non-finite entry of ``(N,)`` ``values``."""
    bad = ~np.isfinite(values)
    if bad.any():
        i = first_bad(bad)
        raise InputError(*describe(i), f"{what} must be a finite number, got {values[i]}")


# ---------------------------------------------------------------- names & images


def read_names(path: Path) -> list[str]:
    """Class names from a names file: one per line, or a simple ultralytics
    ``data.yaml`` ``names:`` (list ``[a, b]``, ``- a`` items or ``0: a`` map).

    Returns:
        names in class-id order (index = integer class id).
    """
    disp = display_name(path)
    text = read_bytes(path, disp).decode("utf-8", errors="replace")
    if path.suffix.lower() in (".yaml", ".yml"):
        names = _yaml_names(text)
        if names is None:
            raise InputError(disp, "names", "no simple 'names:' list or mapping found")
    else:
        names = [ln.strip() for ln in text.splitlines() if ln.strip()]
    seen: set[str] = set()
    for i, n in enumerate(names):
        if n in seen:
            raise InputError(disp, f"class {i}", f"duplicate class name {n!r}")
        seen.add(n)
    return names


def _yaml_names(text: str) -> list[str] | None:
    lines = text.splitlines()
    for k, line in enumerate(lines):
        if not line.startswith("names:"):
            continue
        rest = line[len("names:"):].strip()
        if rest.startswith("["):
            return [s.strip().strip("'\"") for s in rest.strip("[]").split(",") if s.strip()]
        items: dict[int, str] = {}
        seq: list[str] = []
        for sub in lines[k + 1:]:
            s = sub.strip()
            if not s or s.startswith("#"):
                continue
            if not sub[:1].isspace() and not s.startswith("-"):
                break
            if s.startswith("- "):
                seq.append(s[2:].strip().strip("'\""))
            elif ":" in s:
                key, val = s.split(":", 1)
                if key.strip().isdigit():
                    items[int(key)] = val.strip().strip("'\"")
        if seq:
            return seq
        if items:
            return [items[i] for i in sorted(items)]
        return None
    return None


def find_names_file(folder: Path) -> Path | None:
    """A names file next to or one level above a label folder, or None."""
    for d in (folder, folder.parent):
        for name in NAMES_FILES:
            p = d / name
            if p.is_file():
                return p
        found = sorted(d.glob("*.names"))
        if found:
            return found[0]
    return None


class ImageFinder:
    """Looks up image files by stem in a list of folders (non-recursive)."""

    def __init__(self, folders: list[Path]):
        self._by_stem: dict[str, Path] = {}
        for d in folders:
            if not d.is_dir():
                continue
            for p in sorted(d.iterdir()):
                if p.suffix.lower() in IMAGE_EXTS:
                    self._by_stem.setdefault(p.stem, p)

    def find(self, stem: str) -> Path | None:
        """Path of the image named ``stem`` + an image extension, or None."""
        return self._by_stem.get(stem)

    def size(self, stem: str) -> tuple[float, float]:
        """``(width, height)`` in pixels from the image header; NaNs if not found."""
        p = self.find(stem)
        if p is None:
            return float("nan"), float("nan")
        try:
            from PIL import Image

            with Image.open(p) as im:
                w, h = im.size
        except Exception as exc:  # noqa: BLE001 - any decoder failure
            raise InputError(display_name(p), "image header", f"cannot read image size: {exc}") from None
        return float(w), float(h)

    def file_name(self, stem: str, default: str | None = None) -> str:
        """Image file name for ``stem``: found extension, else ``default`` or ``stem.jpg``."""
        p = self.find(stem)
        if p is not None:
            return p.name
        return default or stem + ".jpg"


def resolve_class(token: str, names: list[str] | None) -> str:
    """Class name for a class token: an integer id indexes ``names`` (when
    given and the token is not itself a name); anything else is the name."""
    if names is not None and token not in names and token.lstrip("-").isdigit():
        k = int(token)
        if not 0 <= k < len(names):
            raise ValueError(f"class id {k} out of range for {len(names)} names")
        return names[k]
    return token


# ---------------------------------------------------------------- assembly


