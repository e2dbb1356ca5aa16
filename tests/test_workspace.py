"""Workspaces: the TOML file's checks, ``NAME=PATH`` runs, re-reading on change, and the pickers of a real app.

Server tests build the real dashboard with :func:`create_app` over real files and talk to it with Flask's test
client as Dash's renderer would (:mod:`tests.dash_requests`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from detlens.app.cache import SharedCache
from detlens.app.config import ServeConfig
from detlens.app.preparation import prepare
from detlens.app.queries import Queries
from detlens.app.server import create_app
from detlens.app.source import DataSource
from detlens.app.workspace import LiveWorkspace, Workspace, parse_runs, read_workspace
from detlens.callbacks.shell import NOT_SERVED, poll_preparation, retry_preparation, sync_pickers
from detlens.layouts import ids
from tests.dash_context import call_triggered
from tests.dash_requests import call, layout_values, request_body, request_inputs
from tests.pycoco_reference import pycocotools_per_class
from tests.random_coco import random_coco

GOOD = """
[[datasets]]
name = "first"
labels = "one/labels.json"
[datasets.runs]
A = "one/a.json"
B = "one/b.json"

[[datasets]]
name = "second"
labels = "two/labels.json"
images = "two/images"
format = "coco"
box_format = "xywh"
clip = false
[datasets.runs]
only = "two/run.json"
"""


def write_runs(folder: Path, seed: int) -> tuple[dict, dict[str, list[dict]]]:
    """``labels.json``, ``a.json`` (every prediction) and ``b.json`` (every other one) of a random COCO set in
    ``folder``; returns the ground truth and each run's results."""
    gt, results = random_coco(seed)
    runs = {"a": results, "b": results[::2]}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "labels.json").write_text(json.dumps(gt))
    for name, rows in runs.items():
        (folder / f"{name}.json").write_text(json.dumps(rows))
    return gt, runs


@pytest.fixture
def files(tmp_path) -> Path:
    """A workspace folder with :data:`GOOD` as ``workspace.toml`` and every file it names."""
    write_runs(tmp_path / "one", 3)
    gt, runs = random_coco(5)
    (tmp_path / "two" / "images").mkdir(parents=True)
    (tmp_path / "two" / "labels.json").write_text(json.dumps(gt))
    (tmp_path / "two" / "run.json").write_text(json.dumps(runs))
    (tmp_path / "workspace.toml").write_text(GOOD)
    return tmp_path


def test_a_workspace_file_is_read_with_paths_relative_to_its_folder(files, monkeypatch):
    monkeypatch.chdir("/")  # not the file's folder
    ws = read_workspace(files / "workspace.toml")
    assert ws.dataset_names() == ["first", "second"] and ws.file == files / "workspace.toml"
    first, second = ws.datasets
    assert [run.name for run in first.runs] == ["A", "B"]
    assert first.runs[0].source == DataSource(labels=str(files / "one/labels.json"),
                                              predictions=str(files / "one/a.json"))
    assert second.runs[0].source == DataSource(labels=str(files / "two/labels.json"),
                                               predictions=str(files / "two/run.json"),
                                               images=str(files / "two/images"), fmt="coco", box_format="xywh",
                                               clip=False)
    assert [run.source_id for run in ws.runs] == [run.source.source_id() for run in ws.runs]
    assert ws.first == first.runs[0] and ws.has_choices


def test_workspace_lookups(files):
    ws = read_workspace(files / "workspace.toml")
    a, b = ws.runs_of("first")
    assert ws.run_choices("first") == [{"name": "A", "source": a.source_id}, {"name": "B", "source": b.source_id}]
    assert ws.run("first", "B") == b and ws.run("first", "only") is None and ws.runs_of("nope") == ()
    assert ws.find(b.source_id) == ("first", b)
    for crafted in ("0" * 24, None, 3, ["x"], {"a": 1}, ""):
        assert ws.find(crafted) is None


