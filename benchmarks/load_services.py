"""The servers of benchmarks/bench_load.py: ``detlens serve``, ``redis-server`` and ``detlens worker``.

Started through the command line as a user would (``detlens user add``,
``detlens serve``, ``detlens worker``), on free loopback ports, each in its own
process group; stopped afterwards together with everything they started.
Also here: which process is which (for RSS per role), and the faults
(SIGKILL of one gunicorn web worker, or of one Celery worker with its pool).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from benchmarks.bench_dashboard import free_port
from tests.services import stop_process_tree

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT_S = 600.0  # a first preparation of the 500k set on a busy 2-core machine
STOP_TIMEOUT_S = 15.0
MB = 2**20


def detlens(*args: str) -> list[str]:
    """The ``detlens`` command of this virtualenv with ``args``."""
    script = Path(sys.executable).with_name("detlens")
    return [str(script), *args] if script.exists() else [sys.executable, "-m", "detlens.app.cli", *args]


@dataclass
class Stack:
    """One configuration's running processes."""

    url: str
    cache: Path
    serve: subprocess.Popen
    workers: list[subprocess.Popen] = field(default_factory=list)  # detlens worker (Celery)
    redis: subprocess.Popen | None = None
    broker: str | None = None
    login: tuple[str, str] | None = None


def add_user(users: Path, name: str, password: str) -> None:
    """``detlens user add --users FILE NAME --password-stdin``."""
    subprocess.run(detlens("user", "add", "--users", str(users), name, "--password-stdin"), input=password + "\n",
                   text=True, check=True, capture_output=True, cwd=ROOT)


def start(command: list[str], log: Path) -> subprocess.Popen:
    """A process in its own session (so nothing it starts is lost track of), logging to ``log``."""
    with open(log, "w") as out:
        return subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def start_redis(folder: Path) -> tuple[subprocess.Popen, str]:
    """``redis-server`` on a free loopback port, nothing saved; returns it and its URL (db 0)."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is missing: sh tests/ensure_redis.sh (as root) installs it")
    port = free_port()
    proc = start([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                  "--dir", str(folder)], folder / "redis.log")
    deadline = time.monotonic() + 30
    while True:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
            conn.sendall(b"PING\r\n")
            if conn.recv(16).startswith(b"+PONG"):
                return proc, f"redis://127.0.0.1:{port}/0"
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"redis-server did not start:\n{(folder / 'redis.log').read_text()[-2000:]}")
        time.sleep(0.1)


@contextlib.contextmanager
def running_stack(folder: Path, data: list[str], cache: Path, manager: str, login: bool = False,
                  web_workers: int | None = None, celery_workers: int = 2):
    """``detlens serve`` on ``data`` (CLI data options) with ``cache``; with ``manager="celery"`` also a
    redis-server and ``celery_workers`` ``detlens worker`` processes (one job at a time each).
    With ``login``, a users file with one user. Yields a :class:`Stack` once the page answers; stops it all after.
    """
    folder.mkdir(parents=True, exist_ok=True)
    serve_args = ["serve", *data, "--cache-dir", str(cache)]
    if web_workers:
        serve_args += ["--workers", str(web_workers)]
    credentials = None
    if login:
        credentials = ("bench", os.urandom(12).hex())
        users = folder / "users"
        users.unlink(missing_ok=True)
        add_user(users, *credentials)
        serve_args += ["--users", str(users)]
    redis, broker, workers, serve = None, None, [], None
    try:
        if manager == "celery":
            redis, broker = start_redis(folder)
            serve_args += ["--broker", broker]
            workers = [start(detlens("worker", "--broker", broker, "--cache-dir", str(cache), "--concurrency", "1"),
                             folder / f"worker{i}.log") for i in range(celery_workers)]
        port = free_port()
        serve = start(detlens(*serve_args, "--port", str(port)), folder / "serve.log")
        stack = Stack(f"http://127.0.0.1:{port}", cache, serve, workers, redis, broker, credentials)
        wait_answering(stack, folder / "serve.log")
        yield stack
    finally:
        for proc in [serve, *workers, redis]:
            if proc is not None:
                stop(proc)


def wait_answering(stack: Stack, log: Path) -> None:
    """Wait until the server answers its front page (or, with login, the login page)."""
    url = stack.url + ("/login" if stack.login else "/")
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        with contextlib.suppress(OSError):
            urllib.request.urlopen(url, timeout=5).read()
            return
        if stack.serve.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"detlens serve did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.3)


def wait_prepared(stack: Stack, source, warmed: bool = False) -> float:
    """Wait until ``source`` (a ``DataSource``) is prepared in the stack's cache (and, with ``warmed``, every
    IoU threshold and minimum confidence pre-computed); returns the seconds waited."""
    from detlens.app.cache import SharedCache
    from detlens.app.preparation import is_warmed
    from detlens.app.source import read_status

    t0, deadline = time.monotonic(), time.monotonic() + START_TIMEOUT_S
    shared = SharedCache(stack.cache)
    while True:
        status = read_status(shared, source.source_id())
        if status.state == "ready" and (not warmed or is_warmed(shared, status.key)):
            return time.monotonic() - t0
        if status.state == "error" or stack.serve.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the data were not prepared: {status.state} {status.text}")
        time.sleep(0.5)


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM ``proc`` (SIGKILL after ``STOP_TIMEOUT_S``), then SIGKILL whatever it started that is left."""
    stop_process_tree(proc, STOP_TIMEOUT_S)


