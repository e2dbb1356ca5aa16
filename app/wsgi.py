"""WSGI entry point for gunicorn: ``gunicorn -w 4 -b 127.0.0.1:8050 detlens.app.wsgi:server``.

Configuration comes from the environment, read here once (see
:meth:`detlens.app.config.ServeConfig.from_env`). Every worker starts the
preparation; a lock in the shared cache folder lets one of them do the work
while the others wait for it and then find it cached.
"""

from __future__ import annotations

import os

from detlens.app.config import ServeConfig
from detlens.app.server import create_app

server = create_app(ServeConfig.from_env(os.environ), prepare=True).server
