"""A damaged cache folder heals itself: every kind of cache file garbled, truncated or deleted, at start and while
running, ends with the right mAP and one log line.

Damage "at start" is done to a cache whose server has stopped (its connections
closed, so SQLite has written everything into ``cache.db``); the server is then
started again over it (:func:`create_app`, then the page's status poll).
Damage "while running" happens between two queries of the same objects. For a
database that is after a checkpoint, as SQLite makes on its own while a server
runs: until then the damaged file's pages are still in its write-ahead log and
nothing is damaged as far as SQLite can tell.
"""

from __future__ import annotations

import functools
import logging
import multiprocessing
import os
import sqlite3
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from detlens.app.cache import DAMAGED, Entry, SharedCache, cache_key
from detlens.app.config import ServeConfig
from detlens.app.jobs import background_manager
from detlens.app.preparation import prepare
from detlens.app.queries import NotPrepared, Queries, ViewParams
from detlens.app.server import create_app
from detlens.app.source import DataSource, remember_source
from detlens.callbacks.shell import poll_preparation
from detlens.core.demo import DemoConfig, write_demo
from detlens.core.evaluation import Evaluator
from detlens.core.io import load_dataset

RECOVERY_TIMEOUT_S = 180  # a re-preparation runs in a spawned process: generous for a slow machine


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> DataSource:
    """A demo without image files, large enough that its match is stored in a value file; every test prepares
    it into a cache of its own."""
    paths = write_demo(tmp_path_factory.mktemp("healing") / "demo", DemoConfig.preset("default", n_images=300),
                       render_images=False)
    return DataSource(str(paths.labels), str(paths.predictions))


@pytest.fixture(scope="module")
def reference_map(source) -> float:
    """The mAP at IoU 0.5 computed from the source files, without any cache."""
    return Evaluator(load_dataset(source.labels, source.predictions)).evaluate(0.5).m_ap


@dataclass
class Server:
    """What a running server holds: its query service and background-callback manager over ``cache_dir``."""

    cache_dir: Path
    queries: Queries
    jobs: object
    key: str

    @classmethod
    def start(cls, cache_dir: Path, source: DataSource, key: str, app: bool = False) -> "Server":
        """Open ``cache_dir`` as the server's query service and job manager; with ``app``, first build the whole
        app over it as ``detlens serve`` does at start."""
        config = ServeConfig(cache_dir=cache_dir, source=source, precompute=False)
        if app:
            create_app(config)
        cache = SharedCache(cache_dir)
        return cls(cache_dir, Queries(cache), background_manager(config, cache), key)

    def close(self) -> None:
        """Close every connection, as a stopped server has (SQLite writes its log into ``cache.db``)."""
        for handle in (self.queries.cache.data, self.queries.cache.results, self.jobs.handle):
            handle.close()


def served_map(queries: Queries, key: str) -> float:
    """The mAP at IoU 0.5 through every cached layer: prepared parts from data/, the match from results/."""
    view = ViewParams.of(key)
    return queries.evaluator(key).evaluate_match(queries.match(view)).m_ap


def job_map(server: Server) -> float:
    """``served_map`` in a real background job: forked, its result stored in callbacks/ and read back."""
    manager, result_key = server.jobs, f"test-{uuid.uuid4().hex}"
    assert not manager.result_ready(result_key)  # the web process polls first, as Dash does
    job_fn = manager.make_job_fn(functools.partial(served_map, server.queries), progress=False)
    job = manager.call_job_fn(result_key, job_fn, [server.key], {})
    deadline = time.monotonic() + RECOVERY_TIMEOUT_S
    while not manager.result_ready(result_key):
        assert time.monotonic() < deadline, "the background job never stored its result"
        time.sleep(0.05)
    return manager.get_result(result_key, job)


