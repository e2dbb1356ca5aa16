"""Plain-text importer: a folder with one ``<image stem>.txt`` per image.

Line layouts (whitespace separated, absolute pixel coordinates):

* labels:      ``class left top right bottom``           (``box_format="xyxy"``)
               ``class x y width height``                (``box_format="xywh"``)
  an optional trailing literal ``difficult`` sets ``extra["difficult"] = 1``.
* predictions: ``class confidence left top right bottom`` (or ``... x y w h``).

``class`` is a name (it may contain spaces: the numbers are taken from the
right) or, when a names file is known, an integer index into it. Blank lines
are skipped; an empty file is an image without objects. Files named like names
files (``classes.txt``) are not label files. Image file names are the stem plus
the extension of the matching image in ``images_dir`` (else ``.jpg``); sizes come
from that image's header when found (else unknown: no clipping).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from detlens.core.io.common import NAMES_FILES, ImageFinder, Part, check_boxes, resolve_class
from detlens.core.io.errors import InputError, short


def list_txt(folder: Path, exclude: Path | None = None) -> list[Path]:
    """Sorted ``*.txt`` files of ``folder`` except names files; InputError if none."""
    ex = exclude.resolve() if exclude is not None else None
    files = [
        p for p in sorted(folder.glob("*.txt"))
        if p.name not in NAMES_FILES and (ex is None or p.resolve() != ex)
    ]
    if not files:
        raise InputError(folder.name, "folder", "no .txt files found")
    return files


def read_rows(path: Path, disp: str, n_num: int, multiword: bool) -> list[tuple[int, str, list[float], bool]]:
    """Parse one text file into ``(line_no, class_token, numbers, difficult)`` rows.

    ``n_num`` numbers are taken from the right of each line (after dropping a
    trailing ``difficult``); the rest is the class token (one token unless
    ``multiword``). Numbers must be finite.
    """
    try:
        text = path.read_bytes().decode("utf-8", errors="replace")
    except OSError as exc:
        raise InputError(disp, "file", f"cannot read: {exc.strerror or exc}") from None
    rows = []
    for k, line in enumerate(text.splitlines(), start=1):
        tok = line.split()
        if not tok:
            continue
        difficult = len(tok) > n_num + 1 and tok[-1].lower() == "difficult"
        if difficult:
            tok = tok[:-1]
        n_cls = len(tok) - n_num
        if n_cls < 1 or (n_cls > 1 and not multiword):
            raise InputError(disp, f"line {k}", f"expected {n_num + 1} values, got {len(tok)}: {short(line.strip())}")
        cls = " ".join(tok[:n_cls])
        if n_cls > 1 and _is_number(tok[n_cls - 1]):
            raise InputError(disp, f"line {k}", f"expected {n_num + 1} values, got {len(tok)}: {short(line.strip())}")
        nums = []
        for t in tok[n_cls:]:
            try:
                v = float(t)
            except ValueError:
                raise InputError(disp, f"line {k}", f"{t!r} is not a number") from None
            if not math.isfinite(v):
                raise InputError(disp, f"line {k}", f"values must be finite numbers, got {t!r}")
            nums.append(v)
        rows.append((k, cls, nums, difficult))
    return rows


def _is_number(t: str) -> bool:
    try:
        float(t)
    except ValueError:
        return False
    return True


class FolderBuilder:
    """Collects images and rows of a folder format and builds a :class:`Part`."""

    def __init__(self, file: str):
        self.file = file
        self.stems: list[str] = []
        self.names: list[str] = []
        self.w: list[float] = []
        self.h: list[float] = []
        self.cats: dict[str, int] = {}
        self.img: list[int] = []
        self.cat: list[int] = []
        self.boxes: list[list[float]] = []
        self.scores: list[float] = []
        self.difficult: list[float] = []
        self.where: list[tuple[str, str]] = []
        self.warnings: list[str] = []

    def add_image(self, stem: str, file_name: str, w: float, h: float) -> int:
        """Register an image; returns its local index."""
        self.stems.append(stem)
        self.names.append(file_name)
        self.w.append(w)
        self.h.append(h)
        return len(self.stems) - 1

    def add_box(self, img: int, cls: str, box: list[float], score: float, difficult: float, where: tuple[str, str]) -> None:
        """Add one ``[x, y, w, h]`` pixel box of class name ``cls``."""
        self.img.append(img)
        self.cat.append(self.cats.setdefault(cls, len(self.cats)))
        self.boxes.append(box)
        self.scores.append(score)
        self.difficult.append(difficult)
        self.where.append(where)

    def build(self, role: str, names_order: list[str] | None) -> Part:
        """The :class:`Part`; validates box sizes (``w, h > 0``)."""
        n = len(self.img)
        boxes = np.array(self.boxes, np.float64).reshape(n, 4)
        where = self.where

        def describe(i: int) -> tuple[str, str]:
            return where[i]

        check_boxes(boxes, describe, "box")
        extra = {}
        if any(self.difficult):
            extra["difficult"] = np.array(self.difficult, np.float64)
        obj = lambda xs: np.array(xs, dtype=object).reshape(len(xs))  # noqa: E731
        return Part(
            file=self.file, has_ids=False, results_list=False,
            img_ids=np.arange(len(self.stems), dtype=np.int64), img_names=obj(self.names), img_stems=obj(self.stems),
            img_w=np.array(self.w, np.float64), img_h=np.array(self.h, np.float64),
            cat_ids=np.arange(len(self.cats), dtype=np.int64), cat_names=obj(list(self.cats)),
            box_img=np.array(self.img, np.int64), box_cat=np.array(self.cat, np.int64), boxes=boxes,
            scores=np.array(self.scores, np.float64) if role == "predictions" else None,
            iscrowd=np.zeros(n, bool), areas=np.full(n, np.nan), ids=None,
            describe=describe, extra=extra, names_order=names_order, warnings=self.warnings,
        )


def load_txt(folder: Path, role: str, box_format: str, names: list[str] | None, finder: ImageFinder,
             names_path: Path | None = None) -> Part:
    """Read a folder of absolute-pixel text files.

    Args:
        folder: directory of ``.txt`` files.
        role: ``"labels"`` (5 values a line) or ``"predictions"`` (6).
        box_format: ``"xyxy"`` (corners) or ``"xywh"`` (top-left + size).
        names: class names for integer class tokens, or None.
        finder: image lookup for file names and sizes.
    """
    if box_format not in ("xyxy", "xywh"):
        raise ValueError(f"box_format must be 'xyxy' or 'xywh', got {box_format!r}")
    b = FolderBuilder(folder.name)
    n_num = 5 if role == "predictions" else 4
    for path in list_txt(folder, names_path):
        disp = f"{folder.name}/{path.name}"
        stem = path.stem
        w, h = finder.size(stem)
        img = b.add_image(stem, finder.file_name(stem), w, h)
        for k, cls, nums, diff in read_rows(path, disp, n_num, multiword=True):
            try:
                name = resolve_class(cls, names)
            except ValueError as exc:
                raise InputError(disp, f"line {k}", str(exc)) from None
            score = nums[0] if role == "predictions" else 1.0
            x1, y1, c, d = nums[-4:]
            if box_format == "xyxy" and (c <= x1 or d <= y1):  # check_boxes's words, with the likely cause
                side, size = ("width", c - x1) if c <= x1 else ("height", d - y1)
                raise InputError(disp, f"line {k}", f"box {side} must be > 0, got {size:g} (right/bottom must exceed "
                                 "left/top; for 'x y width height' values give --box-format xywh)")
            box = [x1, y1, c - x1, d - y1] if box_format == "xyxy" else [x1, y1, c, d]
            b.add_box(img, name, box, score, float(diff), (disp, f"line {k}"))
    return b.build(role, names)
