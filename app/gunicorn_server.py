"""``detlens serve`` under gunicorn: worker processes, bounded reads, the app built once and forked.

Why gunicorn with single-threaded (sync) workers: background jobs are forked
from the web worker that receives the request, and a fork while another thread
is inside SQLite (diskcache) can deadlock the child. A sync worker has one
thread, so every fork is safe; requests are short (the heavy work runs in the
jobs), so a few workers answer many pages.

Why :class:`BoundedReadWorker`: a sync worker reads a request with blocking
calls, so one client that stops half-way through its request, or trickles it a
byte at a time, would hold the worker until gunicorn's watchdog killed it. Here
the whole request, head and body (at most
:data:`~detlens.app.security.MAX_REQUEST_BYTES`), must arrive within
``REQUEST_DEADLINE_S`` of the connection's acceptance (a per-read timeout alone
restarts with every byte); it is read completely before the app runs, then the
response may take up to ``RESPONSE_TIMEOUT_S`` to send. A client on a link too
slow for that belongs behind a buffering reverse proxy (nginx buffers requests
by default).
"""

from __future__ import annotations

import io
import socket
import sys
import time

from gunicorn import util
from gunicorn.app.base import BaseApplication
from gunicorn.http.errors import NoMoreData
from gunicorn.workers.sync import SyncWorker

from detlens.app.config import ServeConfig
from detlens.app.security import MAX_REQUEST_BYTES

REQUEST_DEADLINE_S = 1.0  # a request (head and body) not received in full within this long is dropped
RESPONSE_TIMEOUT_S = 60.0  # a response (an image, plotly.js) must be taken within this long
WORKER_TIMEOUT_S = 120  # gunicorn's watchdog: a worker silent this long is restarted
GRACEFUL_TIMEOUT_S = 5


class RequestTooSlow(NoMoreData):
    """The request did not arrive in full by its deadline. A :class:`NoMoreData` (a client gone half-way), so
    gunicorn closes the connection with a debug line rather than logging a traceback."""


class DeadlineSocket:
    """A connected socket whose ``recv`` raises :class:`RequestTooSlow` once ``deadline`` (``time.monotonic()``
    seconds) has passed, however the client paces its bytes, until :meth:`respond`; every other attribute
    is the socket's."""

    def __init__(self, sock: socket.socket, deadline: float):
        self.sock, self.deadline = sock, deadline

    def recv(self, size: int) -> bytes:
        if self.deadline is None:  # answering: gunicorn sets its own timeouts (e.g. when draining at close)
            return self.sock.recv(size)
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise RequestTooSlow()
        self.sock.settimeout(remaining)
        try:
            return self.sock.recv(size)
        except socket.timeout:
            raise RequestTooSlow() from None

    def respond(self) -> None:
        """The request is in: from now on sends may take up to ``RESPONSE_TIMEOUT_S``."""
        self.deadline = None
        self.sock.settimeout(RESPONSE_TIMEOUT_S)

    def __getattr__(self, name):
        return getattr(self.sock, name)


class BoundedReadWorker(SyncWorker):
    """gunicorn's sync worker with a deadline for receiving a request, its body buffered before the app runs."""

    def accept(self, listener):
        """Accept a connection whose request must arrive within ``REQUEST_DEADLINE_S``."""
        client, addr = listener.accept()
        client.setblocking(1)
        util.close_on_exec(client)
        self.handle(listener, DeadlineSocket(client, time.monotonic() + REQUEST_DEADLINE_S), addr)

    def handle_request(self, listener, req, client, addr):
        """Read the whole body under the deadline, then answer under the response timeout."""
        length = req.body.reader.length if hasattr(req.body.reader, "length") else None
        if length is None or length <= MAX_REQUEST_BYTES:
            req.body = io.BytesIO(req.body.read(MAX_REQUEST_BYTES + 1))
        else:  # Flask answers 413 from the Content-Length header; the connection is closed after it
            req.body = io.BytesIO(b"")
        client.respond()
        return super().handle_request(listener, req, client, addr)


def forget_inherited_children(server, worker) -> None:
    """A worker inherits the master's record of its children (the preparation); drop it.

    Otherwise multiprocessing, at the worker's exit, tries to join a process that
    is not the worker's child and prints "can only join a child process".
    """
    import multiprocessing.process

    multiprocessing.process._children.clear()


class DashboardServer(BaseApplication):
    """The dashboard of ``config`` served by gunicorn (``run()`` blocks until SIGTERM or Ctrl-C).

    The app is built once in the master (``preload_app``), which also starts
    and supervises the data preparation; workers are forked from it.
    """

    def __init__(self, config: ServeConfig, show_progress: bool = True):
        self.config = config
        self.show_progress = show_progress
        super().__init__()

    def load_config(self) -> None:
        config = self.config
        settings = {
            "bind": f"[{config.host}]:{config.port}" if ":" in config.host else f"{config.host}:{config.port}",
            "workers": config.workers,
            "worker_class": f"{__name__}.BoundedReadWorker",
            "preload_app": True,
            "timeout": WORKER_TIMEOUT_S,
            "graceful_timeout": GRACEFUL_TIMEOUT_S,
            "keepalive": 0,
            "limit_request_line": 8190,
            "limit_request_fields": 100,
            "accesslog": None,
            "errorlog": "-",
            "loglevel": "warning",
            "proc_name": "detlens",
            "when_ready": self._announce,
            "post_fork": forget_inherited_children,
        }
        for key, value in settings.items():
            self.cfg.set(key, value)

    def load(self):
        from detlens.app.server import create_app

        return create_app(self.config, prepare=True, show_progress=self.show_progress).server

    def _announce(self, arbiter) -> None:
        config = self.config
        print(f"detlens: dashboard on http://{config.host}:{config.port}/  ({config.workers} workers; "
              f"Ctrl-C to stop)", file=sys.stderr, flush=True)
