"""Run-time configuration shared by the CLI and the server."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_HOST = "127.0.0.1"  # never listen on other interfaces unless told to
DEFAULT_PORT = 8050


def default_cache_dir() -> Path:
    """``$DETLENS_CACHE_DIR``, else ``$XDG_CACHE_HOME/detlens``, else ``~/.cache/detlens``."""
    if os.environ.get("DETLENS_CACHE_DIR"):
        return Path(os.environ["DETLENS_CACHE_DIR"])
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "detlens"
