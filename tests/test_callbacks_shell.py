"""The shell callbacks, the preparation and the shared cache, called as plain functions."""

from __future__ import annotations

import json

import pytest
from dash import no_update

from detlens.app.cache import SharedCache, cache_key, Entry
from detlens.app.preparation import prepare
from detlens.app.queries import Queries, ViewParams
from detlens.app.source import DataSource, PreparationStatus, read_status, write_status
from detlens.callbacks.shell import poll_preparation, show_iou, show_min_score
from tests.conftest import DEMO_IMAGES


def test_prepare_is_cached_and_reports_ready(demo):
    assert prepare(demo.queries, demo.source) == demo.key
    status = demo.queries.status(demo.source.source_id())
    assert (status.state, status.key, status.fraction) == ("ready", demo.key, 1.0)
    assert demo.queries.is_prepared(demo.key)


def test_prepare_records_a_readable_error(tmp_path):
    bad = tmp_path / "labels.json"
    bad.write_text("{not json")
    queries = Queries(SharedCache(tmp_path / "cache"))
    source = DataSource(labels=str(bad), predictions=str(bad))
    with pytest.raises(ValueError):
        prepare(queries, source)
    status = queries.status(source.source_id())
    assert status.state == "error" and status.text.startswith("Cannot read the dataset")
    assert "\n" not in status.text and str(tmp_path) not in status.text.split(":", 1)[0]


def test_evaluation_doc_equals_the_evaluator(demo):
    doc = demo.queries.evaluation_doc(ViewParams.of(demo.key))
    direct = demo.queries.evaluator(demo.key).evaluate(0.5).to_dict()
    assert doc["mAP"] == direct["mAP"] and doc["counts"] == direct["counts"]
    assert all(len(c["recall"]) <= 200 for c in doc["pr"].values())
    assert len(json.dumps(doc)) < 100_000


@pytest.mark.parametrize("given, canonical", [
    (dict(iou=0.500000001, classes=["b", "a"], min_score=0), dict(iou=0.5, classes=("a", "b"), min_score=None)),
    (dict(iou=0.75, classes=None, min_score=0.30000001), dict(iou=0.75, classes=None, min_score=0.3)),
])
def test_view_params_are_canonical_so_equal_settings_share_a_cache_entry(given, canonical):
    view = ViewParams.of("k", **given)
    assert view == ViewParams("k", **canonical)
    assert cache_key(Entry.EVALUATION, view) == cache_key(Entry.EVALUATION, ViewParams("k", **canonical))


def test_cache_keys_differ_by_entry_parameters_and_code_version(monkeypatch):
    import detlens.app.cache as cache

    view = ViewParams.of("k")
    keys = {cache_key(Entry.EVALUATION, view), cache_key(Entry.RANKING, view),
            cache_key(Entry.EVALUATION, ViewParams.of("k", iou=0.55)), cache_key(Entry.EVALUATION, view, "x")}
    assert len(keys) == 4
    before = cache_key(Entry.EVALUATION, view)
    monkeypatch.setattr(cache, "CODE_VERSION", cache.CODE_VERSION + 1)
    assert cache_key(Entry.EVALUATION, view) != before


def test_selecting_every_class_shares_the_all_classes_view(demo):
    q = demo.queries
    assert q.view(demo.key, list(demo.classes), 0.5, 0).classes is None
    assert q.view(demo.key, [demo.classes[1], demo.classes[0]], 0.5, 0).classes == tuple(sorted(demo.classes[:2]))
    with pytest.raises(ValueError, match="Select at least one class"):
        q.view(demo.key, [], 0.5, 0)


def test_poll_preparation_before_and_after_ready(demo):
    out = poll_preparation(demo.queries, 0, "unknown-source")
    assert out["stop"] is False and out["progress_style"] == {"display": "block"}  # still polling, progress shown
    out = poll_preparation(demo.queries, 1, demo.source.source_id())
    assert out["data_key"] == demo.key and out["stop"] is False and out["content_style"] == {"display": "block"}
    assert out["counts"].startswith(f"{DEMO_IMAGES} images · ") and out["name"] == "demo/labels.json"
    assert [o["value"] for o in out["options"]] == out["classes"] == list(demo.classes)
    again = poll_preparation(demo.queries, 2, demo.source.source_id(), demo.key)  # the page shows it already
    assert {name for name, value in again.items() if value is not no_update} == {"cache_alert"}


def test_poll_preparation_shows_an_unreadable_dataset_as_an_alert(tmp_path):
    queries = Queries(SharedCache(tmp_path))
    write_status(queries.cache, "src", PreparationStatus("error", 0.0, "Cannot read the dataset: boom"))
    assert read_status(queries.cache, "src").state == "error"
    out = poll_preparation(queries, 0, "src")
    assert out["data_key"] is None and out["stop"] is True
    assert "Cannot read the dataset: boom" in str(out["alert"].children)


@pytest.mark.parametrize("fn, value, text", [
    (show_iou, 0.5, "IoU ≥ 0.50"), (show_iou, 0.05, "IoU ≥ 0.05"),
    (show_min_score, 0, "all"), (show_min_score, None, "all"), (show_min_score, 0.3, "score ≥ 0.30"),
])
def test_value_labels(fn, value, text):
    assert fn(value) == text


def test_a_lock_left_by_a_killed_process_is_taken_over(tmp_path):
    import subprocess

    cache = SharedCache(tmp_path)
    dead = subprocess.Popen(["true"])
    dead.wait()
    lock = cache_key(Entry.LOCK, "job")
    cache.data.set(lock, dead.pid)
    with cache.exclusive("job"):  # would wait for the expiry otherwise
        assert cache.data.get(lock) != dead.pid
