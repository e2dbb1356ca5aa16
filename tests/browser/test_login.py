"""Login in a real Chromium against ``detlens serve --users FILE``: redirect, form, dashboard, logout.

The strict Content-Security-Policy is checked here too: a violation is a
console error in Chromium, and the page must draw its charts without one.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from detlens.layouts import ids
from tests.browser.conftest import ROOT, screenshot
from tests.cli_server import detlens_serve

USER, PASSWORD = "alice", "correct horse battery"
LOAD_TIMEOUT_MS = 120_000


@pytest.fixture(scope="module")
def login_server(server):
    """``detlens serve --users FILE`` on the demo the ``server`` fixture prepared (same cache folder)."""
    users = server.cache_dir / "users"
    subprocess.run([sys.executable, "-m", "detlens.app.cli", "user", "add", "--users", str(users), "--password-stdin",
                    USER], input=PASSWORD + "\n", text=True, cwd=ROOT, check=True, capture_output=True)
    with detlens_serve("--cache-dir", server.cache_dir, "--users", users, log=server.cache_dir / "serve-login.log") as url:
        yield url


def test_login_form_opens_the_dashboard_and_logout_closes_it(page, login_server):
    response = page.goto(login_server)
    assert page.url == login_server + "login"
    assert "script-src 'self' 'sha256-" in response.headers["content-security-policy"]
    page.fill("#username", USER)
    page.fill("#password", PASSWORD)
    page.click("#login")
    page.wait_for_function(f"() => /\\d/.test(document.getElementById('{ids.MAP_VALUE}')?.innerText || '')",
                           timeout=LOAD_TIMEOUT_MS)
    page.wait_for_selector(f"#{ids.IMPORTANCE_GRAPH} .bars .point path", timeout=LOAD_TIMEOUT_MS)
    assert page.url == login_server
    screenshot(page, "login_dashboard")
    assert page.console_errors == []  # a CSP violation would be one
    injected = page.evaluate("""() => { const s = document.createElement('script');
        s.textContent = 'window.injectedRan = true'; document.body.appendChild(s); return !!window.injectedRan; }""")
    assert injected is False  # the policy is in force: an inline script the page did not bring does not run
    page.click("a[href='/logout']")
    page.wait_for_url(login_server + "login")
    page.goto(login_server)
    assert page.url == login_server + "login"  # the session is gone


def test_wrong_password_stays_on_the_form(page, login_server):
    page.goto(login_server + "login")
    page.fill("#username", USER)
    page.fill("#password", "not the password")
    page.click("#login")
    page.wait_for_selector(".alert-danger")
    assert "Wrong user name or password" in page.inner_text(".alert-danger")
    assert page.locator(f"#{ids.MAP_VALUE}").count() == 0