# ----- which process is which ---------------------------------------------------------------------
def roles(stack: Stack) -> dict[int, str]:
    """``{pid: role}`` of every process of the stack right now.

    Roles: ``master`` (``detlens serve``: gunicorn's arbiter), ``web worker``
    (its forked workers), ``job`` (background jobs forked by a web worker),
    ``preparation`` (the data preparation and what it started, on either
    manager), ``helper`` (multiprocessing's resource tracker), ``celery worker``
    (``detlens worker``), ``celery pool`` (its processes running jobs), ``redis``.
    """
    found: dict[int, str] = {}

    def under(pid: int, role: str, below: str) -> None:
        with contextlib.suppress(psutil.NoSuchProcess):
            found[pid] = role
            for child in psutil.Process(pid).children():
                with contextlib.suppress(psutil.NoSuchProcess):
                    command = " ".join(child.cmdline())
                    if "multiprocessing" in command or "celery_jobs" in command:
                        under(child.pid, "preparation", "preparation")
                    else:
                        under(child.pid, below, below)

    with contextlib.suppress(psutil.NoSuchProcess):
        found[stack.serve.pid] = "master"
        for child in psutil.Process(stack.serve.pid).children():
            with contextlib.suppress(psutil.NoSuchProcess):
                command = " ".join(child.cmdline())
                if "resource_tracker" in command:
                    found[child.pid] = "helper"
                elif "multiprocessing" in command:
                    under(child.pid, "preparation", "preparation")
                else:
                    under(child.pid, "web worker", "job")
    for worker in stack.workers:
        under(worker.pid, "celery worker", "celery pool")
    if stack.redis is not None:
        found[stack.redis.pid] = "redis"
    return found


def rss_by_role(stack: Stack) -> dict[str, dict]:
    """``{role: {"count", "mb", "max_mb", "pss_mb"}}`` of the stack's processes, plus ``"total"``.

    ``mb`` sums RSS, which counts the pages forked processes share once per
    process; ``pss_mb`` sums PSS (shared pages divided among their sharers),
    the memory the processes really take together.
    """
    table: dict[str, dict] = {}
    for pid, role in roles(stack).items():
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            memory = psutil.Process(pid).memory_full_info()
            row = table.setdefault(role, {"count": 0, "mb": 0.0, "max_mb": 0.0, "pss_mb": 0.0})
            row["count"] += 1
            row["mb"] += memory.rss / MB
            row["max_mb"] = max(row["max_mb"], memory.rss / MB)
            row["pss_mb"] += memory.pss / MB
    table["total"] = {key: (max if key == "max_mb" else sum)([r[key] for r in table.values()] or [0])
                      for key in ("count", "mb", "max_mb", "pss_mb")}
    return {role: {k: round(v, 1) for k, v in row.items()} for role, row in table.items()}


def cpu_seconds(stack: Stack) -> float:
    """CPU seconds (user + system) the stack's processes have used so far, ended jobs included.

    Ended jobs count through their parent's ``children_*`` times once reaped;
    the processes alive right now count with their own times.
    """
    total = 0.0
    for pid in roles(stack):
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            times = psutil.Process(pid).cpu_times()
            total += times.user + times.system + times.children_user + times.children_system
    return total


class RssSampler(threading.Thread):
    """Samples :func:`rss_by_role` every ``every_s`` seconds until :meth:`stop`; keeps the peak total."""

    def __init__(self, stack: Stack, every_s: float = 2.0):
        super().__init__(daemon=True)
        self.stack, self.every_s = stack, every_s
        self.samples: list[tuple[float, dict]] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.samples.append((time.monotonic(), rss_by_role(self.stack)))
            self.done.wait(self.every_s)

    def stop(self) -> None:
        self.done.set()
        self.join()

    def peak(self) -> dict:
        """The sample with the largest total RSS."""
        return max((s for _, s in self.samples), key=lambda s: s["total"]["mb"], default={})


# ----- faults -------------------------------------------------------------------------------------
def kill_web_worker(stack: Stack) -> dict:
    """SIGKILL one gunicorn web worker (a child of the master); returns what was killed, and when."""
    workers = sorted(pid for pid, role in roles(stack).items() if role == "web worker")
    if not workers:
        return {"kind": "web-worker", "error": "no web worker found"}
    pid = workers[0]
    t = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    return {"kind": "web-worker", "t": t, "pid": pid}


def kill_celery_worker(stack: Stack, busy_within_s: float = 10.0) -> dict:
    """SIGKILL one ``detlens worker`` and its pool processes, as when its machine dies.

    Waits (up to ``busy_within_s``) until it runs a task, so the fault hits work
    in flight; its running and reserved tasks are asked just before (Celery's
    inspect), so lost updates can be traced to them. Returns the pids, task ids and the time.
    """
    from detlens.app.celery_jobs import celery_app

    proc = stack.workers[0]
    hostname = f"detlens-{proc.pid}@{socket.gethostname()}"
    inspect = celery_app(stack.broker).control.inspect(destination=[hostname], timeout=1.0)
    deadline = time.monotonic() + busy_within_s
    while True:
        active = (inspect.active() or {}).get(hostname, [])
        if active or time.monotonic() > deadline:
            break
    reserved = (inspect.reserved() or {}).get(hostname, [])
    family = [proc.pid, *(c.pid for c in psutil.Process(proc.pid).children(recursive=True))]
    t = time.monotonic()
    for pid in family:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return {"kind": "celery-worker", "t": t, "pids": family, "hostname": hostname,
            "tasks": sorted({task["id"] for task in active + reserved})}
