"""Browser-test fixtures: a real ``detlens serve`` on the embedded demo and headless Chromium (Playwright).

Chromium comes from Debian (``chromium``); Playwright only drives it (never run
``playwright install``). When either is missing the tests are skipped, except
under ``CI=true`` where that is a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SERVER_START_TIMEOUT = 180


def unavailable(reason: str) -> None:
    """Skip the test, or fail it under ``CI=true`` (a missing browser must not pass CI silently)."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_serving(proc: subprocess.Popen, url: str, log: Path, timeout: float, what: str) -> None:
    """Poll ``url`` until it answers; fail with the log's tail if ``proc`` dies or ``timeout`` s pass."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"{what} did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)


def stop_server(proc: subprocess.Popen, log, wait_s: float = 15) -> None:
    """Stop a server a test started: SIGTERM, then SIGKILL if it has not exited after ``wait_s``; close its log."""
    proc.terminate()
    try:
        proc.wait(wait_s)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def click_until(page, locate, done_js: str, timeout_ms: int, attempts: int = 3) -> None:
    """Click ``locate()`` until ``done_js`` holds in the page.

    A chart can still be redrawing (a later callback) when it first appears; a
    click landing mid-redraw is lost, so click again rather than fail.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for attempt in range(attempts):
        locate().click(force=True)
        try:
            page.wait_for_function(done_js, timeout=timeout_ms // attempts)
            return
        except PlaywrightTimeout:
            if attempt == attempts - 1:
                raise


def cli_map(server, iou: float = 0.5, classes: list[str] | None = None, rule=None) -> float:
    """mAP from ``detlens evaluate --json`` on the served demo data (``rule``: an
    :class:`~detlens.core.ap_rule.APRule` given as ``--ap-method/--match/--pixel-plus-one``; None: the defaults)."""
    out = server.cache_dir / f"eval-{iou}-{'-'.join(classes or [])}-{rule.code.replace(':', '-') if rule else ''}.json"
    cmd = [sys.executable, "-m", "detlens.app.cli", "evaluate", "--labels", str(server.demo / "labels.json"),
           "--predictions", str(server.demo / "predictions.json"), "--iou", str(iou), "--json", str(out)]
    if classes:
        cmd += ["--classes", ",".join(classes)]
    if rule:
        cmd += ["--ap-method", rule.ap_method, "--match", rule.match_method] + (
            ["--pixel-plus-one"] if rule.pixel_plus_one else [])
    subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
    return json.loads(out.read_text())["mAP"]


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Path of the Debian Chromium binary, with Playwright importable."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        unavailable("Chromium is not installed (apt-get install chromium chromium-driver)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        unavailable("playwright is not installed (pip install -e '.[test]')")
    return path


@pytest.fixture(scope="session")
def server(tmp_path_factory, chromium_path):
    """``detlens serve`` on the embedded demo in a fresh cache folder; yields url, cache_dir, demo dir."""
    cache = tmp_path_factory.mktemp("serve-cache")
    port = free_port()
    log = open(cache / "serve.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "detlens.app.cli", "serve", "--port", str(port), "--cache-dir", str(cache)],
                            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    wait_until_serving(proc, url, cache / "serve.log", SERVER_START_TIMEOUT, "detlens serve")
    yield SimpleNamespace(url=url, cache_dir=cache, demo=cache / "demo", log=cache / "serve.log")
    stop_server(proc, log)


@pytest.fixture(scope="session")
def browser(chromium_path):
    """One headless Chromium for the session."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, request):
    """A fresh page whose console errors and uncaught exceptions are collected in ``page.console_errors``."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = ctx.new_page()
    pg.console_errors = []
    pg.on("console", lambda m: pg.console_errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: pg.console_errors.append(f"uncaught: {e}"))
    yield pg
    ctx.close()


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot of what a test checked under ``tests/artifacts/``."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
