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

import numpy as np

from detlens.core.dataset import Dataset
from detlens.core.io.coco import load_coco
from detlens.core.io.assemble import assemble, compute_fingerprint
from detlens.core.io.checks import check_box_format, check_class_names, check_image_fit
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
    pred_names_file: str | Path | None = None,
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
        names_file: class names of the labels (and of the predictions when
            ``pred_names_file`` is not given), one per line (or ``data.yaml``
            ``names:``); integer class tokens index it. Searched next to /
            above each folder input when not given.
        pred_names_file: class names of the predictions, when their class ids
            index another list than the labels'.
        clip: clip boxes sticking out of their (known-size) image, with one
            warning giving the count; False keeps them as given (pycocotools
            behaviour). A box entirely outside its image is always an error.

    Returns:
        the :class:`Dataset`, boxes ``(N, 4)`` float64 ``[x, y, w, h]`` pixels. The
        warnings of :mod:`detlens.core.io.checks` (class names, box format,
        images that don't fit) come first.

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
    pred_names_path = Path(pred_names_file) if pred_names_file is not None else names_path
    pred_names = read_names(pred_names_path) if pred_names_file is not None else names

    warnings: list[str] = []
    lab_kind = detect_format(lab_path) if fmt == "auto" else fmt
    lab = _load(lab_path, "labels", lab_kind, box_format, img_dir, names, names_path, warnings)
    pred_kind = pred = None
    if pred_path is not None:
        pred_kind = detect_format(pred_path) if fmt == "auto" else fmt
        pred = _load(pred_path, "predictions", pred_kind, box_format, img_dir, pred_names, pred_names_path, warnings)
    order = names if names is not None else (lab.names_order or (pred.names_order if pred else None))
    checks = []
    if pred is not None and not lab.has_ids and not pred.results_list:  # matched by name (COCO labels: in assemble)
        checks += check_class_names(lab.cat_names[lab.box_cat], pred.cat_names[pred.box_cat], lab.file, pred.file)
    checks += _box_format_warnings([(lab, lab_kind), (pred, pred_kind)], box_format)
    ds = assemble(dataset_name(lab_path), lab, pred, order, clip=clip)
    if img_dir is not None and lab_kind in ("coco", "voc"):  # labels that declare sizes of their own
        checks += check_image_fit(img_dir, ds.images.file_names, ds.images.widths, ds.images.heights,
                                  ds.labels.image_index, ds.labels.boxes)
    if warnings or checks:  # the checks first: they say the numbers may mean nothing
        ds = replace(ds, warnings=tuple(checks + warnings) + ds.warnings)
    return ds


def _box_format_warnings(parts: list[tuple[Part | None, str | None]], box_format: str) -> list[str]:
    """Rule 2 of :mod:`detlens.core.io.checks` over the text parts together and the YOLO parts together."""
    found = []
    for kind in ("txt", "yolo"):
        chosen = [p for p, k in parts if p is not None and k == kind]
        if not chosen:
            continue
        boxes = np.concatenate([p.boxes for p in chosen])
        widths = np.concatenate([p.img_w[p.box_img] for p in chosen])
        heights = np.concatenate([p.img_h[p.box_img] for p in chosen])
        found += check_box_format(boxes, widths, heights, kind, box_format)
    return found


def _load(path: Path, role: str, kind: str, box_format: str, img_dir: Path | None,
          names: list[str] | None, names_path: Path | None, warnings: list[str]) -> Part:
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
