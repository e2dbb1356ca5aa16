"""Pascal VOC XML importer: a folder with one ``<image stem>.xml`` per image.

Each file: ``<annotation>`` with ``<size><width>/<height>`` (optional; else
taken from the image in ``images_dir``, else unknown) and ``<object>``s with
``<name>``, ``<bndbox>`` ``xmin ymin xmax ymax`` (absolute pixels; box
``[xmin, ymin, xmax - xmin, ymax - ymin]``, as the VOC->COCO converters do),
optional ``<difficult>`` 0/1 (kept as ``extra["difficult"]``; not an ignore
flag) and, for predictions, ``<score>`` or ``<confidence>`` (required).
The image is keyed by the XML file stem; its file name is the stem plus the
extension found in ``images_dir``, else ``<filename>``, else ``stem.jpg``.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from pathlib import Path

from detlens.core.io.common import ImageFinder, Part, read_bytes
from detlens.core.io.errors import InputError, short
from detlens.core.io.txt import FolderBuilder


def _num(el: ET.Element | None, tag: str, disp: str, record: str, required: bool = True) -> float:
    node = el.find(tag) if el is not None else None
    if node is None or node.text is None or not node.text.strip():
        if required:
            raise InputError(disp, record, f"missing <{tag}>")
        return float("nan")
    try:
        v = float(node.text.strip())
    except ValueError:
        raise InputError(disp, record, f"<{tag}> must be a number, got {short(node.text.strip())}") from None
    if not math.isfinite(v):
        raise InputError(disp, record, f"<{tag}> must be a finite number, got {node.text.strip()}")
    return v


def load_voc(folder: Path, role: str, finder: ImageFinder) -> Part:
    """Read a folder of VOC XML files into a :class:`Part` (pixel ``[x, y, w, h]`` boxes)."""
    files = sorted(folder.glob("*.xml"))
    if not files:
        raise InputError(folder.name, "folder", "no .xml files found")
    b = FolderBuilder(folder.name)
    for path in files:
        disp = f"{folder.name}/{path.name}"
        try:
            root = ET.fromstring(read_bytes(path, disp))
        except ET.ParseError as exc:
            line, col = exc.position
            raise InputError(disp, f"line {line}, column {col}", f"malformed XML: {str(exc).split(':')[0]}") from None
        if root.tag != "annotation":
            raise InputError(disp, f"<{root.tag}>", "expected a VOC <annotation> root element")
        stem = path.stem
        size = root.find("size")
        w = _num(size, "width", disp, "<size>", required=False)
        h = _num(size, "height", disp, "<size>", required=False)
        if math.isnan(w) or math.isnan(h) or w <= 0 or h <= 0:
            w, h = finder.size(stem)
        fn = root.findtext("filename")
        img = b.add_image(stem, finder.file_name(stem, fn.strip() if fn and fn.strip() else None), w, h)
        for k, obj in enumerate(root.findall("object")):
            rec = f"object #{k}"
            name = (obj.findtext("name") or "").strip()
            if not name:
                raise InputError(disp, rec, "missing <name>")
            rec = f"object #{k} ({name})"
            bb = obj.find("bndbox")
            if bb is None:
                raise InputError(disp, rec, "missing <bndbox>")
            x1, y1, x2, y2 = (_num(bb, t, disp, rec) for t in ("xmin", "ymin", "xmax", "ymax"))
            score = 1.0
            if role == "predictions":
                tag = "score" if obj.find("score") is not None else "confidence"
                score = _num(obj, tag, disp, rec)
            diff = _num(obj, "difficult", disp, rec, required=False)
            b.add_box(img, name, [x1, y1, x2 - x1, y2 - y1], score, 0.0 if math.isnan(diff) else diff, (disp, rec))
    return b.build(role, None)
