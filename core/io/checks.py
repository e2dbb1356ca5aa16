"""Checks that the inputs fit together, run by :func:`detlens.core.io.load_dataset` after reading.

Each check either raises :class:`InputError` (the data cannot mean what the
user wants) or returns warnings (one line each, counted), which
``load_dataset`` puts first in ``Dataset.warnings``. The rules:

1. **Class names** (predictions matched to labels by class name: VOC, YOLO and
   text folders, or folder predictions against COCO labels). Only classes that
   own at least one box count.

   * Labels and predictions both have boxes and no prediction class name is a
     label class name: :class:`InputError` suggesting ``--names`` /
     ``--pred-names`` (class ids on one side, names on the other, is the usual
     cause).
   * Some prediction class names are not label class names: a warning listing
     them with their prediction counts (those predictions can only be false
     positives), and the label classes no prediction names, with their label
     counts (at most ``NAMES_LISTED`` of each); when one of those names is an
     integer (a class id), the warning names ``--names`` / ``--pred-names``.

2. **Box format** (text and YOLO folders; images of known size only). A box
   *sticks out* when it extends beyond its image by more than ``OUTSIDE_PX``
   pixels. Over the boxes (labels and predictions) of images of known size,
   when there are at least ``MIN_BOXES`` of them, warn naming ``--box-format``
   when

   * at least ``MANY_OUTSIDE`` of them stick out, or
   * (text only) reading them in the other box format, at most
     ``1 / FAR_FEWER`` as many would stick out (a box with a width or height
     <= 0 in that reading counts as sticking out) and the share drops by at
     least ``MIN_DROP``.

   Without image sizes (text only, ``--box-format xywh``): when at least
   ``CORNER_MIN_BOXES`` boxes are read and every one of them also reads as a
   corner box (third value > first, fourth > second: always true of corner
   files, rarely of every box of an ``x y w h`` file), warn.

   The IoU with the labels is deliberately not compared between the two
   readings: corner boxes read as ``x y w h`` grow (right edge ``left +
   right``), which raises the IoU of near pairs, so a higher IoU would point at
   the wrong format.

3. **Images that don't fit** (``images_dir`` given, labels with sizes of their
   own: COCO ``width``/``height``, VOC ``<size>``). The pixel size of at most
   ``SAMPLE_IMAGES`` images (evenly spread over the dataset; only files found
   at ``images_dir / file_name``) is read from the file header. Warn when

   * any file's size differs from the size the labels declare (counted, first
     example named), or
   * more than ``FEW_OUTSIDE`` of the labelled boxes of those images stick out
     of the file's size by more than ``OUTSIDE_PX`` (wrong images folder).
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import numpy as np

from detlens.core.io.errors import InputError

NAMES_LISTED = 6  # class names listed per side in a mismatch warning
OUTSIDE_PX = 1.0  # pixels a box may extend beyond its image without counting as sticking out
MIN_BOXES = 10  # boxes of known image size needed before the box-format rule speaks
MANY_OUTSIDE = 0.10  # share of boxes sticking out that is "many"
FAR_FEWER = 4.0  # the other box format fits "markedly better": at most a quarter as many stick out ...
MIN_DROP = 0.02  # ... and the share drops by at least 2 points
CORNER_MIN_BOXES = 50  # boxes needed before "every box also reads as corners" is evidence
SAMPLE_IMAGES = 1000  # image headers read at most by the image-fit rule
FEW_OUTSIDE = 0.03  # share of labelled boxes outside the image file that means "not these images"

OTHER_FORMAT = {"xyxy": "xywh", "xywh": "xyxy"}
FORMAT_WORDS = {"xyxy": "left top right bottom", "xywh": "x y width height"}


def _listing(names: np.ndarray, counts: np.ndarray, unit: str) -> str:
    order = np.lexsort((names.astype(str), -counts))
    shown = [f"{str(names[i])!r} ({counts[i]} {unit})" for i in order[:NAMES_LISTED]]
    more = len(order) - NAMES_LISTED
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def check_class_names(label_classes: np.ndarray, prediction_classes: np.ndarray, labels_file: str,
                      predictions_file: str) -> list[str]:
    """Rule 1: class names of the label boxes against those of the prediction boxes.

    Args:
        label_classes: ``(N,)`` object array, the class name of each label box.
        prediction_classes: ``(M,)`` object array, the class name of each prediction box.
        labels_file, predictions_file: display names for the messages.

    Returns:
        ``[]`` or one warning (some prediction class names are not label class names).

    Raises:
        InputError: both have boxes and no prediction class name is a label class name.
    """
    if len(label_classes) == 0 or len(prediction_classes) == 0:
        return []
    lab_names, lab_counts = np.unique(label_classes.astype(str), return_counts=True)
    pred_names, pred_counts = np.unique(prediction_classes.astype(str), return_counts=True)
    pred_known = np.isin(pred_names, lab_names)
    if pred_known.all():
        return []
    lab_unused = ~np.isin(lab_names, pred_names)
    if not pred_known.any():
        raise InputError(
            predictions_file, "classes",
            f"no prediction class name is a label class name (predictions: {_names(pred_names)}; labels "
            f"{labels_file}: {_names(lab_names)}); if one side holds class ids, give its names file: "
            "--pred-names FILE for the predictions, --names FILE for the labels")
    text = (f"{(~pred_known).sum()} prediction class names of {predictions_file} are not label class names "
            f"(their predictions can only be false positives): "
            f"{_listing(pred_names[~pred_known], pred_counts[~pred_known], 'predictions')}")
    if lab_unused.any():
        text += f"; label classes without predictions: {_listing(lab_names[lab_unused], lab_counts[lab_unused], 'labels')}"
    if any(str(n).lstrip("-").isdigit() for n in np.concatenate([pred_names[~pred_known], lab_names[lab_unused]])):
        text += "; class ids need their names file: --names (labels), --pred-names (predictions)"
    return [text]


def _names(names: np.ndarray) -> str:
    shown = ", ".join(repr(str(n)) for n in names[:NAMES_LISTED])
    return shown + (f" and {len(names) - NAMES_LISTED} more" if len(names) > NAMES_LISTED else "")


def sticking_out(boxes: np.ndarray, widths: np.ndarray, heights: np.ndarray) -> np.ndarray:
    """``(N,)`` bool: ``(N, 4)`` ``[x, y, w, h]`` pixel boxes extending beyond ``[0, W] x [0, H]`` by more than
    ``OUTSIDE_PX`` pixels, or with ``w <= 0`` / ``h <= 0``. ``widths``/``heights``: ``(N,)`` float64 pixels."""
    x, y, w, h = boxes.T
    return ((w <= 0) | (h <= 0) | (x < -OUTSIDE_PX) | (y < -OUTSIDE_PX)
            | (x + w > widths + OUTSIDE_PX) | (y + h > heights + OUTSIDE_PX))


def other_reading(boxes: np.ndarray, box_format: str) -> np.ndarray:
    """The ``(N, 4)`` ``[x, y, w, h]`` boxes the same text values give in the other box format.

    ``boxes`` were read with ``box_format`` from values ``a b c d``: ``xyxy`` gave
    ``[a, b, c - a, d - b]``, ``xywh`` gave ``[a, b, c, d]``.
    """
    x, y, w, h = boxes.T
    if box_format == "xyxy":  # values were a b c d = x y x+w y+h; as xywh they are the box [a, b, c, d]
        return np.stack([x, y, x + w, y + h], axis=1)
    return np.stack([x, y, w - x, h - y], axis=1)  # values were x y w h; as corners: width c - a


def check_box_format(boxes: np.ndarray, widths: np.ndarray, heights: np.ndarray, kind: str,
                     box_format: str) -> list[str]:
    """Rule 2 over the boxes of the text or YOLO folders (labels and predictions together).

    Args:
        boxes: ``(N, 4)`` float64 ``[x, y, w, h]`` pixels as read (not clipped).
        widths, heights: ``(N,)`` float64 pixel size of each box's image, NaN when unknown.
        kind: ``"txt"`` or ``"yolo"``.
        box_format: the ``box_format`` the text values were read with.

    Returns:
        ``[]`` or one warning.
    """
    known = np.isfinite(widths) & np.isfinite(heights)
    n = int(known.sum())
    if n >= MIN_BOXES:
        out = int(sticking_out(boxes[known], widths[known], heights[known]).sum())
        if kind == "yolo":
            if out >= MANY_OUTSIDE * n:
                return [f"{out} of {n} YOLO boxes stick out of their image by more than {OUTSIDE_PX:g} pixel: are "
                        "these YOLO files ('class xc yc w h' normalised by the image size; else --format txt "
                        "and --box-format) of the images found?"]
            return []
        other = OTHER_FORMAT[box_format]
        out_other = int(sticking_out(other_reading(boxes[known], box_format), widths[known], heights[known]).sum())
        fits_better = out_other * FAR_FEWER <= out and (out - out_other) >= MIN_DROP * n
        if out >= MANY_OUTSIDE * n or fits_better:
            return [f"{out} of {n} boxes stick out of their image by more than {OUTSIDE_PX:g} pixel reading "
                    f"--box-format {box_format} ('{FORMAT_WORDS[box_format]}'), {out_other} would reading "
                    f"--box-format {other} ('{FORMAT_WORDS[other]}'): check --box-format, and that --images "
                    "holds the images of these files"]
        return []
    if kind == "txt" and box_format == "xywh" and len(boxes) >= CORNER_MIN_BOXES:
        x, y, w, h = boxes.T
        if ((w > x) & (h > y)).all():
            return [f"every one of the {len(boxes)} boxes also reads as 'left top right bottom' (third value > "
                    "first, fourth > second), as corner files always do: check --box-format (xywh was given)"]
    return []


def _image_path(images_dir: Path, file_name: str) -> Path | None:
    """``images_dir / file_name`` when that names a file inside ``images_dir`` (relative, no ``..``)."""
    rel = PurePosixPath(file_name.replace("\\", "/"))
    if rel.is_absolute() or ".." in rel.parts or not rel.parts:
        return None
    path = images_dir / rel
    return path if path.is_file() else None


def file_sizes(images_dir: Path, file_names: np.ndarray, sample: np.ndarray) -> np.ndarray:
    """``(len(sample), 2)`` float64 ``(width, height)`` pixels read from the headers of the images
    ``file_names[sample]`` in ``images_dir``; NaN where the file is missing or unreadable."""
    from PIL import Image

    sizes = np.full((len(sample), 2), np.nan)
    for row, i in enumerate(sample.tolist()):
        path = _image_path(images_dir, str(file_names[i]))
        if path is None:
            continue
        try:
            with Image.open(path) as im:  # lazy: reads the header only
                sizes[row] = im.size
        except Exception:  # noqa: BLE001 - an unreadable file is the pixel pass's note, not this check's
            continue
    return sizes


def check_image_fit(images_dir: Path, file_names: np.ndarray, widths: np.ndarray, heights: np.ndarray,
                    box_image: np.ndarray, boxes: np.ndarray) -> list[str]:
    """Rule 3: the image files of ``images_dir`` against the sizes and boxes the labels declare.

    Args:
        images_dir: the images folder.
        file_names: ``(n,)`` object array, image file names relative to ``images_dir``.
        widths, heights: ``(n,)`` float64 pixel sizes the labels declare (NaN: none).
        box_image: ``(N,)`` int64 image index of each label box.
        boxes: ``(N, 4)`` float64 ``[x, y, w, h]`` label boxes in pixels.

    Returns:
        up to two warnings.
    """
    n = len(file_names)
    if n == 0:
        return []
    sample = np.unique(np.linspace(0, n - 1, min(n, SAMPLE_IMAGES)).round().astype(np.int64))
    sizes = file_sizes(images_dir, file_names, sample)
    found = np.isfinite(sizes).all(axis=1)
    if not found.any():
        return []
    warnings = []
    declared = np.stack([widths[sample], heights[sample]], axis=1)
    differs = found & np.isfinite(declared).all(axis=1) & (declared != sizes).any(axis=1)
    if differs.any():
        k = int(np.flatnonzero(differs)[0])
        i = int(sample[k])
        warnings.append(
            f"{int(differs.sum())} of {int(found.sum())} image files checked in {images_dir.name} differ in size from "
            f"the size the labels give (e.g. {file_names[i]}: file {sizes[k, 0]:g}x{sizes[k, 1]:g}, labels "
            f"{declared[k, 0]:g}x{declared[k, 1]:g}): are these the images of these labels?")
    file_w = np.full(n, np.nan)
    file_h = np.full(n, np.nan)
    file_w[sample], file_h[sample] = sizes[:, 0], sizes[:, 1]
    checked = np.isfinite(file_w[box_image])
    n_boxes = int(checked.sum())
    if n_boxes:
        out = int(sticking_out(boxes[checked], file_w[box_image][checked], file_h[box_image][checked]).sum())
        if out > FEW_OUTSIDE * n_boxes:
            warnings.append(
                f"{out} of {n_boxes} labelled boxes ({100 * out / n_boxes:.0f}%) lie partly outside their image file "
                f"in {images_dir.name} (by more than {OUTSIDE_PX:g} pixel): is --images the folder of these labels?")
    return warnings