def bad_cases():
    """``(TOML text, words the one-line error holds)``."""
    runs = '[datasets.runs]\nA = "one/a.json"\n'
    head = '[[datasets]]\nname = "first"\nlabels = "one/labels.json"\n'
    return [
        ("[[datasets]\nname = 1", ["not valid TOML", "line 1"]),
        ('colour = "blue"\n' + head + runs, ["unknown top-level key 'colour'"]),
        ("", ["no datasets"]),
        ("datasets = []", ["no datasets"]),
        ("datasets = [1, 2]", ["no datasets"]),
        (head + 'colour = "blue"\n' + runs, ["dataset 1 ('first')", "unknown key 'colour'"]),
        ('[[datasets]]\nname = "first"\n' + runs, ["dataset 1 ('first')", "'labels' is missing"]),
        ('[[datasets]]\nlabels = "one/labels.json"\n' + runs, ["dataset 1:", "'name' is missing"]),
        (head, ["dataset 1 ('first')", "'runs' is missing"]),
        (head + "runs = {}\n", ["'runs' is empty"]),
        (head + 'runs = "one/a.json"\n', ["'runs' must be a table"]),
        (head + "[datasets.runs]\nA = 3\n", ["run 'A'", "must be a non-empty string"]),
        (head + '[datasets.runs]\nA = "one/missing.json"\n', ["run 'A'", "'one/missing.json' does not exist"]),
        (head.replace("one/labels.json", "nowhere.json") + runs, ["labels", "'nowhere.json' does not exist"]),
        (head + 'images = "one/labels.json"\n' + runs, ["images", "is not a folder"]),
        (head + "name2 = 1\n" + runs, ["unknown key 'name2'"]),
        ('[[datasets]]\nname = 7\nlabels = "one/labels.json"\n' + runs, ["'name' must be a non-empty string"]),
        ('[[datasets]]\nname = " "\nlabels = "one/labels.json"\n' + runs, ["'name' must be a non-empty string"]),
        (head + 'clip = "yes"\n' + runs, ["'clip' must be true or false"]),
        (head + 'format = "json"\n' + runs, ["'format' must be one of auto, coco"]),
        (head + 'box_format = "cxcywh"\n' + runs, ["'box_format' must be one of xyxy, xywh"]),
        (head + runs + head + runs, ["dataset 2 ('first')", "name used by an earlier dataset"]),
        (head + '[datasets.runs]\nA = "one/a.json"\nA = "one/b.json"\n', ["not valid TOML", "line 6"]),
    ]


