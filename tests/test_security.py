"""The hosted dashboard's protections: login on every route, sessions, rate limit, headers, host check,
dev tools off, no versions; and the CLI's refusals. Apps are built by ``create_app`` and driven with
Flask's test client; the CLI and one real server run as processes."""

from __future__ import annotations

import http.cookiejar
import importlib.metadata
import json
import os
import platform
import re
import stat
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from detlens.app.config import ServeConfig
from detlens.app.login import safe_next
from detlens.app.login_limits import LoginLimiter
from detlens.app.security import PUBLIC_PATHS, secret_key
from detlens.app.server import create_app
from detlens.app.users import add_user
from tests.browser.conftest import free_port
from tests.cli_server import detlens_serve
from tests.test_users import CHEAP

ROOT = Path(__file__).resolve().parents[1]
USER, PASSWORD = "alice", "password1"
HEADERS = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin"}
PAGE = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}  # what a browser's navigation sends
DASH_ENV = {"DASH_DEBUG": "true", "DASH_HOT_RELOAD": "true", "DASH_UI": "true", "DASH_PROPS_CHECK": "true",
            "DASH_SERVE_DEV_BUNDLES": "true", "FLASK_DEBUG": "1"}


def users_file(folder: Path, password: str = PASSWORD) -> Path:
    path = folder / "users"
    add_user(path, USER, password, force=True, cost=CHEAP)
    return path


def build(cache_dir: Path, source, **options):
    return create_app(ServeConfig(cache_dir=cache_dir, source=source, **options))


def log_in(client, password: str = PASSWORD, address: str = "127.0.0.1", **form):
    return client.post("/login", data={"username": USER, "password": password, **form},
                       environ_base={"REMOTE_ADDR": address})


@pytest.fixture(scope="module")
def secured(demo, tmp_path_factory):
    """The app on the prepared demo's cache folder with login on, and the demo."""
    users = users_file(tmp_path_factory.mktemp("users"))
    return build(demo.queries.cache.cache_dir, demo.source, users_file=users), demo


def sample_url(rule, key: str) -> str:
    """A URL matching ``rule`` (an asset that is not public, image 0 of the demo)."""
    values = {"filename": "explorer.css", "package_name": "dash", "path": "somewhere", "key": key, "index": "0",
              "fingerprinted_path": "dash-renderer/build/dash_renderer.min.js", "rest": "x"}
    url = re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: values[m.group(1)], rule.rule)
    return url + "?size=256" if url.endswith("thumb.jpg") else url


def requests(app, key: str):
    """``(method, url)`` of every rule of the app's URL map (GET where allowed, else POST)."""
    for rule in app.server.url_map.iter_rules():
        yield ("GET" if "GET" in rule.methods else "POST"), sample_url(rule, key)


def test_every_route_needs_a_session(secured):
    app, demo = secured
    client = app.server.test_client()
    listed = list(requests(app, demo.key))
    assert len(listed) >= 12  # Dash's routes, the images, login
    wrong = []
    for method, url in listed:
        if url in PUBLIC_PATHS:
            continue
        plain = client.open(url, method=method, json={} if method == "POST" else None)
        page = client.open(url, method=method, headers=PAGE)
        if plain.status_code != 401:
            wrong.append(f"{method} {url}: {plain.status_code} without a session")
        expected_page = (302, "/login") if method == "GET" else (401, None)
        location = page.headers.get("Location", "").split("?")[0] or None
        if (page.status_code, location) != expected_page:
            wrong.append(f"{method} {url} (page): {page.status_code} {location}")
    assert not wrong, "\n".join(wrong)


def test_every_route_works_with_a_session(secured):
    app, demo = secured
    client = app.server.test_client()
    assert log_in(client).status_code == 303
    wrong = []
    for method, url in requests(app, demo.key):
        if url in PUBLIC_PATHS:
            continue  # /logout would end the session
        response = client.open(url, method=method, json={} if method == "POST" else None, headers=PAGE)
        if response.status_code == 401 or response.headers.get("Location", "").startswith("/login"):
            wrong.append(f"{method} {url}: {response.status_code}")
    assert not wrong, "\n".join(wrong)
    for url, kind in (("/", "text/html"), ("/_dash-layout", "application/json"),
                      (f"/images/{demo.key}/0/thumb.jpg?size=256", "image/jpeg"), ("/assets/explorer.css", "text/css")):
        response = client.get(url)
        assert response.status_code == 200 and response.mimetype == kind, url


@pytest.mark.parametrize("url, status", [
    ("/login", 200), ("/assets/bootstrap.min.css", 200), ("/_favicon.ico", 200), ("/logout", 303),
])
def test_public_paths_hold_nothing_about_the_data(secured, url, status):
    app, demo = secured
    response = app.server.test_client().get(url)
    assert response.status_code == status
    body = response.get_data()
    assert demo.key.encode() not in body and b"labels" not in body


