"""What protects the dashboard's server: login, response headers, host checks and request limits.

:func:`secure_server` applies a :class:`~detlens.app.config.ServeConfig` to the
Flask server of a built app (after every route is registered):

* Login (``config.users_file``): every request needs a session except
  :data:`PUBLIC_PATHS` (the login pages and the login page's stylesheet and
  icon, which say nothing about the data). Without one, a page request (a
  ``GET`` whose ``Accept`` names ``text/html``) is redirected to ``/login``;
  anything else (Dash's requests, images, exports, other assets) gets 401. See
  :mod:`detlens.app.login` for the routes and :mod:`detlens.app.login_limits`
  for the rate limit. The session cookie is ``HttpOnly``, ``SameSite=Lax``, and
  ``Secure`` when the request came over HTTPS (``request.is_secure``: TLS to
  the server itself, or a proxy's ``X-Forwarded-Proto`` when the proxy is
  trusted, see below). It is signed with :func:`secret_key`.
* Proxies: with ``config.trusted_proxies = n``, the last ``n`` proxies'
  ``X-Forwarded-For``, ``-Proto`` and ``-Host`` are believed (werkzeug's
  ``ProxyFix``): the client address the rate limit counts, HTTPS, the host.
  With 0 (the default) these headers are ignored. (gunicorn itself also
  honours ``X-Forwarded-Proto`` from the addresses in its
  ``--forwarded-allow-ips``, by default this machine only.)
* ``config.allowed_hosts``: any other ``Host:`` header is answered 400
  (case and port are ignored; ``.example.org`` also accepts its subdomains).
  Empty accepts any host.
* Headers on every response (pages, assets, images, redirects, errors):
  :data:`SECURITY_HEADERS` and a Content-Security-Policy (:func:`content_security_policy`).
  With login on, ``Cache-Control: public`` becomes ``private``: a shared
  cache must not keep what only users may see.
* Dash's dev tools (hot reload, debugger UI, dev bundles) and Flask's debug
  mode are off whatever ``DASH_*`` or ``FLASK_DEBUG`` variables say.
* No versions: the page's config omits Dash's, plotly's and Python's
  versions and the favicon link its version (the WSGI server's ``Server``
  header is gunicorn's, without a version). The versioned file names Dash
  uses for cache-busting its bundled scripts stay: those files announce their
  versions in their own banners anyway.
* Request bodies larger than :data:`MAX_REQUEST_BYTES` are refused with 413.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
from datetime import timedelta
from pathlib import Path

import dash
import flask
from flask.sessions import SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix

from detlens.app.config import ServeConfig
from detlens.app.login import LOGIN_PATH, LOGOUT_PATH, login_url, register_login, session_user
from detlens.app.login_limits import LoginLimiter
from detlens.app.users import UserDirectory, write_private

MAX_REQUEST_BYTES = 1 * 2**20  # larger request bodies are refused with 413
SESSION_COOKIE = "detlens_session"
SESSION_LIFETIME = timedelta(hours=12)  # renewed by every request: ends after 12 h without one
SECRET_KEY_FILE = "secret_key"
FAVICON = "/_favicon.ico"
PUBLIC_PATHS = frozenset({LOGIN_PATH, LOGOUT_PATH, "/assets/bootstrap.min.css", FAVICON})
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}
VERSION_KEYS = ("dash_version", "dash_version_url", "python_version", "plotly_version", "ddk_version")
DEV_TOOLS_OFF = dict(debug=False, dev_tools_ui=False, dev_tools_props_check=False, dev_tools_serve_dev_bundles=False,
                     dev_tools_hot_reload=False, dev_tools_disable_version_check=True,
                     dev_tools_prune_errors=True, dev_tools_validate_callbacks=False)
_SECRET_PATTERN = re.compile(r"[0-9a-f]{64}")


def check_exposure(config: ServeConfig) -> str | None:
    """Refuse a server others can reach without login; return the warning to print, if any.

    Returns:
        A one-line warning when ``config.insecure_no_auth`` lets a non-loopback
        (or unknown, under a WSGI server) address serve without login; else None.

    Raises:
        ValueError: the address is not loopback, there is no users file and
            ``insecure_no_auth`` is not set (one line saying how to fix it).
    """
    if config.users_file is not None or config.is_loopback:
        return None
    where = config.host or "an address set by the WSGI server"
    if not config.insecure_no_auth:
        raise ValueError(f"refusing to serve {where} without login: add a user with 'detlens user add --users FILE "
                         f"NAME' and pass --users FILE (DETLENS_USERS=FILE), or pass --insecure-no-auth "
                         f"(DETLENS_INSECURE_NO_AUTH=1) to let anyone who can reach it see the data")
    return f"detlens: warning: serving {where} WITHOUT LOGIN: anyone who can reach it sees the data and images"


def secret_key(cache_dir: Path) -> bytes:
    """The session-signing key in ``<cache_dir>/secret_key``: 32 random bytes as hex, made once.

    Every worker process, and the server after a restart, reads the same key. It
    is created under an exclusive lock, readable by its owner only (0600), under
    a temporary name then renamed; a damaged key is replaced by a new one
    (sessions signed with the old one end).
    """
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / SECRET_KEY_FILE
    lock_fd = os.open(cache_dir / f"{SECRET_KEY_FILE}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX)
        try:
            text = path.read_text(encoding="ascii", errors="replace").strip()
        except FileNotFoundError:
            text = ""
        if not _SECRET_PATTERN.fullmatch(text):
            text = os.urandom(32).hex()
            write_private(path, text + "\n")
        return text.encode("ascii")
    finally:
        os.close(lock_fd)  # releases the lock


def content_security_policy(app: dash.Dash) -> str:
    """The Content-Security-Policy of every response: only this server's files and Dash's own inline script.

    Scripts: this origin plus the hashes of the inline scripts Dash writes into
    the page (:meth:`dash.Dash.csp_hashes`); no ``eval``. Styles also allow
    inline ``<style>``: plotly adds its styles that way.
    """
    scripts = " ".join(["'self'", *app.csp_hashes()])
    return ("default-src 'self'; "
            f"script-src {scripts}; "
            "style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data: blob:; "
            "font-src 'self' data:; "
            "connect-src 'self'; "
            "object-src 'none'; "
            "base-uri 'none'; "
            "form-action 'self'; "
            "frame-ancestors 'none'")


class SessionCookies(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, ``Secure`` exactly when the request came over HTTPS."""

    def get_cookie_secure(self, app: flask.Flask) -> bool:
        """``Secure`` for HTTPS requests (including a trusted proxy's), so plain-HTTP loopback use still works."""
        return flask.request.is_secure


