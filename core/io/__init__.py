"""Importers: COCO JSON, YOLO, Pascal VOC XML and plain-text folders -> :class:`Dataset`.

Entry point: :func:`load_dataset`. Every problem with the input raises
:class:`InputError` (one line, ``"<file>: <record>: <problem>"``) before
anything is returned; non-fatal notes end up in ``Dataset.warnings``.
One module per format (``coco``, ``yolo``, ``voc``, ``txt``), format
detection in ``detect``, assembly/validation/clipping/fingerprint in ``common``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from detlens.core.dataset import Dataset
from detlens.core.io.coco import load_coco
from detlens.core.io.assemble import assemble, compute_fingerprint
from detlens.core.io.common import ImageFinder, Part, display_name, find_names_file, read_names
from detlens.core.io.detect import FORMATS, detect_format
from detlens.core.io.errors import InputError

# the folder importers (txt, voc, yolo) are imported when used: a COCO run never needs them

__all__ = ["InputError", "compute_fingerprint", "detect_format", "load_dataset"]


def dataset_name(labels: Path) -> str:
    """A readable dataset name: the labels folder's name, or ``folder/file`` for a labels file.

    ``demo/labels.json`` says more than ``labels.json``; a file alone at the top level keeps its name.
    """
    labels = labels.resolve()
    if labels.is_dir() or not labels.parent.name:
        return labels.name or str(labels)
    return f"{labels.parent.name}/{labels.name}"


def load_dataset(
    labels: str | Path,
    predictions: str | Path | None = None,
    *,
    fmt: str = "auto",
    box_format: str = "xyxy",
    images_dir: str | Path | None = None,
    names_file: str | Path | None = None,
    clip: bool = True,
) -> Dataset:
    """Load labels (and optionally predictions) into a validated :class:`Dataset`.

    Args:
        labels: COCO ``.json`` file, or folder of VOC ``.xml`` / YOLO or text ``.txt``.
        predictions: same kinds, plus a COCO results list; None for labels only.
        fmt: ``"auto"`` (detect each path on its own, see :mod:`detlens.core.io.detect`),
            ``"coco"``, ``"yolo"``, ``"voc"`` or ``"txt"`` (applies to both paths).
        box_format: ``"xyxy"`` (``left top right bottom``) or ``"xywh"``
            (``x y width height``), absolute pixels; text format only.
        images_dir: folder of the images (matched by file stem) for image file
            names and pixel sizes (required by YOLO unless found next to the labels).
        names_file: class names, one per line (or ``data.yaml`` ``names:``);
            integer class tokens index it. Searched next to / above folder
            inputs when not given.
        clip: clip boxes sticking out of their (known-size) image, with one
            warning giving the count; False keeps them as given (pycocotools
            behaviour). A box entirely outside its image is always an error.

    Returns:
        the :class:`Dataset`, boxes ``(N, 4)`` float64 ``[x, y, w, h]`` pixels.

    Raises:
        InputError: any malformed, inconsistent or unreadable input.
        ValueError: invalid ``fmt`` / ``box_format`` arguments.
    """
    if fmt != "auto" and fmt not in FORMATS:
        raise ValueError(f"fmt must be 'auto' or one of {', '.join(FORMATS)}, got {fmt!r}")
    if box_format not in ("xyxy", "xywh"):
        raise ValueError(f"box_format must be 'xyxy' or 'xywh', got {box_format!r}")
    lab_path = Path(labels)
    pred_path = Path(predictions) if predictions is not None else None
    img_dir = Path(images_dir) if images_dir is not None else None
    if img_dir is not None and not img_dir.is_dir():
        raise InputError(display_name(img_dir), "images_dir", "is not a folder")
    names_path = Path(names_file) if names_file is not None else None
    names = read_names(names_path) if names_path is not None else None

    warnings: list[str] = []
    lab = _load(lab_path, "labels", fmt, box_format, img_dir, names, names_path, warnings)
    pred = _load(pred_path, "predictions", fmt, box_format, img_dir, names, names_path, warnings) if pred_path else None
    order = names if names is not None else (lab.names_order or (pred.names_order if pred else None))
    ds = assemble(dataset_name(lab_path), lab, pred, order, clip=clip)
    if warnings:
        ds = replace(ds, warnings=tuple(warnings) + ds.warnings)
    return ds


def _load(path: Path, role: str, fmt: str, box_format: str, img_dir: Path | None,
          names: list[str] | None, names_path: Path | None, warnings: list[str]) -> Part:
    kind = detect_format(path) if fmt == "auto" else fmt
    disp = display_name(path)
    if kind == "coco":
        if not path.is_file():
            raise InputError(disp, "path", "COCO input must be a .json file")
        return load_coco(path, role)
    if not path.is_dir():
        raise InputError(disp, "path", f"{kind} input must be a folder")
    if kind == "voc":
        from detlens.core.io.voc import load_voc

        return load_voc(path, role, ImageFinder([img_dir] if img_dir else []))
    if names is None:
        found = find_names_file(path)
        if found is not None:
            names, names_path = read_names(found), found
            warnings.append(f"class names for {disp} read from {found.name}")
    from detlens.core.io.txt import load_txt
    from detlens.core.io.yolo import default_image_dirs, load_yolo

    if kind == "yolo":
        finder = ImageFinder([img_dir] if img_dir else default_image_dirs(path))
        return load_yolo(path, role, names, finder, names_path)
    return load_txt(path, role, box_format, names, ImageFinder([img_dir] if img_dir else []), names_path)
