"""Shared test fixtures: the reference data checked in under tests/data/refdata, and one prepared demo."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from detlens.app.cache import SharedCache
from detlens.app.preparation import prepare
from detlens.app.queries import Queries
from detlens.app.source import DataSource
from detlens.core.demo import DemoConfig, write_demo
from tests.refdata import REFDATA  # the one definition of the reference data root


@pytest.fixture(scope="session")
def refdata() -> Path:
    """Root of the reference data sets (in the repository: never skipped, a missing file fails)."""
    assert REFDATA.is_dir(), f"reference data missing: {REFDATA} (it is part of the repository)"
    return REFDATA


@dataclass(frozen=True)
class PreparedDemo:
    """A small demo (no image files) prepared in a temporary shared cache, as the server would.

    Attributes:
        queries: the query service over that cache (what callbacks are registered with).
        source: the demo's data source.
        key: the prepared dataset's key.
        classes: every class name, as the page's class filter holds them.
    """

    queries: Queries
    source: DataSource
    key: str
    classes: tuple[str, ...]


DEMO_IMAGES = 80


@pytest.fixture(scope="session")
def demo(tmp_path_factory) -> PreparedDemo:
    """The one prepared demo every callback and query test shares (80 images, 4 classes)."""
    root = tmp_path_factory.mktemp("prepared-demo")
    paths = write_demo(root / "demo", DemoConfig.preset("default", n_images=DEMO_IMAGES), render_images=False)
    source = DataSource(str(paths.labels), str(paths.predictions))
    queries = Queries(SharedCache(root / "cache"))
    key = prepare(queries, source)
    return PreparedDemo(queries, source, key, tuple(queries.summary(key)["classes"]))
