"""Real services for tests: a throwaway redis-server, and stopping a process with everything it started.

``redis-server`` comes from Debian (``make test`` installs it, see
tests/ensure_redis.sh); without it the tests that need it skip, except under
``CI=true`` where that is a failure.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from tests.browser.conftest import free_port, unavailable

REDIS_START_TIMEOUT_S = 30


@contextlib.contextmanager
def running_redis(folder: Path) -> Iterator[str]:
    """A ``redis-server`` on a free loopback port working in ``folder`` (nothing saved); yields its URL (db 0)."""
    import redis

    binary = shutil.which("redis-server")
    if binary is None:
        unavailable("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    log = open(folder / "redis.log", "w")
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(folder)], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        client = redis.Redis(port=port)
        deadline = time.monotonic() + REDIS_START_TIMEOUT_S
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start:\n{(folder / 'redis.log').read_text()[-2000:]}")
                time.sleep(0.1)
        client.close()
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        left = stop_process_tree(proc, timeout=10)
        log.close()
        assert not left, f"processes left after redis-server: {left}"


def stop_process_tree(proc: subprocess.Popen, timeout: float) -> list[str]:
    """Terminate ``proc``, kill it after ``timeout`` s; kill whatever it started that outlives it.

    Returns ``"pid name"`` of each process it had started that was still alive
    10 s after it ended (killed by now): a clean stop returns ``[]``.
    """
    import psutil

    try:
        family = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        family = []
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    _, alive = psutil.wait_procs(family, timeout=10)
    left = []
    for child in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            left.append(f"{child.pid} {child.name()}")
            child.kill()
    return left