def test_page_redirect_returns_to_the_page_after_login(secured):
    app, _ = secured
    client = app.server.test_client()
    redirect = client.get("/some/page?tab=explorer", headers=PAGE)
    assert redirect.status_code == 302 and redirect.headers["Location"] == "/login?next=%2Fsome%2Fpage%3Ftab%3Dexplorer"
    form = client.get(redirect.headers["Location"]).get_data(as_text=True)
    assert 'name="next" value="/some/page?tab=explorer"' in form
    done = log_in(client, next="/some/page?tab=explorer")
    assert done.status_code == 303 and done.headers["Location"] == "/some/page?tab=explorer"


@pytest.mark.parametrize("target, expected", [
    ("/explorer?x=1", "/explorer?x=1"), (None, "/"), ("", "/"), ("//evil.example/x", "/"),
    ("https://evil.example/", "/"), ("/\\evil.example", "/"), ("javascript:alert(1)", "/"),
    ("/login", "/"), ("/logout?x", "/"), ("/a\nb", "/"), ("/" + "a" * 3000, "/"),
])
def test_only_local_paths_are_followed_after_login(target, expected):
    assert safe_next(target) == expected


def test_login_sets_a_session_cookie_with_its_flags_and_logout_ends_it(secured):
    app, _ = secured
    client = app.server.test_client()
    wrong = log_in(client, password="wrong-password")
    assert wrong.status_code == 401 and "Set-Cookie" not in wrong.headers
    assert "Wrong user name or password" in wrong.get_data(as_text=True)
    response = log_in(client)
    assert response.status_code == 303 and response.headers["Location"] == "/"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("detlens_session=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain HTTP (loopback use) must still work
    assert client.get("/").status_code == 200
    out = client.get("/logout")
    assert out.status_code == 303 and out.headers["Location"] == "/login"
    assert client.get("/").status_code == 401


@pytest.mark.parametrize("trusted_proxies, https, forwarded, secure", [
    (0, True, None, True),        # TLS to the server itself
    (0, False, "https", False),   # a proxy header nobody said to trust
    (1, False, "https", True),    # the trusted proxy terminated TLS
    (1, False, None, False),
])
def test_cookie_is_secure_exactly_over_https(demo, tmp_path, trusted_proxies, https, forwarded, secure):
    app = build(tmp_path / "cache", demo.source, users_file=users_file(tmp_path), trusted_proxies=trusted_proxies)
    headers = {"X-Forwarded-Proto": forwarded} if forwarded else {}
    response = app.server.test_client().post("/login", data={"username": USER, "password": PASSWORD},
                                             base_url="https://localhost" if https else "http://localhost",
                                             headers=headers)
    assert response.status_code == 303
    assert ("; Secure" in response.headers["Set-Cookie"]) is secure


def test_sessions_survive_a_restart_and_end_with_a_new_password(demo, tmp_path):
    users = users_file(tmp_path)
    first = build(tmp_path / "cache", demo.source, users_file=users).server.test_client()
    log_in(first)
    cookie = first.get_cookie("detlens_session").value
    restarted = build(tmp_path / "cache", demo.source, users_file=users).server.test_client()
    restarted.set_cookie("detlens_session", cookie)
    assert restarted.get("/_dash-layout").status_code == 200  # the secret key is the cache folder's
    users_file(tmp_path, password="a-new-password")
    renewed = build(tmp_path / "cache", demo.source, users_file=users).server.test_client()
    renewed.set_cookie("detlens_session", cookie)
    assert renewed.get("/_dash-layout").status_code == 401


def test_secret_key_is_made_once_private_and_replaced_when_damaged(tmp_path):
    key = secret_key(tmp_path)
    path = tmp_path / "secret_key"
    assert len(key) == 64 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert secret_key(tmp_path) == key
    path.write_text("damaged")
    renewed = secret_key(tmp_path)
    assert renewed != key and len(renewed) == 64 and secret_key(tmp_path) == renewed


def test_failed_logins_are_limited_across_app_instances(demo, tmp_path):
    users = users_file(tmp_path)
    one, two = (build(tmp_path / "cache", demo.source, users_file=users).server.test_client() for _ in range(2))
    for attempt in range(5):  # five failures from one address, spread over two server processes' apps
        assert log_in(one if attempt % 2 else two, password="wrong-password", address="10.0.0.1").status_code == 401
    limited = log_in(one, address="10.0.0.1")  # even the right password waits
    assert limited.status_code == 429 and 1 <= int(limited.headers["Retry-After"]) <= 60
    assert "try again in" in limited.get_data(as_text=True)
    by_name = log_in(two, address="10.0.0.2")  # the name failed five times too
    assert by_name.status_code == 429
    other = two.post("/login", data={"username": "bob", "password": "x" * 8}, environ_base={"REMOTE_ADDR": "10.0.0.3"})
    assert other.status_code == 401


def test_limit_lifts_after_the_window(tmp_path):
    now = [1000.0]
    limiter = LoginLimiter(tmp_path, max_failures=2, window_s=60, clock=lambda: now[0])
    limiter.record_failure("10.0.0.1", "alice")
    now[0] += 10
    limiter.record_failure("10.0.0.1", "alice")
    assert limiter.retry_after("10.0.0.1", "alice") == 50
    assert limiter.retry_after("10.0.0.9", "bob") == 0
    now[0] += 50
    assert limiter.retry_after("10.0.0.1", "alice") == 0


def test_security_headers_on_every_kind_of_response(secured):
    app, demo = secured
    anonymous, user = app.server.test_client(), app.server.test_client()
    log_in(user)
    responses = {
        "login page": anonymous.get("/login"),
        "redirect to login": anonymous.get("/", headers=PAGE),
        "401": anonymous.get("/_dash-layout"),
        "public asset": anonymous.get("/assets/bootstrap.min.css"),
        "page": user.get("/"),
        "asset": user.get("/assets/explorer.css"),
        "image": user.get(f"/images/{demo.key}/0/thumb.jpg?size=256"),
        "404": user.get(f"/images/{demo.key}/99999/full"),
        "413": user.post("/_dash-update-component", data=b"x" * (2 * 2**20), content_type="application/json"),
    }
    for kind, response in responses.items():
        for name, value in HEADERS.items():
            assert response.headers.get(name) == value, (kind, name)
        policy = response.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in policy and "script-src 'self' 'sha256-" in policy, kind
        assert "unsafe-eval" not in policy and "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    assert responses["404"].status_code == 404 and responses["413"].status_code == 413
    assert responses["image"].headers["Cache-Control"].startswith("private")  # never kept by a shared cache


@pytest.fixture(scope="module")
def host_checked(demo, tmp_path_factory):
    return build(tmp_path_factory.mktemp("hosts"), demo.source, allowed_hosts=("dash.example.org", ".lab.example.net"))


@pytest.mark.parametrize("host, status", [
    ("dash.example.org", 200), ("DASH.example.org:8443", 200), ("a.lab.example.net", 200),
    ("lab.example.net", 200), ("[::1]:8050", 400), ("", 400),
    ("evil.example", 400), ("example.org", 400), ("dash.example.org.evil.example", 400), ("xlab.example.net", 400),
])
def test_other_host_headers_are_refused(host_checked, host, status):
    response = host_checked.server.test_client().get("/_dash-layout", headers={"Host": host})
    assert response.status_code == status
    assert response.headers["X-Frame-Options"] == "DENY"


def test_dash_and_flask_environment_cannot_turn_dev_tools_on(demo, tmp_path, monkeypatch):
    for name, value in DASH_ENV.items():
        monkeypatch.setenv(name, value)
    app = build(tmp_path, demo.source)
    assert app.enable_dev_tools() is False  # what app.run() asks, reading DASH_DEBUG
    config = page_config(app.server.test_client().get("/").get_data(as_text=True))
    assert "hot_reload" not in config and config["ui"] is False and config["props_check"] is False
    assert app.server.debug is False and app._dev_tools.hot_reload is False
    assert ".dev.js" not in app.server.test_client().get("/").get_data(as_text=True)


def page_config(html: str) -> dict:
    """The JSON of the page's ``_dash-config`` script."""
    return json.loads(re.search(r'<script id="_dash-config" type="application/json">(.*?)</script>', html).group(1))


def version_strings() -> list[str]:
    return [sys.version, platform.python_version(), "Python/", "Werkzeug",
            *(importlib.metadata.version(p) for p in ("werkzeug", "flask", "dash", "plotly", "gunicorn"))]


def test_no_version_in_the_page(secured):
    app, _ = secured
    client = app.server.test_client()
    log_in(client)
    html = client.get("/").get_data(as_text=True)
    config = page_config(html)
    assert not {"dash_version", "python_version", "plotly_version", "dash_version_url"} & set(config)
    for text in (html, client.get("/login").get_data(as_text=True), client.get("/images/x/0/full").get_data(as_text=True)):
        found = [v for v in version_strings() if v in text]
        assert not found, found


@pytest.mark.parametrize("env, refused", [
    ({}, True),
    ({"DETLENS_INSECURE_NO_AUTH": "1"}, False),
    ({"DETLENS_USERS": "{users}"}, False),
])
def test_wsgi_configuration_needs_users_or_an_explicit_insecure_flag(demo, tmp_path, env, refused):
    environ = {"DETLENS_CACHE_DIR": str(tmp_path), "DETLENS_LABELS": demo.source.labels,
               "DETLENS_PREDICTIONS": demo.source.predictions,
               **{k: v.format(users=users_file(tmp_path)) for k, v in env.items()}}
    config = ServeConfig.from_env(environ)
    assert not config.is_loopback  # gunicorn's bind address is unknown to the app
    if refused:
        with pytest.raises(ValueError, match="refusing to serve .* without login"):
            create_app(config)
        assert not (tmp_path / "data").exists()  # refused before writing anything
    else:
        assert create_app(config).server is not None


def test_wsgi_entry_refuses_with_one_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DETLENS_")}
    proc = subprocess.run([sys.executable, "-c", "import detlens.app.wsgi"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={**env, "DETLENS_CACHE_DIR": str(tmp_path)})
    assert proc.returncode == 4  # gunicorn's "App failed to load": it stops instead of restarting workers
    assert proc.stderr.startswith("detlens: error: refusing to serve") and proc.stderr.count("\n") == 1


def detlens(*args, stdin: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "detlens.app.cli", *map(str, args)], input=stdin, cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def test_user_add_reads_stdin_writes_0600_and_refuses_an_existing_user(tmp_path):
    path = tmp_path / "users"
    added = detlens("user", "add", "--users", path, "--password-stdin", USER, stdin="first-password\n")
    assert added.returncode == 0, added.stderr
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    from detlens.app.users import UserDirectory

    assert UserDirectory.load(path).verify(USER, "first-password")
    before = path.read_text()
    again = detlens("user", "add", "--users", path, "--password-stdin", USER, stdin="second-password\n")
    assert again.returncode == 2 and again.stderr.count("\n") == 1 and "--force" in again.stderr
    assert path.read_text() == before
    forced = detlens("user", "add", "--users", path, "--password-stdin", "--force", USER, stdin="second-password\n")
    assert forced.returncode == 0 and UserDirectory.load(path).verify(USER, "second-password")


@pytest.mark.parametrize("args, message", [
    (("--host", "0.0.0.0"), "refusing to serve 0.0.0.0 without login"),
    (("--host", "0.0.0.0", "--users", "{missing}"), "users file {missing}: not found"),
    (("--users", "{bad}"), "users file {bad}, line 2: expected 'name:hash'"),
])
def test_serve_refuses_before_binding_with_one_line(tmp_path, args, message):
    files = {"missing": tmp_path / "missing", "bad": tmp_path / "bad"}
    files["bad"].write_text("# users\nalice\n")
    port = free_port()
    proc = detlens("serve", "--port", port, "--cache-dir", tmp_path / "cache",
                   *(a.format(**files) for a in args), timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"detlens: error: {message.format(**files)}") and proc.stderr.count("\n") == 1
    assert not (tmp_path / "cache").exists()  # nothing written, nothing bound


@pytest.fixture(scope="module")
def real_server(demo, tmp_path_factory):
    """``detlens serve --users`` as a process on the small demo, with every DASH_* dev variable set."""
    folder = tmp_path_factory.mktemp("real-server")
    with detlens_serve("--cache-dir", folder / "cache", "--labels", demo.source.labels, "--predictions",
                       demo.source.predictions, "--users", users_file(folder), log=folder / "serve.log",
                       env=DASH_ENV) as url:
        yield url


def test_real_server_needs_login_and_discloses_no_version(real_server):
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(real_server + "_dash-layout", timeout=10)
    assert refused.value.code == 401
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    body = f"username={USER}&password={PASSWORD}".encode()
    page = opener.open(urllib.request.Request(real_server + "login", data=body), timeout=30)
    assert page.status == 200 and page.url == real_server  # followed the 303 to the dashboard
    html = page.read().decode()
    config = page_config(html)
    assert "hot_reload" not in config and config["ui"] is False  # DASH_HOT_RELOAD / DASH_DEBUG had no effect
    server_header = page.headers.get("Server", "")
    found = [v for v in version_strings() if v in server_header + html]
    assert not found and not re.search(r"\d", server_header), (server_header, found)
    assert page.headers["X-Frame-Options"] == "DENY"


def test_insecure_no_auth_serves_with_a_warning(demo, tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "detlens.app.cli", "serve", "--host", "0.0.0.0", "--port",
                             str(free_port()), "--cache-dir", str(tmp_path), "--labels", demo.source.labels,
                             "--predictions", demo.source.predictions, "--insecure-no-auth"],
                            cwd=ROOT, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        first = proc.stderr.readline()
    finally:
        proc.terminate()
        proc.wait(15)
    assert first.startswith("detlens: warning: serving 0.0.0.0 WITHOUT LOGIN")
