"""The single exception type raised by the importers.

Every message is ONE line of the form ``"<file>: <record>: <problem>"``, e.g.
``"preds.json: annotation #17 (id 42): bbox width must be > 0, got -3"``.

Record identifiers used by the importers:

* JSON lists: ``image #i``, ``annotation #i``, ``category #i``, ``result #i``,
  where ``i`` is the 0-based position in the JSON array, followed by
  ``(id N)`` when the record has an id.
* Text files (txt, YOLO): ``line N`` (1-based).
* VOC XML: ``object #i`` (0-based) or the XML element in question.
* Whole-file problems use ``file`` as record (e.g. empty or malformed JSON).
"""

from __future__ import annotations


class InputError(ValueError):
    """An input file is malformed or inconsistent; nothing was loaded.

    Attributes:
        file: the file (display name) at fault.
        record: which record in the file (``"line 3"``, ``"annotation #17 (id 42)"``).
        problem: what is wrong with it.
    """

    def __init__(self, file: str, record: str, problem: str):
        self.file = str(file)
        self.record = str(record)
        self.problem = str(problem)
        msg = f"{self.file}: {self.record}: {self.problem}"
        super().__init__(" ".join(msg.split()))  # guarantee a single line


def short(value: object, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters, for error messages."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
