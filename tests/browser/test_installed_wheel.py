"""The wheel, installed into a fresh virtualenv, serves the dashboard with no network access.

``tests/test_wheel.py`` builds the wheel (once per session); here it is installed with pip into a new
virtualenv in a temporary folder (dependencies from the configured package index), and the installed
``detlens serve`` is started outside the repository, with nothing of the repository on its path. Headless
Chromium opens the page with every request that would leave this machine blocked: Bootstrap's CSS,
plotly.js and the charts must all come from the installed package.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest

from detlens.layouts import ids
from tests.browser.conftest import ROOT, SERVER_START_TIMEOUT, free_port, screenshot, wait_until_serving
from tests.test_wheel import session_wheel

LOAD_TIMEOUT_S = 120  # first start: writes the demo data set and prepares it (progress bar)
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
INSTALL_TIMEOUT = 900
DRAWN_TRACE = """() => [...document.querySelectorAll('.js-plotly-plot .main-svg .trace')]
    .some(g => { const b = g.getBoundingClientRect(); return b.width > 0 && b.height > 0; })"""
# nothing from the test's own environment may point the installed app at the repository
DROPPED_ENV = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV", "PYTHONSAFEPATH")


def clean_env(venv: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in DROPPED_ENV and not k.startswith("DETLENS_")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONNOUSERSITE"] = "1"
    return env


def log_tail(path: Path, lines: int = 40) -> str:
    """The server log's last lines, without the request lines."""
    kept = [line for line in path.read_text(errors="replace").splitlines() if '"GET /' not in line and '"POST /' not in line]
    return "\n".join(kept[-lines:])


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM to the server's own process group (server, preparation, background jobs), then SIGKILL."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # whatever of the group is still there
    except ProcessLookupError:
        pass
    proc.wait(10)


@pytest.fixture(scope="module")
def installed(tmp_path_factory, chromium_path):
    """A fresh virtualenv (outside the repository) with the wheel installed by pip."""
    wheel = session_wheel(tmp_path_factory)
    home = tmp_path_factory.mktemp("installed-wheel")
    venv = home / "venv"
    start = time.monotonic()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=300)
    # --no-compile: byte-compiling numpy, pandas, scipy, ... would double the install time
    proc = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--no-compile", str(wheel)],
                          cwd=home, env=clean_env(venv), capture_output=True, text=True, timeout=INSTALL_TIMEOUT)
    assert proc.returncode == 0, f"pip install of the wheel failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    seconds = time.monotonic() - start
    print(f"fresh venv + pip install of {wheel.name}: {seconds:.1f} s", file=sys.stderr)
    return SimpleNamespace(home=home, venv=venv, python=venv / "bin" / "python", detlens=venv / "bin" / "detlens",
                           install_seconds=seconds)


@pytest.fixture(scope="module")
def installed_server(installed):
    """The installed ``detlens serve`` on the embedded demo, run from the temporary folder."""
    cache = installed.home / "cache"
    log_path = installed.home / "serve.log"
    port = free_port()
    with open(log_path, "w") as log:
        proc = subprocess.Popen([str(installed.detlens), "serve", "--port", str(port), "--cache-dir", str(cache)],
                                cwd=installed.home, env=clean_env(installed.venv), stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            url = f"http://127.0.0.1:{port}/"
            wait_until_serving(proc, url, log_path, SERVER_START_TIMEOUT, "installed detlens serve")
            yield SimpleNamespace(url=url, proc=proc, log=log_path)
        finally:
            stop(proc)


def test_installed_modules_come_from_the_fresh_venv(installed, installed_server):
    code = ("import detlens.app, detlens.app.server as s, dash; "
            "print(detlens.app.__file__); print(s.ASSETS); print(dash.__file__)")
    out = subprocess.run([str(installed.python), "-c", code], cwd=installed.home, env=clean_env(installed.venv),
                         check=True, capture_output=True, text=True).stdout.split("\n")
    site = Path(subprocess.run([str(installed.python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    app_file, assets, dash_file = (Path(line) for line in out[:3])
    for path in (app_file, assets, dash_file):
        assert path.is_relative_to(site), f"{path} is not under the fresh venv's {site}"
        assert not path.is_relative_to(ROOT), f"{path} comes from the repository"
    assert (assets / "bootstrap.min.css").is_file()
    # the serving process is the venv's console script, and maps nothing (numpy, ...) from the repository's .venv
    cmdline = Path(f"/proc/{installed_server.proc.pid}/cmdline")
    if cmdline.exists():
        argv = cmdline.read_bytes().split(b"\0")
        assert Path(argv[0].decode()).parent == installed.venv / "bin" and argv[1].decode() == str(installed.detlens)
        maps = Path(f"/proc/{installed_server.proc.pid}/maps").read_text()
        assert str(ROOT) not in maps


def test_installed_dashboard_works_offline(page, installed_server):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    requests, blocked = [], []

    def only_loopback(route):
        url = route.request.url
        if urlsplit(url).scheme in ("http", "https", "ws", "wss") and urlsplit(url).hostname not in LOOPBACK:
            blocked.append(url)
            route.abort()
        else:
            route.continue_()

    page.context.route("**/*", only_loopback)
    page.on("request", lambda r: requests.append(r.url))
    page.on("websocket", lambda ws: requests.append(ws.url))
    page.goto(installed_server.url)

    # the demo is written and prepared on first start: wait for the headline numbers, then a drawn chart
    def not_ready(what: str) -> None:
        pytest.fail(f"the installed dashboard shows no {what}; the page says:\n"
                    f"{page.inner_text('body')[:1500]}\n--- serve log:\n{log_tail(installed_server.log)}")

    deadline = time.monotonic() + LOAD_TIMEOUT_S
    while not page.evaluate(f"() => /\\d/.test(document.getElementById('{ids.MAP_VALUE}')?.innerText || '')"):
        if "detlens: error:" in installed_server.log.read_text(errors="replace") or time.monotonic() > deadline:
            not_ready("mAP")  # a failed preparation ends the wait at once
        page.wait_for_timeout(500)
    try:
        page.wait_for_function(DRAWN_TRACE, timeout=30_000)
    except PlaywrightTimeout:
        not_ready("drawn chart")
    assert page.evaluate("() => typeof window.Plotly === 'object' && typeof window.Plotly.newPlot === 'function'")
    assert page.locator(".js-plotly-plot .main-svg").count() >= 1

    bootstrap = page.evaluate("""() => {
        const sheet = [...document.styleSheets].find(s => (s.href || '').split('?')[0].endsWith('/bootstrap.min.css'));
        return sheet ? {href: sheet.href, rules: sheet.cssRules.length} : null;
    }""")
    assert bootstrap is not None and bootstrap["rules"] > 100, bootstrap
    assert urlsplit(bootstrap["href"]).hostname in LOOPBACK
    style = page.evaluate("""() => ({
        card: getComputedStyle(document.querySelector('.card')).borderTopLeftRadius,
        container: getComputedStyle(document.querySelector('.container-fluid')).paddingLeft,
    })""")
    assert style["card"] not in ("", "0px") and style["container"] not in ("", "0px"), style  # only Bootstrap sets them
    screenshot(page, "installed_wheel_offline")

    assert blocked == [], f"requests that left this machine: {blocked}"
    assert requests and all(urlsplit(u).hostname in LOOPBACK for u in requests if not u.startswith(("data:", "blob:")))
    assert page.console_errors == []
