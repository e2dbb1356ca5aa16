"""Payloads for benchmarks/bench_load.py, captured from the real page in headless Chromium.

:func:`capture` opens the dashboard once in Debian's Chromium (Playwright drives
it), logging in first when the server asks, and walks through it as a user
would: page load, one IoU step, one minimum-confidence step, the Performance
and Explorer tabs, the Explorer's second page, one outcome checkbox, back to
Metrics. It records every ``/_dash-update-component`` request the renderer
sends (body, query arguments, status, which props the answer updated) and the
scripts and styles the page loads. The result (:class:`Capture`) tells the
simulated sessions of :mod:`load_session`

* how the renderer words each callback's request (``templates``: the first body
  sent for each callback, replayed with each session's own values);
* which callbacks the page calls on its own when it opens (``initial``);
* in which tab each background callback updates its charts (``tabs``: the tab
  shown when its job started). A hidden tab's background callbacks are never
  asked for: their gates run in the browser (``assets/tab_gates.js``), and the
  sessions run them the same way;
* which files a fresh browser fetches (``assets``).
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from benchmarks.bench_dashboard import CHROMIUM_ARGS
from detlens.layouts import ids

DISPATCH = "/_dash-update-component"
STEP_TABS = {"tab_performance": ids.TAB_PERFORMANCE, "tab_explorer": ids.TAB_EXPLORER, "tab_metrics": ids.TAB_METRICS}
SETTLE_QUIET_S = 1.0  # the page has settled when no callback request was pending for this long
SETTLE_TIMEOUT_S = 180.0
DATA_SHOWN = "() => { const e = document.getElementById(%s); return !!e && /\\d/.test(e.innerText); }" % json.dumps(
    ids.MAP_VALUE)


@dataclass
class Capture:
    """What the real page sent (see the module docstring); JSON-ready."""

    templates: dict[str, dict] = field(default_factory=dict)  # callback output -> first request body sent
    initial: list[str] = field(default_factory=list)  # outputs called when the page opens (no changed input)
    dynamic: list[str] = field(default_factory=list)  # outputs called when components with pattern ids appear
    tabs: dict[str, str] = field(default_factory=dict)  # background callback output -> tab where it updates
    poll_args: list[str] = field(default_factory=list)  # query arguments of a background callback's poll
    assets: list[str] = field(default_factory=list)  # paths of the scripts and styles the page loaded
    steps: list[dict] = field(default_factory=list)  # per user step: the requests it caused (for the record)

    def save(self, path: Path) -> None:
        """Write the capture as JSON (for inspection and for ``--capture`` reuse)."""
        path.write_text(json.dumps(asdict(self), indent=1) + "\n")

    @classmethod
    def load(cls, path: Path) -> "Capture":
        """A capture written by :meth:`save`."""
        return cls(**json.loads(path.read_text()))


class Recorder:
    """The page's callback traffic, request by request, and the count of requests still pending."""

    def __init__(self, base: str):
        self.base = base.rstrip("/")
        self.calls: list[dict] = []
        self.assets: list[str] = []
        self.pending = 0
        self.last_change = time.monotonic()
        self.by_request: dict[int, dict] = {}

    def on_request(self, request) -> None:
        if not request.url.startswith(self.base):
            return
        parts = urlsplit(request.url)
        if parts.path == DISPATCH:
            call = {"t": time.monotonic(), "args": dict(parse_qsl(parts.query)), "body": json.loads(request.post_data),
                    "status": None, "updated": None, "handle": None}
            self.calls.append(call)
            self.by_request[id(request)] = call
            self.pending += 1
            self.last_change = time.monotonic()
        elif request.method == "GET" and parts.path.startswith(("/assets/", "/_dash-component-suites/")):
            self.assets.append(parts.path + (f"?{parts.query}" if parts.query else ""))

    def on_response(self, response) -> None:
        call = self.by_request.get(id(response.request))
        if call is None:
            return
        call["status"] = response.status
        if response.status == 200:
            try:
                doc = response.json()
            except Exception:  # noqa: BLE001 - a body Chromium no longer holds (superseded)
                doc = {}
            call["updated"] = sorted(f"{i}.{p}" for i, props in (doc.get("response") or {}).items() for p in props)
            call["handle"] = doc.get("cacheKey")

    def on_done(self, request) -> None:
        if id(request) in self.by_request:
            self.pending -= 1
            self.last_change = time.monotonic()

    def settle(self, page) -> None:
        """Wait until no callback request has been pending for ``SETTLE_QUIET_S``."""
        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        while self.pending or time.monotonic() - self.last_change < SETTLE_QUIET_S:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the page did not settle within {SETTLE_TIMEOUT_S:.0f} s")
            page.wait_for_timeout(100)


def log_in(page, user: str, password: str) -> None:
    """Fill the login form the server redirected to, as a user would."""
    page.fill("#username", user)
    page.fill("#password", password)
    with page.expect_navigation():
        page.click("#login")
    if urlsplit(page.url).path == "/login":
        raise RuntimeError("the capture could not log in (wrong user or password)")


def walk(page, recorder: Recorder) -> list[tuple[str, int]]:
    """The user steps of the capture; returns ``(step name, index of its first request)``."""
    marks = []

    def step(name: str, act) -> None:
        marks.append((name, len(recorder.calls)))
        act()
        recorder.settle(page)

    def press(slider_id: str) -> None:
        thumb = page.locator(f"#{slider_id} [role=slider]")
        thumb.focus()
        thumb.press("ArrowRight")

    def tab(label: str) -> None:
        page.click(f"#{ids.TABS} .nav-link:has-text('{label}')")

    step("iou", lambda: press(ids.IOU))
    step("min_score", lambda: press(ids.MIN_SCORE))
    step("tab_performance", lambda: tab("Performance by metric"))
    step("tab_explorer", lambda: tab("Explorer"))
    second_page = page.locator(f"#{ids.EXPLORER_PAGES} .page-link:text-is('2')")
    if second_page.count():
        step("explorer_page", lambda: second_page.first.click())
    step("explorer_outcomes", lambda: page.locator(f"#{ids.EXPLORER_OUTCOMES} input").first.click())
    step("tab_metrics", lambda: tab("Metrics"))
    return marks


def summarise(recorder: Recorder, marks: list[tuple[str, int]]) -> Capture:
    """The :class:`Capture` of a recorded walk."""
    capture = Capture(assets=list(dict.fromkeys(recorder.assets)))
    tab_at = {}  # cacheKey handle -> the active tab when the job was started
    tab_from = sorted((start, STEP_TABS[name]) for name, start in marks if name in STEP_TABS)
    for index, call in enumerate(recorder.calls):
        body, output = call["body"], call["body"]["output"]
        tab = next((t for start, t in reversed(tab_from) if start <= index), ids.TAB_METRICS)  # the page opens on it
        if "cacheKey" in call["args"]:
            capture.poll_args = capture.poll_args or list(call["args"])
            if call["updated"] and tab_at.get(call["args"]["cacheKey"]) is not None:
                capture.tabs[output] = tab_at[call["args"]["cacheKey"]]
            continue
        if call["handle"]:
            tab_at[call["handle"]] = tab
            if call["updated"]:  # answered in the first response (app/inline_answers.py): no poll
                capture.tabs[output] = tab
        if output not in capture.templates:
            capture.templates[output] = body
            if not body.get("changedPropIds"):
                capture.initial.append(output)
        if output not in capture.dynamic and any(c.startswith("{") for c in body.get("changedPropIds", [])):
            capture.dynamic.append(output)
    bounds = [("load", 0), *marks, ("end", len(recorder.calls))]
    for (name, start), (_, stop) in zip(bounds, bounds[1:]):
        capture.steps.append({"step": name, "requests": [
            {"output": c["body"]["output"][:80], "poll": "cacheKey" in c["args"], "status": c["status"],
             "changed": c["body"].get("changedPropIds"), "updated": c["updated"]} for c in recorder.calls[start:stop]]})
    return capture


def capture(url: str, login: tuple[str, str] | None = None, screenshot: Path | None = None) -> Capture:
    """Walk the dashboard at ``url`` in headless Chromium and return what its renderer sent.

    ``login``: ``(user, password)`` for a server that requires login.
    """
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    recorder = Recorder(url)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            page.on("request", recorder.on_request)
            page.on("response", recorder.on_response)
            page.on("requestfinished", recorder.on_done)
            page.on("requestfailed", recorder.on_done)
            page.goto(url)
            if login is not None:
                log_in(page, *login)
            page.wait_for_function(DATA_SHOWN, timeout=SETTLE_TIMEOUT_S * 1000, polling=100)
            recorder.settle(page)
            marks = walk(page, recorder)
            if screenshot is not None:
                page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    return summarise(recorder, marks)
