"""What the dashboard answers when a callback request goes wrong: 400 and one sentence, never a 500 with details.

Callbacks check their inputs and show readable alerts (see
:mod:`detlens.callbacks.inputs`), but a crafted request to
``/_dash-update-component`` can still break Dash itself: a body that is JSON
but not a callback request, an unknown output id, a value of the wrong type
for a callback without an alert. Any exception escaping the dispatch of a
callback request becomes ``400`` with :data:`BAD_CALLBACK_MESSAGE` (plain text);
the traceback goes to the server's log only. HTTP errors keep their status
(malformed JSON: 400, wrong content type: 415, too large: 413), and a callback
that does not update (``PreventUpdate``) still answers 204.
"""

from __future__ import annotations

import functools
import logging

import dash
import flask
from dash.exceptions import PreventUpdate
from werkzeug.exceptions import HTTPException

LOG = logging.getLogger("detlens.server")
BAD_CALLBACK_MESSAGE = "Bad request: the dashboard cannot answer this callback request. Reload the page."
DISPATCH = "_dash-update-component"


def bad_callback_request() -> flask.Response:
    """The answer to a callback request that failed: 400 and :data:`BAD_CALLBACK_MESSAGE`, no details."""
    return flask.Response(BAD_CALLBACK_MESSAGE, status=400, mimetype="text/plain")


def register_error_handlers(app: dash.Dash) -> None:
    """Wrap ``app``'s callback dispatch so that no exception escaping it becomes a 500 (see the module docstring)."""
    server = app.server
    endpoint = app.config.routes_pathname_prefix + DISPATCH
    dispatch = server.view_functions[endpoint]

    @functools.wraps(dispatch)
    def guarded_dispatch(*args, **kwargs):
        try:
            return dispatch(*args, **kwargs)
        except (PreventUpdate, HTTPException):
            raise
        except Exception:
            body = flask.request.get_json(silent=True)
            output = body.get("output") if isinstance(body, dict) else None
            LOG.exception("callback request for output %.200r failed; answered 400", output)
            return bad_callback_request()

    server.view_functions[endpoint] = guarded_dispatch