def wants_page() -> bool:
    """True for a browser's page navigation (redirected to the login form rather than refused)."""
    request = flask.request
    return request.method in ("GET", "HEAD") and any(kind == "text/html" for kind, _ in request.accept_mimetypes)


def _require_login(users: UserDirectory):
    def gate():
        if flask.request.path in PUBLIC_PATHS or session_user(users) is not None:
            return None
        if wants_page():
            return flask.redirect(login_url(flask.request.full_path.rstrip("?")), 302)
        return flask.Response("login required\n", status=401, mimetype="text/plain")

    return gate


def host_name(host: str) -> str:
    """The name of a ``Host:`` value, lower-case without the port: ``"Dash.org:80"`` -> ``"dash.org"``."""
    host = host.strip().lower()
    if host.startswith("["):  # [IPv6]:port
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0] if ":" in host else host


def host_allowed(host: str, allowed: tuple[str, ...]) -> bool:
    """True when ``host``'s name is one of ``allowed`` (``".example.org"``: it or any subdomain of it)."""
    name = host_name(host)
    return any(name == entry or (entry.startswith(".") and (name.endswith(entry) or name == entry[1:]))
               for entry in (host_name(entry) for entry in allowed))


def _check_host(allowed: tuple[str, ...]):
    def check():
        if not host_allowed(flask.request.host, allowed):
            flask.abort(400)

    return check


def _headers(policy: str, login: bool):
    def add(response: flask.Response) -> flask.Response:
        response.headers.update(SECURITY_HEADERS)
        response.headers["Content-Security-Policy"] = policy
        cache_control = response.headers.get("Cache-Control", "")
        if login and "public" in cache_control:
            response.headers["Cache-Control"] = cache_control.replace("public", "private")
        return response

    return add


def _without_versions(app: dash.Dash) -> None:
    """Drop version fields from the page's ``_dash-config`` and the favicon link (through
    :meth:`dash.Dash.interpolate_index`, Dash's documented hook for the page's HTML)."""
    from plotly.io.json import to_json_plotly

    interpolate = app.interpolate_index

    def interpolate_index(**parts) -> str:
        opening, _, rest = parts["config"].partition(">")
        config = json.loads(rest.rpartition("</script>")[0])
        for key in VERSION_KEYS:
            config.pop(key, None)
        parts["config"] = f"{opening}>{to_json_plotly(config)}</script>"  # escapes "<", ">" and "/"
        parts["favicon"] = f'<link rel="icon" type="image/x-icon" href="{FAVICON}">'
        return interpolate(**parts)

    app.interpolate_index = interpolate_index


def _dev_tools_off(app: dash.Dash) -> None:
    """Dev tools and debug off now, and whenever ``app.run`` asks again (it reads ``DASH_*`` variables)."""

    def enable_dev_tools(*_args, **_kwargs) -> bool:
        return dash.Dash.enable_dev_tools(app, **DEV_TOOLS_OFF)

    enable_dev_tools()
    app.enable_dev_tools = enable_dev_tools
    app.server.debug = False


def secure_server(app: dash.Dash, config: ServeConfig) -> None:
    """Apply ``config``'s protections to ``app``'s Flask server (every route, assets included).

    Call it after every route and callback is registered (the CSP hashes Dash's inline scripts), and
    :func:`check_exposure` before building the app.

    Raises:
        UsersFileError: a bad users file (a ValueError naming the file and line).
    """
    server = app.server
    server.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES
    server.secret_key = secret_key(config.cache_dir)  # also signs Dash's background-callback handles
    _dev_tools_off(app)
    _without_versions(app)
    if config.trusted_proxies:
        n = config.trusted_proxies
        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=n, x_proto=n, x_host=n)
    first = []
    if config.allowed_hosts:
        first.append(_check_host(config.allowed_hosts))
    login = config.users_file is not None
    if login:
        users = UserDirectory.load(config.users_file)
        server.config.update(SESSION_COOKIE_NAME=SESSION_COOKIE, SESSION_COOKIE_HTTPONLY=True,
                             SESSION_COOKIE_SAMESITE="Lax", PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME)
        server.session_interface = SessionCookies()
        register_login(server, users, LoginLimiter(config.cache_dir / "logins"))
        first.append(_require_login(users))
    server.before_request_funcs.setdefault(None, [])[:0] = first  # before Dash's own
    server.after_request(_headers(content_security_policy(app), login))
