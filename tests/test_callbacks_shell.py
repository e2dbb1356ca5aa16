"""Unit tests of the shell callbacks and the data store, called as plain functions."""

from __future__ import annotations

import json

import pytest

from detlens.app.datastore import DataSource, DataStore, normalise_params, thin_curve
from detlens.core.demo import DemoConfig, write_demo


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """(store, source, key) for a small demo prepared in a temporary cache folder (env var set)."""
    root = tmp_path_factory.mktemp("shell")
    paths = write_demo(root / "demo", DemoConfig.preset("default", n_images=60), render_images=False)
    source = DataSource(labels=str(paths.labels), predictions=str(paths.predictions))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DETLENS_CACHE_DIR", str(root / "cache"))
        store = DataStore(root / "cache")
        yield store, source, store.prepare(source)


def test_prepare_is_cached_and_reports_ready(prepared):
    store, source, key = prepared
    assert store.prepare(source) == key
    status = store.status(source.source_id())
    assert status["state"] == "ready" and status["key"] == key and status["fraction"] == 1.0
    assert store.is_prepared(key)


def test_prepare_records_a_readable_error(tmp_path):
    bad = tmp_path / "labels.json"
    bad.write_text("{not json")
    store = DataStore(tmp_path / "cache")
    source = DataSource(labels=str(bad), predictions=str(bad))
    with pytest.raises(ValueError):
        store.prepare(source)
    status = store.status(source.source_id())
    assert status["state"] == "error" and status["text"].startswith("Cannot read the dataset")


def test_evaluation_doc_equals_the_evaluator(prepared):
    store, _, key = prepared
    doc = store.evaluation_doc(key, 0.5, None, None)
    direct = store.evaluator(key).evaluate(0.5).to_dict()
    assert doc["mAP"] == direct["mAP"] and doc["counts"] == direct["counts"]
    assert all(len(c["recall"]) <= 200 for c in doc["pr"].values())
    assert len(json.dumps(doc)) < 100_000


def test_params_are_normalised_so_equal_settings_share_a_cache_entry():
    assert normalise_params(0.500000001, ["b", "a"], 0) == (0.5, ["a", "b"], None)


def test_thin_curve_keeps_ends_and_caps_points():
    import numpy as np

    r, p = thin_curve(np.linspace(0, 1, 1000), np.linspace(1, 0, 1000), 50)
    assert len(r) <= 50 and r[0] == 0 and r[-1] == 1 and p[-1] == 0


def test_poll_preparation_before_and_after_ready(prepared):
    from detlens.callbacks.shell import poll_preparation

    store, source, key = prepared
    out = poll_preparation(0, "unknown-source")
    assert out[1] is False and out[2] == {"display": "block"}  # still polling, progress shown
    out = poll_preparation(1, source.source_id())
    data_key, interval_off, _, _, _, _, _, content_style, name, counts, options, value = out
    assert data_key == key and interval_off and content_style == {"display": "block"}
    assert "60 images" in counts and len(options) == len(value) == 4 and name


def test_poll_preparation_shows_an_unreadable_dataset_as_an_alert(tmp_path, monkeypatch):
    from detlens.callbacks.shell import poll_preparation

    monkeypatch.setenv("DETLENS_CACHE_DIR", str(tmp_path))
    DataStore(tmp_path)._set_status("src", "error", 0.0, "Cannot read the dataset: boom")
    out = poll_preparation(0, "src")
    assert out[0] is None and out[1] is True
    assert "Cannot read the dataset: boom" in str(out[6].children)


def test_value_labels():
    from detlens.callbacks.shell import show_iou, show_min_score

    assert show_iou(0.5) == "IoU ≥ 0.50" and show_iou(0.05) == "IoU ≥ 0.05"
    assert show_min_score(0) == "all" and show_min_score(0.3) == "score ≥ 0.30"


def test_a_lock_left_by_a_killed_process_is_taken_over(tmp_path):
    import subprocess

    store = DataStore(tmp_path)
    dead = subprocess.Popen(["true"])
    dead.wait()
    store.data.set("lock/job", dead.pid)
    with store.exclusive("job"):  # would wait for the expiry otherwise
        assert store.data.get("lock/job") != dead.pid
