"""Scale-out: ``detlens serve --broker`` with a real redis-server and a real ``detlens worker`` (Celery).

The dashboard's background callbacks and the dataset preparation run on the
Celery worker; their results come back through Redis, the prepared data through
the shared cache folder. Everything is started here and stopped afterwards, and
no process may be left behind.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from detlens.layouts import ids
from tests.browser.conftest import (ROOT, SERVER_START_TIMEOUT, cli_map, click_until, free_port, screenshot,
                                    wait_until_serving)
from tests.browser.test_dashboard import TITLE_HAS, UPDATE_TIMEOUT_MS, open_dashboard, shown_map, wait_for_iou
from tests.browser.test_explorer import BUCKET, grid_loaded
from tests.services import running_redis, stop_process_tree

WORKER_START_TIMEOUT_S = 120
PREPARED_TIMEOUT_S = 180
STOP_TIMEOUT_S = 60  # a Celery worker stops after its running jobs (warm shutdown)
PREPARED_LINE = re.compile(r"prepared data source (\w+) as dataset (\w+) in process (\d+) "
                           r"\(started by pool process (\d+) of worker (\d+)\)")
WARMED_LINE = "every IoU threshold of dataset"


def wait_for_log(proc: subprocess.Popen, log: Path, pattern: str, timeout: float, what: str) -> re.Match:
    """Wait until ``log`` has a line matching ``pattern``; fail with its tail if ``proc`` dies or ``timeout`` s pass."""
    deadline = time.monotonic() + timeout
    while True:
        found = re.search(pattern, log.read_text())
        if found:
            return found
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"{what}: no line matching {pattern!r} in {log.name}:\n{log.read_text()[-3000:]}")
        time.sleep(0.3)


def start(cmd: list[str], log: Path) -> subprocess.Popen:
    """``cmd`` in its own session, output to ``log``."""
    with open(log, "w") as out:
        return subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


@pytest.fixture(scope="module")
def stack(tmp_path_factory, chromium_path):
    """redis-server, ``detlens worker`` and ``detlens serve --broker`` on the embedded demo in one cache folder."""
    folder = tmp_path_factory.mktemp("celery")
    cache = folder / "cache"
    with running_redis(folder) as broker:
        procs, left = {}, []
        try:
            procs["worker"] = start([sys.executable, "-m", "detlens.app.cli", "worker", "--broker", broker,
                                     "--cache-dir", str(cache), "--concurrency", "2"], folder / "worker.log")
            wait_for_log(procs["worker"], folder / "worker.log", r"@\S+ ready\.", WORKER_START_TIMEOUT_S,
                         "detlens worker")
            port = free_port()
            procs["serve"] = start([sys.executable, "-m", "detlens.app.cli", "serve", "--broker", broker,
                                    "--cache-dir", str(cache), "--port", str(port)], folder / "serve.log")
            url = f"http://127.0.0.1:{port}/"
            wait_until_serving(procs["serve"], url, folder / "serve.log", SERVER_START_TIMEOUT, "detlens serve --broker")
            yield SimpleNamespace(url=url, cache_dir=cache, demo=cache / "demo", broker=broker, procs=procs,
                                  worker_log=folder / "worker.log", serve_log=folder / "serve.log")
        finally:
            for name in ("serve", "worker"):  # the web server first: it sends the worker jobs
                if name in procs:
                    left += [f"{name}: {p}" for p in stop_process_tree(procs[name], STOP_TIMEOUT_S)]
    assert not left, f"processes left behind: {left}"


@pytest.fixture
def redis_client(stack):
    import redis

    client = redis.Redis.from_url(stack.broker)
    yield client
    client.close()


def test_page_loads_with_the_cli_map_and_an_iou_change_redraws_it(page, stack):
    open_dashboard(page, stack)
    assert shown_map(page) == f"{cli_map(stack):.4f}"
    thumb = page.locator(f"#{ids.IOU} [role=slider]")
    thumb.focus()
    for _ in range(4):  # 0.50 -> 0.70: the demo's mAP changes there
        thumb.press("ArrowRight")
    wait_for_iou(page, "0.70")
    assert shown_map(page) == f"{cli_map(stack, 0.7):.4f}" != f"{cli_map(stack):.4f}"
    screenshot(page, "celery_iou_changes_map")
    assert page.console_errors == []


def test_bucket_click_opens_the_explorer_grid(page, stack):
    open_dashboard(page, stack)
    page.click(f"#{ids.TABS} .nav-link:has-text('Performance by metric')")
    page.wait_for_function(TITLE_HAS, arg=[f"#{ids.PERF_GRAPH}", "TPR and FNR"], timeout=UPDATE_TIMEOUT_MS)
    markers = page.locator(f"#{ids.PERF_GRAPH} .scatterlayer .trace").filter(has=page.locator(".points path"))
    click_until(page, lambda: markers.first.locator(".points path").nth(BUCKET),
                f"() => document.querySelector('#{ids.TABS} .nav-link.active').innerText.includes('Explorer')",
                UPDATE_TIMEOUT_MS)
    grid_loaded(page)
    assert page.locator(f"#{ids.EXPLORER_GRID} .explorer-card").count() >= 1
    screenshot(page, "celery_explorer_grid")
    assert page.console_errors == []


def test_gunicorn_configured_by_the_environment_shares_the_worker(page, stack):
    """A second web server, ``gunicorn detlens.app.wsgi:server`` with ``DETLENS_BROKER``: same worker, same numbers."""
    port = free_port()
    # loopback only (-b 127.0.0.1), which the WSGI entry cannot see: no login, said explicitly
    env = dict(os.environ, DETLENS_BROKER=stack.broker, DETLENS_CACHE_DIR=str(stack.cache_dir),
               DETLENS_INSECURE_NO_AUTH="1")
    log = stack.cache_dir.parent / "gunicorn.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}",
                                 "detlens.app.wsgi:server"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    left = []
    try:
        url = f"http://127.0.0.1:{port}/"
        wait_until_serving(proc, url, log, SERVER_START_TIMEOUT, "gunicorn detlens.app.wsgi:server with a broker")
        open_dashboard(page, SimpleNamespace(url=url))
        assert shown_map(page) == f"{cli_map(stack):.4f}"
        assert "dataset preparation queued for a Celery worker" in log.read_text()
        assert page.console_errors == []
    finally:
        left = stop_process_tree(proc, STOP_TIMEOUT_S)
    assert not left, f"processes left after gunicorn: {left}"


def test_background_results_are_kept_in_redis_not_on_disk(page, stack, redis_client):
    open_dashboard(page, stack)
    # Dash's result keys are sha256 hex digests; their values are the callbacks' outputs as JSON
    results = [k for k in redis_client.keys("*") if re.fullmatch(rb"[0-9a-f]{64}", k)]
    assert results, f"no background-callback result in Redis: {redis_client.keys('*')}"
    for key in results:
        json.loads(redis_client.get(key))
        assert 0 < redis_client.ttl(key)  # shared results expire (JOB_RESULT_EXPIRE_S after their last read)
    assert not (stack.cache_dir / "callbacks").exists()  # the diskcache manager of one host is not used


def test_preparation_ran_in_a_process_of_the_celery_worker(stack):
    import psutil

    from detlens.app.cache import SharedCache
    from detlens.app.queries import Queries
    from detlens.app.source import demo_source

    prepared = wait_for_log(stack.procs["worker"], stack.worker_log, PREPARED_LINE.pattern, PREPARED_TIMEOUT_S,
                            "the Celery worker's preparation")
    source_id, key = prepared.group(1), prepared.group(2)
    pid, pool_process, worker = (int(g) for g in prepared.group(3, 4, 5))
    wait_for_log(stack.procs["worker"], stack.worker_log, WARMED_LINE, PREPARED_TIMEOUT_S, "the IoU warm-up")
    # a pool process of the Celery worker started the preparation; the web server prepared nothing
    assert worker == stack.procs["worker"].pid and len({pid, pool_process, worker}) == 3
    served = {stack.procs["serve"].pid} | {p.pid for p in psutil.Process(stack.procs["serve"].pid).children()}
    assert not served & {pid, pool_process}
    assert "Loading annotations" not in stack.serve_log.read_text()  # the progress of a local preparation
    # the web server reads what the worker prepared from the shared cache folder
    queries = Queries(SharedCache(stack.cache_dir))
    assert source_id == demo_source(queries.cache).source_id()
    status = queries.status(source_id)
    assert (status.state, status.key) == ("ready", key) and queries.is_prepared(key)
