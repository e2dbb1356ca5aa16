"""Scale-out configuration and the preparation lock, against a real redis-server (no browser).

The whole path (web server, Celery worker, browser) is in tests/browser/test_celery.py.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

from detlens.app.celery_jobs import held_on_every_machine
from detlens.app.config import ServeConfig
from tests.browser.conftest import ROOT, free_port
from tests.services import running_redis


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    with running_redis(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory):
    """One cache folder for the CLI cases: the embedded demo is written once."""
    return tmp_path_factory.mktemp("cache")


@pytest.mark.parametrize("environ, expected", [
    ({"DETLENS_BROKER": "redis://queue:6379/0"}, "redis://queue:6379/0"),
    ({"DETLENS_BROKER": ""}, None),
    ({}, None),
])
def test_broker_from_the_environment(environ, expected, tmp_path):
    assert ServeConfig.from_env({"DETLENS_CACHE_DIR": str(tmp_path), **environ}).broker == expected


@pytest.mark.parametrize("args, message", [
    (["worker", "--broker", "http://queue:6379/0"], "broker http://queue:6379/0 is not a Redis URL"),
    (["worker", "--broker", "redis://queue:6379/0", "--concurrency", "0"], "--concurrency must be >= 1, got 0"),
    (["worker", "--broker", "redis://:s3cret@127.0.0.1:{port}/0"], "cannot reach the broker redis://:**@127.0.0.1:"),
    (["serve", "--broker", "amqp://queue//"], "broker amqp://queue// is not a Redis URL"),
    (["serve", "--broker", "redis://:s3cret@127.0.0.1:{port}/0"], "cannot reach the broker redis://:**@127.0.0.1:"),
])
def test_bad_or_unreachable_broker_is_one_line_without_the_password(args, message, shared_cache):
    port = str(free_port())  # nobody listens there
    cmd = [sys.executable, "-m", "detlens.app.cli", *(a.format(port=port) for a in args), "--cache-dir", str(shared_cache)]
    if args[0] == "serve":
        cmd += ["--port", str(free_port())]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if line.startswith("detlens: error:")]
    assert len(errors) == 1 and message in errors[0], done.stderr
    assert "Traceback" not in done.stderr and "s3cret" not in done.stderr


@pytest.mark.parametrize("command", ["worker", "serve"])
def test_broker_without_the_celery_extra_says_how_to_install_it(command, shared_cache):
    # the extra is installed here: hide it from the import system, as in an installation without it
    code = ("import sys; sys.modules['celery'] = None; from detlens.app.cli import main; "
            f"sys.exit(main([{command!r}, '--broker', 'redis://queue:6379/0', '--cache-dir', {str(shared_cache)!r}]))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.startswith("detlens: error: --broker needs the celery extra: pip install 'detlens[celery]'")
    assert "Traceback" not in done.stderr


def test_the_preparation_lock_is_held_by_one_process_and_renewed_while_held(broker):
    import redis

    client = redis.Redis.from_url(broker)
    events, second_waiting = [], threading.Event()

    def second() -> None:
        second_waiting.set()
        with held_on_every_machine(broker, "detlens:prepare:x", expire_s=0.6):
            events.append("second holds")

    with held_on_every_machine(broker, "detlens:prepare:x", expire_s=0.6):
        thread = threading.Thread(target=second)
        thread.start()
        second_waiting.wait()
        time.sleep(1.5)  # longer than expire_s: only the renewal keeps the lock
        assert client.exists("detlens:prepare:x") and events == []
        events.append("first done")
    thread.join(10)
    assert events == ["first done", "second holds"]
    assert not client.exists("detlens:prepare:x")  # released
    client.close()
