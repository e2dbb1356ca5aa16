"""Shared test fixtures: location of the external reference data."""

from __future__ import annotations

from pathlib import Path

import pytest

# ../shared/refdata relative to the repository root (same place in CI).
REFDATA = Path(__file__).resolve().parents[2] / "shared" / "refdata"


@pytest.fixture(scope="session")
def refdata() -> Path:
    """Root of the reference data sets; skips the test when absent."""
    if not REFDATA.is_dir():
        pytest.skip(f"reference data not found at {REFDATA}")
    return REFDATA
