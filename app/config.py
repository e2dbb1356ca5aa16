"""Run-time configuration of the server: one frozen object, read from the command line or the environment
at the edge (:mod:`detlens.app.cli`, :mod:`detlens.app.wsgi`) and passed to what needs it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from detlens.app.source import DataSource

DEFAULT_HOST = "127.0.0.1"  # never listen on other interfaces unless told to
DEFAULT_PORT = 8050


def default_cache_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """``$DETLENS_CACHE_DIR``, else ``$XDG_CACHE_HOME/detlens``, else ``~/.cache/detlens``."""
    if environ.get("DETLENS_CACHE_DIR"):
        return Path(environ["DETLENS_CACHE_DIR"])
    base = Path(environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "detlens"


@dataclass(frozen=True)
class ServeConfig:
    """Everything the dashboard server is configured with.

    Attributes:
        cache_dir: the folder every server process and background job shares.
        source: the data to show; None for the embedded demo.
        host, port: where ``detlens serve`` listens.
        precompute: pre-compute every IoU slider value after the preparation.
    """

    cache_dir: Path
    source: DataSource | None = None
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    precompute: bool = True

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> "ServeConfig":
        """The WSGI entry's configuration: ``DETLENS_LABELS``, ``DETLENS_PREDICTIONS`` (both, or neither
        for the demo), ``DETLENS_IMAGES``, ``DETLENS_FORMAT`` and ``DETLENS_CACHE_DIR``.

        Raises:
            ValueError: only one of labels and predictions is set.
        """
        labels, predictions = environ.get("DETLENS_LABELS"), environ.get("DETLENS_PREDICTIONS")
        if bool(labels) != bool(predictions):
            raise ValueError("set both DETLENS_LABELS and DETLENS_PREDICTIONS, or neither for the demo")
        source = None if not labels else DataSource(
            labels=labels, predictions=predictions, images=environ.get("DETLENS_IMAGES") or None,
            fmt=environ.get("DETLENS_FORMAT", "auto"))
        return cls(cache_dir=default_cache_dir(environ), source=source)
