"""Where the reference sets live: ``tests/data/refdata`` inside the repository.

The one definition of ``REFDATA`` (``tests/conftest.py`` imports it). The data is
checked in, so a missing file is an error, never a skip; see
``tests/data/refdata/README.md`` for what was copied from where.
"""

import json
from pathlib import Path

REFDATA = Path(__file__).resolve().parent / "data" / "refdata"


def expected(name: str, file: str = "EXPECTED.json") -> dict:
    """The ``EXPECTED*.json`` document of one reference set."""
    return json.loads((REFDATA / name / file).read_text())
