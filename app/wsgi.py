"""WSGI entry point for gunicorn: ``gunicorn -w 4 -b 127.0.0.1:8050 app.wsgi:server``.

Configuration comes from the environment: ``DETLENS_LABELS``,
``DETLENS_PREDICTIONS`` (the embedded demo when both are absent),
``DETLENS_IMAGES``, ``DETLENS_FORMAT`` and ``DETLENS_CACHE_DIR``. Every worker
starts the preparation; a lock in the shared cache folder lets one of them do
the work while the others wait for it and then find it cached.
"""

from __future__ import annotations

import dash

from detlens.app.config import default_cache_dir
from detlens.app.datastore import DataStore
from detlens.app.server import create_app, source_from_env, start_preparation


def build_app() -> dash.Dash:
    """The dashboard configured from the environment, with its data preparation started."""
    store = DataStore(default_cache_dir())
    source = source_from_env(store.cache_dir)
    app = create_app(source.source_id(), store)
    start_preparation(store, source)
    return app


server = build_app().server
