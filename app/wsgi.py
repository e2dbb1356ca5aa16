"""WSGI entry point for gunicorn: ``gunicorn -w 4 -b 127.0.0.1:8050 detlens.app.wsgi:server``.

Configuration comes from the environment, read here once (see
:meth:`detlens.app.config.ServeConfig.from_env`). Every worker starts the
preparation; a lock in the shared cache folder lets one of them do the work
while the others wait for it and then find it cached.

The address gunicorn binds is not known here, so without ``DETLENS_USERS`` the
server refuses to start unless ``DETLENS_INSECURE_NO_AUTH=1`` (see
:func:`detlens.app.security.check_exposure`). Bad configuration prints one
line and exits with gunicorn's "App failed to load" status, which stops
gunicorn rather than restarting the worker again and again.
"""

from __future__ import annotations

import os
import sys

from detlens.app.config import ServeConfig
from detlens.app.security import check_exposure
from detlens.app.server import create_app

APP_LOAD_ERROR = 4  # gunicorn's exit status for a worker whose app cannot load: the arbiter halts

try:
    config = ServeConfig.from_env(os.environ)
    warning = check_exposure(config)
    if warning:
        print(warning, file=sys.stderr, flush=True)
    server = create_app(config, prepare=True).server
except ValueError as exc:  # the user's configuration: the message names the variable or file
    print(f"detlens: error: {exc}", file=sys.stderr, flush=True)
    sys.exit(APP_LOAD_ERROR)
