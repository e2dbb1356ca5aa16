"""Shared test fixtures: the reference data checked in under tests/data/refdata."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.refdata import REFDATA  # the one definition of the reference data root


@pytest.fixture(scope="session")
def refdata() -> Path:
    """Root of the reference data sets (in the repository: never skipped, a missing file fails)."""
    assert REFDATA.is_dir(), f"reference data missing: {REFDATA} (it is part of the repository)"
    return REFDATA
