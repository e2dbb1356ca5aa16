"""Automatic format detection for one path (labels and predictions separately).

Rules, in order:

* a file whose suffix is ``.json`` (any case), or whose first non-blank byte
  is ``{`` or ``[``: ``"coco"``;
* a directory with more ``.xml`` than ``.txt`` files: ``"voc"``;
* a directory of ``.txt`` files: ``"yolo"`` when every coordinate/confidence
  value in (up to 200 of) its files lies in [-0.5, 1.5] -- normalised
  coordinates (slack for boxes sticking out of the image); absolute pixel
  boxes practically always exceed 1.5 -- else ``"txt"``. The
  class token (first token) is ignored; folders whose files are all empty are
  ``"txt"``.

Anything else is an :class:`InputError`. Pass ``fmt=`` to override.
"""

from __future__ import annotations

from pathlib import Path

from detlens.core.io.common import NAMES_FILES, display_name
from detlens.core.io.errors import InputError

FORMATS = ("coco", "yolo", "voc", "txt")
_SAMPLE = 200


def detect_format(path: Path) -> str:
    """One of ``"coco"``, ``"voc"``, ``"yolo"``, ``"txt"`` for ``path``.

    Raises:
        InputError: missing path or unrecognised content.
    """
    disp = display_name(path)
    if not path.exists():
        raise InputError(disp, "path", "does not exist")
    if path.is_file():
        if path.suffix.lower() == ".json":
            return "coco"
        with path.open("rb") as fh:
            head = fh.read(4096).lstrip()
        if head[:1] in (b"{", b"["):
            return "coco"
        raise InputError(disp, "file", "unrecognised file; expected a COCO .json file or a folder of .txt/.xml files")
    xml = sum(1 for _ in path.glob("*.xml"))
    txt = [p for p in sorted(path.glob("*.txt")) if p.name not in NAMES_FILES]
    if xml > len(txt):
        return "voc"
    if not txt:
        raise InputError(disp, "folder", "no .txt, .xml annotation files found")
    return "yolo" if _all_normalised(txt[:_SAMPLE]) else "txt"


def _all_normalised(files: list[Path]) -> bool:
    seen = False
    for p in files:
        try:
            text = p.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for line in text.splitlines():
            for tok in line.split()[1:]:
                try:
                    v = float(tok)
                except ValueError:
                    continue  # class names with spaces, 'difficult'
                if not -0.5 <= v <= 1.5:
                    return False
                seen = True
    return seen
