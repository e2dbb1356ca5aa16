"""Login and logout of ``detlens serve --users FILE``: a server-rendered form and a signed session cookie.

Routes (registered only when login is on):

``GET /login?next=/path``
    The form: fields ``username`` and ``password``; plain HTML with the
    vendored Bootstrap CSS and no script.
``POST /login``
    303 to ``next`` (a local path; anything else goes to ``/``) with a new
    session on success; 401 with the form again on failure; 429 with
    ``Retry-After`` while the client address or the user name is rate-limited
    (see :mod:`detlens.app.login_limits`).
``GET /logout``, ``POST /logout``
    Ends the session; 303 to ``/login``.

The session (Flask's signed cookie; its flags are set in
:mod:`detlens.app.security`) holds the user name and the fingerprint of the
user's password hash (:meth:`~detlens.app.users.UserDirectory.fingerprint`).
"""

from __future__ import annotations

import html
from urllib.parse import urlencode, urlsplit

import flask

from detlens.app.login_limits import LoginLimiter
from detlens.app.users import UserDirectory

LOGIN_PATH = "/login"
LOGOUT_PATH = "/logout"
MAX_NEXT_CHARS = 2000
SHOWN_NAME_CHARS = 64  # of a user name typed into the form, echoed back after a failure

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>detlens: log in</title>
<link rel="icon" type="image/x-icon" href="/_favicon.ico">
<link rel="stylesheet" href="/assets/bootstrap.min.css">
</head>
<body class="bg-light">
<main class="container py-5">
<div class="row justify-content-center"><div class="col-sm-8 col-md-6 col-lg-4">
<h1 class="h4 fw-bold text-primary mb-4">detlens</h1>
{alert}
<form method="post" action="{action}" class="card card-body shadow-sm">
<input type="hidden" name="next" value="{next}">
<div class="mb-3">
<label for="username" class="form-label">User name</label>
<input id="username" name="username" class="form-control" autocomplete="username" autocapitalize="none"
 required autofocus value="{username}">
</div>
<div class="mb-3">
<label for="password" class="form-label">Password</label>
<input id="password" name="password" type="password" class="form-control" autocomplete="current-password" required>
</div>
<button id="login" type="submit" class="btn btn-primary w-100">Log in</button>
</form>
</div></div>
</main>
</body>
</html>
"""


def safe_next(target: str | None) -> str:
    """``target`` when it is a path on this server (not the login pages), else ``/``.

    Only local paths are followed after a login, so a link cannot send a user elsewhere.
    """
    if not target or len(target) > MAX_NEXT_CHARS or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    if not target.isprintable() or "\\" in target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or parts.path in (LOGIN_PATH, LOGOUT_PATH):
        return "/"
    return target


def login_url(next_path: str) -> str:
    """The login page that returns to ``next_path`` afterwards."""
    target = safe_next(next_path)
    return LOGIN_PATH if target == "/" else f"{LOGIN_PATH}?{urlencode({'next': target})}"


def session_user(users: UserDirectory) -> str | None:
    """The user of this request's session, or None (no session, unknown user, or a changed password)."""
    name = flask.session.get("user")
    if not isinstance(name, str):
        return None
    fingerprint = users.fingerprint(name)
    return name if fingerprint is not None and flask.session.get("key") == fingerprint else None


def login_page(message: str = "", status: int = 200, username: str = "", next_path: str = "/") -> flask.Response:
    """The login form (``message``: an alert above it), never cached."""
    alert = f'<div class="alert alert-danger" role="alert">{html.escape(message)}</div>' if message else ""
    body = PAGE.format(alert=alert, action=LOGIN_PATH, next=html.escape(safe_next(next_path)),
                       username=html.escape(username[:SHOWN_NAME_CHARS]))
    response = flask.Response(body, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


def register_login(server: flask.Flask, users: UserDirectory, limiter: LoginLimiter) -> None:
    """Add ``/login`` and ``/logout`` (see the module docstring) to the dashboard's Flask server."""

    def show_form():
        return login_page(next_path=flask.request.args.get("next", "/"))

    def log_in():
        form = flask.request.form
        name, password = form.get("username", ""), form.get("password", "")
        next_path = safe_next(form.get("next"))
        address = flask.request.remote_addr or "unknown"
        wait = limiter.retry_after(address, name)
        if wait:
            response = login_page(f"Too many failed logins: try again in {wait} s.", 429, name, next_path)
            response.headers["Retry-After"] = str(wait)
            return response
        if users.verify(name, password):
            flask.session.clear()
            flask.session.permanent = True
            flask.session["user"] = name
            flask.session["key"] = users.fingerprint(name)
            return flask.redirect(next_path, 303)
        limiter.record_failure(address, name)
        return login_page("Wrong user name or password.", 401, name, next_path)

    def log_out():
        flask.session.clear()
        return flask.redirect(LOGIN_PATH, 303)

    server.add_url_rule(LOGIN_PATH, "detlens_login_form", show_form, methods=["GET"])
    server.add_url_rule(LOGIN_PATH, "detlens_login", log_in, methods=["POST"])
    server.add_url_rule(LOGOUT_PATH, "detlens_logout", log_out, methods=["GET", "POST"])
