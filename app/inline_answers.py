"""A background callback answered in the web process is answered in its first response.

Dash's protocol: the first request of a background callback gets the job's
signed handles, and the page polls with them every interval (100 ms) until the
result is there. When the manager answered in the web process
(:meth:`detlens.app.jobs.BackgroundJobs.call_job_fn`), the result is already
stored as the handles are sent. The first response then carries it too: the
server makes the page's first poll itself, through the whole request pipeline
(login, limits, Dash's checks of the handles), and adds its answer to the
handles. Dash's renderer ends a background callback on any response that holds
``response``, so the page draws at once instead of a poll interval later.

Anything else (a job started, a poll that does not answer or that fails)
leaves the response as Dash wrote it, and the page polls as usual.
"""

from __future__ import annotations

import io
import json
import logging
from urllib.parse import urlencode

import flask

LOG = logging.getLogger("detlens.dashboard")

ANSWERED_HERE = "detlens_answered_here"  # flask.g: the manager answered this request's callback in the web process


def mark_answered_here() -> None:
    """Called by the manager when it answered a callback in this process (no-op outside a request)."""
    if flask.has_request_context():
        setattr(flask.g, ANSWERED_HERE, True)


def _first_poll(server: flask.Flask, handles: dict) -> flask.Response:
    """The page's first poll for ``handles``, made here: this request's headers and body, the handles' query."""
    request = flask.request
    body = request.get_data()
    environ = {k: v for k, v in request.environ.items() if not k.startswith("werkzeug.")}
    environ.update({"QUERY_STRING": urlencode({**request.args, "cacheKey": handles["cacheKey"], "job": handles["job"]}),
                    "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))})
    with server.request_context(environ):
        return server.full_dispatch_request()


def answer_in_first_response(server: flask.Flask) -> None:
    """Register the hook that puts an answer given in the web process into the first response (see the module)."""

    @server.after_request
    def _with_answer(response: flask.Response) -> flask.Response:
        if not flask.g.pop(ANSWERED_HERE, False) or response.status_code != 200:
            return response
        handles = response.get_json(silent=True)
        if not (isinstance(handles, dict) and {"cacheKey", "job"} <= handles.keys()) or "response" in handles:
            return response
        try:
            poll = _first_poll(server, handles)
        except Exception:  # noqa: BLE001 - the page polls as usual; never a 500 for an answer already stored
            LOG.exception("answering a background callback in its first response failed; the page will poll")
            return response
        answer = poll.get_json(silent=True) if poll.status_code == 200 else None
        if not (isinstance(answer, dict) and "response" in answer):
            return response
        response.set_data(json.dumps(handles)[:-1] + ", " + poll.get_data(as_text=True).strip()[1:])
        return response
