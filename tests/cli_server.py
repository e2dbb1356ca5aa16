"""A real ``detlens serve`` process for tests: started on a free port, waited for, stopped afterwards."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from tests.browser.conftest import ROOT, SERVER_START_TIMEOUT, free_port, wait_until_serving


@contextlib.contextmanager
def detlens_serve(*args: str, log: Path, ready_path: str = "login", env: dict | None = None) -> Iterator[str]:
    """``detlens serve --port <free> *args`` logging to ``log``; yields its URL once ``ready_path`` answers.

    ``ready_path``: a path that answers 200 (``login`` when login is on: the page itself is then 401).
    ``env``: variables added to this process's environment.
    """
    port = free_port()
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "detlens.app.cli", "serve", "--port", str(port), *map(str, args)],
                                cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
        url = f"http://127.0.0.1:{port}/"
        try:
            wait_until_serving(proc, url + ready_path, log, SERVER_START_TIMEOUT, "detlens serve")
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
