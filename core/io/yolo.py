"""YOLO importer: a folder with one ``<image stem>.txt`` per image.

Line layouts (whitespace separated, coordinates normalised to [0, 1] by the
image width/height, box given by its centre and size):

* labels:      ``class xc yc w h``
* predictions: ``class xc yc w h conf`` (trailing, ultralytics) or
  ``class conf xc yc w h`` (leading, e.g. Padilla's tools). The layout is
  chosen per folder: the one under which every box lies inside [0, 1] (1 %
  tolerance); the trailing layout when both fit (or, failing that, the one with
  fewer violations). A warning states the choice.

``class`` is an integer index into the names file (``names_file`` or an
``obj.names`` / ``classes.txt`` / ``*.names`` / ``data.yaml`` found next to or
above the folder), or a class name. Without names, integer classes are named
``"0"``, ``"1"``, ... Pixel sizes come from the image headers, found by stem in
``images_dir`` (default: the label folder, a sibling ``images`` folder, or the
``labels`` -> ``images`` path of ultralytics layouts); a label file without
an image is an :class:`InputError`.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from detlens.core.io.common import ImageFinder, Part, resolve_class
from detlens.core.io.errors import InputError
from detlens.core.io.txt import FolderBuilder, list_txt, read_rows

_TOL = 0.01


def default_image_dirs(folder: Path) -> list[Path]:
    """Folders searched for images of a YOLO label folder when none is given."""
    dirs = [folder, folder.parent / "images"]
    parts = list(folder.parts)
    if "labels" in parts:
        k = len(parts) - 1 - parts[::-1].index("labels")
        dirs.append(Path(*parts[:k], "images", *parts[k + 1:]))
    return dirs


def _violations(box: np.ndarray) -> int:
    """Rows of ``(N, 4)`` normalised ``[xc, yc, w, h]`` that do not fit in [0, 1]."""
    if box.shape[0] == 0:
        return 0
    xc, yc, w, h = box.T
    bad = (w <= 0) | (h <= 0) | (w > 1 + _TOL) | (h > 1 + _TOL)
    bad |= (xc - w / 2 < -_TOL) | (xc + w / 2 > 1 + _TOL) | (yc - h / 2 < -_TOL) | (yc + h / 2 > 1 + _TOL)
    return int(bad.sum())


def choose_layout(rows: np.ndarray) -> tuple[str, str | None]:
    """Pick ``"trailing"`` or ``"leading"`` confidence for ``(N, 5)`` number rows.

    Returns:
        ``(layout, note)`` where note explains an ambiguous choice (or None).
    """
    trail, lead = _violations(rows[:, :4]), _violations(rows[:, 1:])
    if trail == 0 and lead == 0:
        return "trailing", "both layouts fit, chose trailing (ultralytics) 'class xc yc w h conf'"
    if trail <= lead:
        return "trailing", None
    return "leading", None


def load_yolo(folder: Path, role: str, names: list[str] | None, finder: ImageFinder,
              names_path: Path | None = None) -> Part:
    """Read a YOLO folder; returns pixel ``[x, y, w, h]`` boxes in a :class:`Part`."""
    n_num = 5 if role == "predictions" else 4
    files = list_txt(folder, names_path)
    parsed = []
    for path in files:
        disp = f"{folder.name}/{path.name}"
        parsed.append((path, disp, read_rows(path, disp, n_num, multiword=False)))
    layout = "trailing"
    b = FolderBuilder(folder.name)
    if role == "predictions":
        allnums = np.array([r[2] for _, _, rows in parsed for r in rows], np.float64).reshape(-1, 5)
        layout, note = choose_layout(allnums)
        msg = f"{folder.name}: YOLO predictions read as 'class {'xc yc w h conf' if layout == 'trailing' else 'conf xc yc w h'}'"
        b.warnings.append(msg + (f" ({note})" if note else ""))
    for path, disp, rows in parsed:
        stem = path.stem
        W, H = finder.size(stem)
        if math.isnan(W) or math.isnan(H):
            raise InputError(disp, "file", f"no image '{stem}.*' found to get its size (give images_dir)")
        img = b.add_image(stem, finder.file_name(stem), W, H)
        for k, cls, nums, _ in rows:
            try:
                name = resolve_class(cls, names)
            except ValueError as exc:
                raise InputError(disp, f"line {k}", str(exc)) from None
            if role == "predictions":
                score, (xc, yc, w, h) = (nums[4], nums[:4]) if layout == "trailing" else (nums[0], nums[1:])
            else:
                score, (xc, yc, w, h) = 1.0, nums
            b.add_box(img, name, [(xc - w / 2) * W, (yc - h / 2) * H, w * W, h * H], score, 0.0, (disp, f"line {k}"))
    return b.build(role, names)
