"""Where the shared reference sets live: ``../shared/refdata`` beside the repository."""

import json
from pathlib import Path

REFDATA = Path(__file__).resolve().parents[2] / "shared" / "refdata"


def expected(name: str, file: str = "EXPECTED.json") -> dict:
    """The ``EXPECTED*.json`` document of one reference set."""
    return json.loads((REFDATA / name / file).read_text())
