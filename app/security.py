"""What protects the dashboard's server: login, response headers, host checks and request limits."""

from __future__ import annotations

import dash

from detlens.app.config import ServeConfig

MAX_REQUEST_BYTES = 1 * 2**20  # larger request bodies are refused with 413


def secure_server(app: dash.Dash, config: ServeConfig) -> None:
    """Apply ``config``'s protections to ``app``'s Flask server (every route, assets included)."""
    app.server.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES
