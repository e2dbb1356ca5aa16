"""Several pages at once on one ``detlens serve``: every page gets every result, slow clients block nobody."""

from __future__ import annotations

import socket
import threading
import time
import urllib.parse
import urllib.request

import pytest

from detlens.layouts import ids
from tests.browser.conftest import cli_map

PAGES = 10
ROUNDS = 3
PREPARE_TIMEOUT_MS = 300_000  # the demo's first preparation, before the rounds
LOAD_TIMEOUT_MS = 180_000  # ten pages at once on a 2-core machine
MAP_IS = "(v) => document.getElementById('map-value')?.innerText.trim() === v"


def open_pages(browser, count: int):
    """``count`` pages, each in its own browser context (its own cookies, like separate users)."""
    contexts = [browser.new_context(viewport={"width": 1200, "height": 900}) for _ in range(count)]
    return contexts, [c.new_page() for c in contexts]


def step_iou(page, steps: int) -> None:
    thumb = page.locator(f"#{ids.IOU} [role=slider]")
    thumb.focus()
    for _ in range(steps):
        thumb.press("ArrowRight")


@pytest.fixture(scope="module")
def prepared_server(browser, server):
    """The served demo once its preparation is done (the first start renders and measures 300 images)."""
    context, (page,) = open_pages(browser, 1)
    try:
        page.goto(server.url)
        page.wait_for_function("() => /\\d/.test(document.getElementById('map-value')?.innerText || '')",
                               timeout=PREPARE_TIMEOUT_MS)
    finally:
        context[0].close()
    return server


@pytest.mark.parametrize("round_number", range(ROUNDS))
def test_ten_pages_on_the_same_inputs_all_get_their_results(browser, prepared_server, round_number):
    """The same inputs on ten pages give the same result keys: each page must still get its answer."""
    server = prepared_server
    at_50, at_75 = f"{cli_map(server, 0.5):.4f}", f"{cli_map(server, 0.75):.4f}"
    contexts, pages = open_pages(browser, PAGES)
    try:
        for page in pages:  # start every load before waiting for any
            page.goto(server.url, wait_until="commit")
        shown = []
        for page in pages:
            page.wait_for_function(MAP_IS, arg=at_50, timeout=LOAD_TIMEOUT_MS)
            shown.append(page.inner_text(f"#{ids.MAP_VALUE}").strip())
        assert shown == [at_50] * PAGES
        for page in pages:  # the same new threshold on every page at about the same time
            step_iou(page, 5)
        for page in pages:
            page.wait_for_function(MAP_IS, arg=at_75, timeout=LOAD_TIMEOUT_MS)
        assert [p.inner_text(f"#{ids.IOU_VALUE}") for p in pages] == ["IoU ≥ 0.75"] * PAGES
    finally:
        for context in contexts:
            context.close()


def half_sent_request(url: str) -> socket.socket:
    """A connection that sends part of a request's headers and then nothing."""
    parts = urllib.parse.urlsplit(url)
    conn = socket.create_connection((parts.hostname, parts.port))
    conn.sendall(b"GET / HTTP/1.1\r\nHost: " + parts.hostname.encode() + b"\r\nX-Slow: ")
    return conn


class Trickler(threading.Thread):
    """A client that sends half a request, then one more byte every 0.3 s: each byte would restart a
    per-read timeout, so only a deadline for the whole request drops it. Records when it was dropped."""

    def __init__(self, url: str, head: bytes):
        super().__init__(daemon=True)
        self.url, self.head = url, head
        self.dropped_after: float | None = None

    def run(self) -> None:
        conn = half_sent_request(self.url)
        t0 = time.monotonic()
        try:
            conn.sendall(self.head)
            for _ in range(100):  # 30 s at most
                time.sleep(0.3)
                conn.sendall(b"a")
        except OSError:
            self.dropped_after = time.monotonic() - t0
        finally:
            conn.close()


def test_half_sent_requests_do_not_block_other_clients(server):
    """Three clients stall mid-request; others are still answered (within 2 s: see benchmarks/bench_load.py)."""
    stalled = [half_sent_request(server.url) for _ in range(3)]
    try:
        for _ in range(5):
            with urllib.request.urlopen(server.url, timeout=15) as response:
                assert response.status == 200 and b"<html" in response.read().lower()
        for conn in stalled:  # the server dropped them rather than waiting for ever
            conn.settimeout(15)
            assert conn.recv(1024) == b""
    finally:
        for conn in stalled:
            conn.close()


def test_trickling_requests_are_dropped_and_do_not_block_other_clients(server):
    """Three clients (more than the workers) trickle their requests, one a POST body: each is dropped, as the
    whole request must arrive within gunicorn_server.REQUEST_DEADLINE_S, and others are answered meanwhile."""
    body = b"\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"
    tricklers = [Trickler(server.url, b""), Trickler(server.url, body), Trickler(server.url, b"")]
    for trickler in tricklers:
        trickler.start()
    for _ in range(5):
        with urllib.request.urlopen(server.url, timeout=15) as response:
            assert response.status == 200 and b"<html" in response.read().lower()
    for trickler in tricklers:
        trickler.join(timeout=40)
    # well before the 30 s a client keeps trickling (a generous bound for a loaded machine, not a timing target)
    assert all(t.dropped_after is not None and t.dropped_after < 15 for t in tricklers), \
        [t.dropped_after for t in tricklers]
