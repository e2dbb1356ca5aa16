"""A read-only cache folder: one line naming it at start, and a running server that keeps answering.

The programs under test run without the capabilities that let root ignore
permission bits (:func:`tests.read_only.unprivileged`), so ``chmod -w`` stops
them as it stops any user.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from detlens.app.cache import SharedCache
from detlens.app.preparation import prepare
from detlens.app.queries import Queries
from detlens.app.source import DataSource
from detlens.callbacks.shell import READ_ONLY_NOTE
from detlens.core.demo import DemoConfig, write_demo
from detlens.core.evaluation import Evaluator
from detlens.core.io import load_dataset
from tests.read_only import make_writable, read_only, unprivileged

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> DataSource:
    paths = write_demo(tmp_path_factory.mktemp("read-only") / "demo", DemoConfig.preset("default", n_images=300),
                       render_images=False)
    return DataSource(str(paths.labels), str(paths.predictions))


@pytest.fixture
def prepared(tmp_path, source) -> Path:
    """A cache folder in which ``source`` is prepared and a server has run (every folder exists)."""
    from detlens.app.config import ServeConfig
    from detlens.app.jobs import background_manager

    cache = SharedCache(tmp_path / "cache")
    prepare(Queries(cache), source)
    background_manager(ServeConfig(cache_dir=cache.cache_dir, source=source), cache).handle.set("result", 1)
    yield cache.cache_dir
    make_writable(cache.cache_dir)


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          preexec_fn=unprivileged)


@pytest.mark.parametrize("folder", [".", "data", "results", "callbacks"])
def test_serve_on_a_read_only_cache_stops_with_one_line_naming_the_folder(prepared, source, folder):
    with read_only(prepared / folder):
        done = run("-m", "detlens.app.cli", "serve", "--labels", source.labels, "--predictions", source.predictions,
                   "--cache-dir", str(prepared), "--port", "1")
    assert done.returncode == 2, done.stderr
    named = prepared / folder if folder != "." else prepared
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"detlens: error: the cache folder {named} is not writable (")
    assert line.endswith("): make it writable or choose another cache folder")


CREATE_APP = textwrap.dedent("""
    import sys
    from pathlib import Path
    from detlens.app.cache import CacheNotWritable
    from detlens.app.config import ServeConfig
    from detlens.app.server import create_app
    from detlens.app.source import DataSource
    try:
        create_app(ServeConfig(cache_dir=Path(sys.argv[1]), source=DataSource(sys.argv[2], sys.argv[3])))
    except CacheNotWritable as exc:
        print(exc)
""")


def test_create_app_on_a_read_only_cache_raises_a_clear_exception(prepared, source):
    with read_only(prepared):
        done = run("-c", CREATE_APP, str(prepared), source.labels, source.predictions)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (f"the cache folder {prepared} is not writable (Permission denied): make it "
                                   "writable or choose another cache folder")


WHILE_RUNNING = textwrap.dedent("""
    import json, subprocess, sys
    from pathlib import Path
    from detlens.app.cache import SharedCache
    from detlens.app.config import ServeConfig
    from detlens.app.jobs import background_manager
    from detlens.app.queries import Queries, ViewParams
    from detlens.app.source import DataSource
    from detlens.callbacks.shell import poll_preparation

    cache_dir, labels, predictions = sys.argv[1:4]
    source = DataSource(labels, predictions)
    cache = SharedCache(cache_dir)  # the running server's
    queries = Queries(cache)
    jobs = background_manager(ServeConfig(cache_dir=Path(cache_dir), source=source), cache)
    key = poll_preparation(queries, 0, source.source_id())["data_key"]
    subprocess.run(["chmod", "-R", "a-w", cache_dir], check=True)  # made read-only while running
    shown = poll_preparation(queries, 1, source.source_id(), key)
    print(json.dumps({
        "warning": shown["cache_alert"].children,
        "map": queries.evaluation_doc(ViewParams.of(key, iou=0.6))["mAP"],  # computed; its match is not kept
        "job_result_stored": jobs.handle.set("big-result", "x" * 100_000),  # Dash's manager: skipped, no error
        "secret": jobs.get_or_create_signing_secret(lambda: b"new") is not None,
    }))
""")


def test_a_cache_made_read_only_while_running_keeps_answering_with_a_warning(prepared, source):
    done = run("-c", WHILE_RUNNING, str(prepared), source.labels, source.predictions)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["warning"] == READ_ONLY_NOTE
    assert out["map"] == pytest.approx(Evaluator(load_dataset(source.labels, source.predictions)).evaluate(0.6).m_ap)
    assert out["job_result_stored"] is None and out["secret"]
    warnings = [line for line in done.stderr.splitlines() if "read-only" in line]
    assert len(warnings) == 2 and all(str(prepared) in line for line in warnings)  # once per folder written to