@pytest.mark.parametrize("text, words", bad_cases())
def test_a_bad_workspace_file_gets_one_line_naming_the_file_entry_and_problem(files, text, words):
    path = files / "bad.toml"
    path.write_text(text)
    with pytest.raises(ValueError) as info:
        read_workspace(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{path}: ")
    for word in words:
        assert word in message, message


@pytest.mark.parametrize("make", [lambda p: None, lambda p: p.write_bytes(b"\xff\xfe[[")])
def test_a_missing_or_undecodable_workspace_file_gets_one_line(tmp_path, make):
    path = tmp_path / "workspace.toml"
    make(path)
    with pytest.raises(ValueError, match=f"^{path}: (cannot read|the workspace file is not UTF-8)"):
        read_workspace(path)


@pytest.mark.parametrize("values, expected", [
    (["runs/a.json"], [("a", "runs/a.json")]),
    (["base=runs/a.json", "runs/b.json"], [("base", "runs/a.json"), ("b", "runs/b.json")]),
    ([" x =p.json"], [("x", "p.json")]),
])
def test_name_equals_path_and_bare_paths_named_after_their_file(values, expected):
    assert parse_runs(values) == expected


@pytest.mark.parametrize("values, words", [
    (["=a.json"], "name before '=' is empty"),
    (["a="], "no file after '='"),
    (["x=a.json", "x=b.json"], "both runs are named 'x'"),
    (["a/p.json", "b/p.json", "c=q.json"], "two runs are named 'p'"),
])
def test_bad_run_names_get_one_line(values, words):
    with pytest.raises(ValueError, match=words):
        parse_runs(values)


def test_serve_takes_runs_and_a_workspace_from_the_command_line(files, tmp_path):
    from detlens.app.cli import build_parser

    args = build_parser().parse_args(["serve", "--labels", str(files / "one/labels.json"), "--predictions",
                                      f"base={files / 'one/a.json'}", "--predictions", str(files / "one/b.json")])
    assert args.predictions == [f"base={files / 'one/a.json'}", str(files / "one/b.json")]
    args = build_parser().parse_args(["serve", "--workspace", str(files / "workspace.toml")])
    assert args.workspace == str(files / "workspace.toml")


def test_the_wsgi_entry_reads_a_workspace(files):
    config = ServeConfig.from_env({"DETLENS_WORKSPACE": str(files / "workspace.toml"), "DETLENS_CACHE_DIR": "/tmp/x"})
    assert config.workspace == read_workspace(files / "workspace.toml")
    with pytest.raises(ValueError, match="DETLENS_WORKSPACE or DETLENS_LABELS"):
        ServeConfig.from_env({"DETLENS_WORKSPACE": str(files / "workspace.toml"), "DETLENS_LABELS": "l",
                              "DETLENS_PREDICTIONS": "p"})
    (files / "workspace.toml").write_text("datasets = 1")
    with pytest.raises(ValueError, match="workspace.toml: no datasets"):
        ServeConfig.from_env({"DETLENS_WORKSPACE": str(files / "workspace.toml")})


def test_one_source_is_a_workspace_of_one_dataset_and_one_run(files):
    source = DataSource(str(files / "one/labels.json"), str(files / "one/a.json"))
    config = ServeConfig(cache_dir=files / "cache", source=source)
    assert config.workspace == Workspace.of_runs(source)
    (dataset,) = config.workspace.datasets
    assert (dataset.name, [r.name for r in dataset.runs]) == ("labels", ["a"])
    assert dataset.runs[0].source == source and not config.workspace.has_choices


def rewrite(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` and move its modification time forward (so a rewrite within the file system's
    time resolution is seen as a change)."""
    path.write_text(text)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))


def test_a_live_workspace_reads_its_file_again_when_it_changes(files):
    path = files / "workspace.toml"
    changes = []
    live = LiveWorkspace(read_workspace(path), on_change=lambda new, old: changes.append((new, old)))
    first = live.current()
    assert live.current() is first and not changes  # unchanged: not read again
    rewrite(path, GOOD.replace('B = "one/b.json"', 'B = "one/b.json"\nC = "one/a.json"'))
    fresh = live.current()
    assert [r.name for r in fresh.runs_of("first")] == ["A", "B", "C"] and changes == [(fresh, first)]
    rewrite(path, "[[datasets]\n")
    assert live.current() is fresh and "workspace.toml: not valid TOML" in live.error
    assert live.current(force=True) is fresh and live.error  # still invalid
    rewrite(path, GOOD)
    assert [r.name for r in live.current().runs_of("first")] == ["A", "B"] and live.error is None


# ----- the pickers and the server ---------------------------------------------------------------------------
@pytest.fixture
def served(files):
    """``(app, workspace, {run name: (ground truth, results, key)})``: the real app over ``files``' workspace
    with the runs of dataset "first" prepared."""
    cache_dir = files / "cache"
    workspace = read_workspace(files / "workspace.toml")
    queries = Queries(SharedCache(cache_dir))
    gt = json.loads((files / "one/labels.json").read_text())
    runs = {}
    for run in workspace.runs_of("first"):
        results = json.loads(Path(run.source.predictions).read_text())
        runs[run.name] = (gt, results, prepare(queries, run.source))
    return create_app(ServeConfig(cache_dir=cache_dir, workspace=workspace)), workspace, runs


def picker_request(app, values: dict, changed: str) -> dict:
    """A request for the pickers' callback with the page's values, ``values`` (``{component id: value}``)
    replacing some, ``changed`` the component id that triggered it."""
    output = next(o for o in app.callback_map if f"{ids.RUNS}.data" in o)
    deps = request_inputs(app, output)
    body = request_body(app, None, [], output, {i: values[d["id"]] for i, d in enumerate(deps) if d["id"] in values})
    prop = next(d["property"] for d in app.callback_map[output]["inputs"] if d["id"] == changed)
    return {**body, "changedPropIds": [f"{changed}.{prop}"]}


def answer(response) -> dict:
    """``{component id: {prop: value}}`` of a callback response."""
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return response.get_json()["response"]


def pycoco_map(gt: dict, results: list[dict]) -> float:
    """pycocotools' mAP at IoU 0.5: the mean AP of the classes with labels."""
    ap = [v[0] for v in pycocotools_per_class(gt, results, 0.5).values() if not np.isnan(v[0])]
    return float(np.mean(ap))


def test_the_page_starts_on_the_first_run_with_both_pickers(served):
    app, workspace, _ = served
    values = layout_values(app)
    assert values[(ids.SOURCE, "data")] == workspace.first.source_id
    assert values[(ids.DATASET_PICKER, "value")] == "first" and values[(ids.RUN_PICKER, "value")] == "A"
    assert [o["value"] for o in values[(ids.DATASET_PICKER, "options")]] == ["first", "second"]
    assert values[(ids.RUNS, "data")] == workspace.run_choices("first")


def test_picking_a_run_shows_its_map_equal_to_pycocotools(served):
    app, workspace, runs = served
    client = app.server.test_client()
    poll = next(o for o in app.callback_map if f"{ids.DATA_KEY}." in o and "status-interval" in o)
    summary = next(o for o in app.callback_map if f"{ids.MAP_VALUE}." in o)
    shown, source = set(), workspace.first.source_id
    for name in ("B", "A"):
        request = picker_request(app, {ids.RUN_PICKER: name, ids.SOURCE: source}, ids.RUN_PICKER)
        source = answer(call(client, request))[ids.SOURCE]["data"]
        assert source == workspace.run("first", name).source_id
        index = [d["id"] for d in request_inputs(app, poll)].index(ids.SOURCE)
        polled = answer(call(client, request_body(app, None, [], poll, {index: source})))
        gt, results, key = runs[name]
        assert polled[ids.DATA_KEY]["data"] == key
        body = request_body(app, key, polled[ids.CLASSES]["value"], summary)
        shown_map = answer(call(client, body))[ids.MAP_VALUE]["children"]
        assert shown_map == f"{pycoco_map(gt, results):.4f}"
        shown.add(shown_map)
    assert len(shown) == 2  # the runs differ


def test_picking_a_dataset_shows_its_runs_and_its_first_run(served):
    app, workspace, _ = served
    client = app.server.test_client()
    picked = answer(call(client, picker_request(app, {ids.DATASET_PICKER: "second"}, ids.DATASET_PICKER)))
    assert picked[ids.RUN_PICKER] == {"options": [{"label": "only", "value": "only"}], "value": "only"}
    assert picked[ids.RUNS]["data"] == workspace.run_choices("second")
    assert picked[ids.SOURCE]["data"] == workspace.run("second", "only").source_id


@pytest.mark.parametrize("crafted", ["0123456789abcdef01234567", "a" * 600, 12, None, ["x"], {"id": 1}])
def test_a_crafted_source_id_is_refused_in_one_line(served, crafted):
    app, _, _ = served
    client = app.server.test_client()
    poll = next(o for o in app.callback_map if f"{ids.DATA_KEY}." in o and "status-interval" in o)
    index = [d["id"] for d in request_inputs(app, poll)].index(ids.SOURCE)
    response = call(client, request_body(app, None, [], poll, {index: crafted}))
    text = answer(response)[ids.SHELL_ALERT]["children"]["props"]["children"]
    assert text in (NOT_SERVED, "The page sent an invalid data source: reload the page.")
    assert answer(response)[ids.DATA_KEY]["data"] is None


def test_retry_and_poll_refuse_a_source_the_cache_knows_but_the_workspace_does_not(served, files):
    app, _, _ = served
    queries = Queries(SharedCache(files / "cache"), workspace=LiveWorkspace(read_workspace(files / "workspace.toml")))
    other = DataSource(str(files / "two/labels.json"), str(files / "one/a.json"))  # prepared nowhere, remembered
    from detlens.app.source import remember_source

    remember_source(queries.cache, other)
    assert "does not show" in str(poll_preparation(queries, 0, other.source_id())["alert"].children)
    with pytest.raises(Exception) as info:
        retry_preparation(queries, 1, other.source_id())
    assert type(info.value).__name__ == "PreventUpdate"
    assert queries.status(other.source_id()).pid is None  # nothing was started


def test_a_run_added_to_the_file_appears_after_the_next_poll(served, files):
    app, workspace, _ = served
    client = app.server.test_client()
    path = files / "workspace.toml"
    rewrite(path, GOOD.replace('B = "one/b.json"', 'B = "one/b.json"\nC = "one/b.json"'))
    picked = answer(call(client, picker_request(app, {}, ids.WORKSPACE_INTERVAL)))
    assert [o["value"] for o in picked[ids.RUN_PICKER]["options"]] == ["A", "B", "C"]
    assert [r["name"] for r in picked[ids.RUNS]["data"]] == ["A", "B", "C"]
    assert ids.SOURCE not in picked  # the page stays on its run


def test_a_reload_with_an_invalid_file_keeps_the_workspace_and_shows_the_error(served, files):
    app, workspace, _ = served
    client = app.server.test_client()
    path = files / "workspace.toml"
    rewrite(path, GOOD.replace('name = "second"', 'name = "first"'))
    picked = answer(call(client, picker_request(app, {ids.WORKSPACE_RELOAD: 1}, ids.WORKSPACE_RELOAD)))
    text = picked[ids.WORKSPACE_ALERT]["children"]["props"]["children"]
    assert "workspace.toml: dataset 2 ('first'): name used by an earlier dataset" in text
    assert str(files) not in text and "\n" not in text
    picked = answer(call(client, picker_request(app, {ids.RUN_PICKER: "B"}, ids.RUN_PICKER)))
    assert picked[ids.SOURCE]["data"] == workspace.run("first", "B").source_id  # the previous workspace


def test_the_pickers_callback_refreshes_nothing_on_an_unchanged_poll(files):
    workspace = read_workspace(files / "workspace.toml")
    queries = Queries(SharedCache(files / "cache"), workspace=LiveWorkspace(workspace))
    options = [{"label": n, "value": n} for n in workspace.dataset_names()]
    from dash.exceptions import PreventUpdate

    with pytest.raises(PreventUpdate):
        call_triggered(sync_pickers, ids.WORKSPACE_INTERVAL, 1, queries, None, "first", "A", options,
                       workspace.run_choices("first"), workspace.first.source_id, prop="n_intervals")
    out = call_triggered(sync_pickers, ids.RUN_PICKER, "B", queries, None, "first", "B", options,
                         workspace.run_choices("first"), workspace.first.source_id, prop="value")
    assert out["source"] == workspace.run("first", "B").source_id


def test_runs_of_one_dataset_share_its_image_and_label_metrics(served, files):
    """The second run takes the first run's frame and label geometry (label-to-label IoUs included) from the
    cache: a value planted in that entry shows up in a run prepared after it, and only there."""
    from detlens.app.cache import Entry, cache_key
    from detlens.core.metrics.tables import compute_metric_tables, shared_metrics_key

    app, workspace, runs = served
    queries = Queries(SharedCache(files / "cache"))
    a, b = (queries.tables(runs[name][2]) for name in ("A", "B"))
    fresh_b = compute_metric_tables(queries.dataset(runs["B"][2]))
    for part in ("frame", "labels"):
        assert getattr(a, part).keys() == getattr(fresh_b, part).keys()
        for name, values in getattr(fresh_b, part).items():
            np.testing.assert_array_equal(getattr(b, part)[name], values, err_msg=name)
            np.testing.assert_array_equal(getattr(a, part)[name], values, err_msg=name)
    ds = queries.dataset(runs["A"][2])
    key = cache_key(Entry.SHARED_METRICS, shared_metrics_key(ds))
    assert shared_metrics_key(queries.dataset(runs["B"][2])) == shared_metrics_key(ds) != ds.fingerprint
    planted = queries.cache.data.get(key)
    planted.labels["Max Overlap (L)"][:] = 0.123
    queries.cache.data.set(key, planted)
    (files / "one/c.json").write_text(json.dumps(runs["B"][1][:-1]))  # a third run: one prediction fewer
    c_key = prepare(queries, DataSource(labels=str(files / "one/labels.json"), predictions=str(files / "one/c.json")))
    c = queries.tables(c_key)
    assert (c.labels["Max Overlap (L)"] == 0.123).all()
    np.testing.assert_array_equal(c.predictions["Max Overlap (P)"], compute_metric_tables(
        queries.dataset(c_key)).predictions["Max Overlap (P)"])


def test_a_new_run_is_prepared_after_the_file_changes(files):
    """The server's on-change hook starts the new run's preparation in the background (and only the new one)."""
    from detlens.app.server import prepare_runs
    from detlens.app.source import read_status

    cache = SharedCache(files / "cache")
    old = read_workspace(files / "workspace.toml")
    (files / "workspace.toml").write_text(GOOD.replace('B = "one/b.json"', 'B = "one/b.json"\nC = "one/c.json"'))
    (files / "one/c.json").write_text((files / "one/b.json").read_text()[:-1] + "]")
    new = read_workspace(files / "workspace.toml")
    config = ServeConfig(cache_dir=files / "cache", workspace=new, precompute=False)
    prepare_runs(config, cache, new, old)
    added = new.run("first", "C").source_id
    status = read_status(cache, added)
    assert status.state in ("waiting", "loading", "ready") and status.pid is not None
    import multiprocessing

    for child in multiprocessing.active_children():
        if child.name == "detlens-prepare":
            child.join(120)
    assert read_status(cache, added).state == "ready"
    assert all(read_status(cache, run.source_id).pid is None for run in old.runs)  # not started again


def test_runs_wait_their_turn_alive_behind_a_long_preparation_and_then_are_prepared(tmp_path):
    """All runs are prepared by one process in order: a run queued behind one that takes long says so, its status
    is kept alive (never mistaken for a dead preparation), and it is prepared once its turn comes."""
    import multiprocessing
    import time

    from detlens.app.preparation import start_preparation
    from detlens.app.source import read_status
    from tests.stuck_source import stuck_source, unblock, wait_for_pixel_workers

    stuck = stuck_source(tmp_path / "demo")
    queued = DataSource(stuck.source.labels, stuck.source.predictions)  # without images: another run
    cache = SharedCache(tmp_path / "cache")
    process = start_preparation(cache, [stuck.source, queued], precompute=False)
    wait_for_pixel_workers(tmp_path / "cache", stuck.source.source_id())
    first = read_status(cache, queued.source_id())
    assert (first.state, first.pid, first.text) == ("waiting", process.pid, "Waiting: 1 other run first")
    deadline = time.monotonic() + 60
    while read_status(cache, queued.source_id()).heartbeat == first.heartbeat:  # renewed, not left to go stale
        assert time.monotonic() < deadline, "the queued run's status was not renewed"
        time.sleep(0.2)
    supervisor = Queries(cache).supervisor
    assert supervisor.status(queued.source_id()).state == "waiting"
    # a pixel worker may be blocked opening the pipe already: our end opened read-write counts as its writer, so
    # closing it gives that worker an end of file (an unreadable image) while later readers find the real image
    held = os.open(stuck.pipe, os.O_RDWR | os.O_NONBLOCK)
    unblock(stuck)
    os.close(held)
    process.join(180)
    assert not process.is_alive()
    multiprocessing.active_children()
    assert [read_status(cache, s.source_id()).state for s in (stuck.source, queued)] == ["ready", "ready"]


@pytest.mark.parametrize("args, words", [
    (["--workspace", "{files}/bad.toml"], ["bad.toml: dataset 1 ('first'): run 'A'", "does not exist"]),
    (["--workspace", "{files}/workspace.toml", "--labels", "{files}/one/labels.json"], ["--workspace, or --labels"]),
    (["--labels", "{files}/one/labels.json", "--predictions", "x={files}/one/a.json", "--predictions",
      "x={files}/one/b.json"], ["both runs are named 'x'"]),
    (["--labels", "{files}/one/labels.json", "--predictions", "x={files}/one/missing.json"], ["missing.json"]),
])
def test_serve_refuses_a_bad_workspace_or_runs_in_one_line(files, args, words):
    import subprocess
    import sys

    (files / "bad.toml").write_text('[[datasets]]\nname = "first"\nlabels = "one/labels.json"\n'
                                    '[datasets.runs]\nA = "one/nope.json"\n')
    proc = subprocess.run([sys.executable, "-m", "detlens.app.cli", "serve", "--cache-dir", str(files / "cache"),
                           *(a.format(files=files) for a in args)], capture_output=True, text=True, timeout=120)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and lines[0].startswith("detlens: error:"), proc.stderr
    for word in words:
        assert word in lines[0], lines[0]