def recovered_map(server: Server, source: DataSource) -> float:
    """The mAP the page ends up showing: queries first; when the prepared data are gone, the page's status
    poll (which starts the preparation again) until it shows the dataset, then the queries again."""
    deadline = time.monotonic() + RECOVERY_TIMEOUT_S
    while True:
        try:
            return served_map(server.queries, server.key)
        except NotPrepared:
            pass
        shown = None
        while shown != server.key:
            out = poll_preparation(server.queries, 0, source.source_id())
            assert out["retry_style"] != {"display": "block"}, out["alert"]  # never "died", never an error
            shown = out["data_key"]
            assert time.monotonic() < deadline, "the data were never prepared again"
            time.sleep(0.1)


def garble(path: Path) -> None:
    with open(path, "r+b") as f:
        f.write(os.urandom(path.stat().st_size))


def truncate(path: Path) -> None:
    os.truncate(path, path.stat().st_size // 2)


def delete(path: Path) -> None:
    path.unlink()


def database(folder: str):
    return lambda server: server.cache_dir / folder / "cache.db"


def value_file(folder: str, entry_key):
    """The file holding an entry's value (diskcache stores large values beside its database)."""
    def locate(server: Server) -> Path:
        con = sqlite3.connect(server.cache_dir / folder / "cache.db")
        try:
            ((name,),) = con.execute("SELECT filename FROM Cache WHERE key = ?", (entry_key(server.key),)).fetchall()
        finally:
            con.close()
        assert name is not None, "the value is stored inline, not in a file"
        return server.cache_dir / folder / name
    return locate


FILES = {  # kind: (its folder, where it is)
    "data-db": ("data", database("data")),
    "results-db": ("results", database("results")),
    "callbacks-db": ("callbacks", database("callbacks")),
    "dataset-value": ("data", value_file("data", lambda key: cache_key(Entry.DATASET, key))),
    "match-value": ("results", value_file("results", lambda key: cache_key(Entry.MATCH, ViewParams.of(key)))),
}
DAMAGE = {"garbage": garble, "truncation": truncate, "deletion": delete}


@pytest.fixture
def running(tmp_path, source):
    """A server over a freshly prepared cache that has answered once (match memoised, one job result stored)."""
    cache = SharedCache(tmp_path / "cache")
    remember_source(cache, source, precompute=False)
    key = prepare(Queries(cache), source)
    cache.data.close()
    cache.results.close()
    server = Server.start(tmp_path / "cache", source, key)
    job_map(server)
    yield server
    for process in multiprocessing.active_children():  # a preparation started again by the test
        process.terminate()
        process.join(10)


@pytest.mark.parametrize("damage", DAMAGE)
@pytest.mark.parametrize("kind", FILES)
@pytest.mark.parametrize("moment", ["start", "running"])
def test_a_damaged_cache_file_is_healed(running, source, reference_map, caplog, moment, kind, damage):
    server = running
    folder, locate = FILES[kind]
    target = locate(server)
    if moment == "start":
        server.close()
    elif kind.endswith("-db"):
        con = sqlite3.connect(target)
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        con.close()
    caplog.set_level(logging.WARNING, logger="detlens")
    DAMAGE[damage](target)
    if moment == "start":
        server = Server.start(server.cache_dir, source, server.key, app=True)
    assert recovered_map(server, source) == pytest.approx(reference_map)
    assert job_map(server) == pytest.approx(reference_map)
    logged = [r for r in caplog.records if r.name.startswith("detlens") and r.levelno >= logging.WARNING]
    assert len(logged) == 1, [r.getMessage() for r in logged]
    message = logged[0].getMessage()
    assert str(server.cache_dir / folder) in message
    if kind.endswith("-db") and "moved aside" in message:
        assert any(p.name.startswith(folder + DAMAGED) for p in server.cache_dir.iterdir())
    elif kind.endswith("-db"):  # a folder left with nothing but its database: nothing to keep
        assert damage == "deletion" and "started anew" in message
    else:
        assert "discarded the entry" in message
