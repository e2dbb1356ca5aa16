"""`detlens serve` loads its files once: the dataset it loads to check them is handed to the preparation, and a run
prepared before (same files, same options) is not loaded again at all."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from detlens.app.cache import Entry, SharedCache, cache_key
from detlens.app.cli import build_parser, check_runs
from detlens.app.preparation import hand_over, prepare
from detlens.app.queries import Queries
from detlens.app.source import DataSource
from detlens.app.workspace import Workspace
from detlens.core.io import load_dataset
from tests.coco_files import write_coco
from tests.random_coco import random_coco


def coco_source(folder: Path, seed: int) -> DataSource:
    labels, predictions = write_coco(folder, *random_coco(seed, n_images=60))
    return DataSource(str(labels), str(predictions))


def handed(cache: SharedCache, source: DataSource) -> bool:
    return cache_key(Entry.LOADED, source.source_id()) in cache.data


def test_the_preparation_takes_the_dataset_serve_handed_over(tmp_path):
    source = coco_source(tmp_path / "coco", 1)
    cache = SharedCache(tmp_path / "cache")
    planted = dataclasses.replace(load_dataset(source.labels, source.predictions), name="handed over")
    hand_over(cache, source, planted)
    key = prepare(Queries(cache), source)
    assert Queries(cache).dataset(key).name == "handed over"  # not parsed again from the files
    assert not handed(cache, source)  # stored under its fingerprint now, the hand-over deleted


def test_serve_checks_and_hands_over_only_runs_not_prepared(tmp_path):
    prepared, fresh = coco_source(tmp_path / "a", 2), coco_source(tmp_path / "b", 3)
    cache = SharedCache(tmp_path / "cache")
    prepare(Queries(cache), prepared)
    workspace = Workspace.of_runs(prepared, [("a", prepared.predictions), ("b", fresh.predictions)])
    args = build_parser().parse_args(["serve", "--labels", prepared.labels, "--predictions", prepared.predictions])
    runs = workspace.runs
    check_runs(args, tmp_path / "cache", runs)
    assert not handed(cache, runs[0].source)  # prepared before: neither loaded nor handed over
    assert handed(cache, runs[1].source)
    assert load_dataset(runs[1].source.labels, runs[1].source.predictions).fingerprint == \
        cache.data.get(cache_key(Entry.LOADED, runs[1].source.source_id())).fingerprint


def test_a_new_cache_folder_gets_the_hand_over(tmp_path):
    source = coco_source(tmp_path / "coco", 4)
    args = build_parser().parse_args(["serve", "--labels", source.labels, "--predictions", source.predictions])
    check_runs(args, tmp_path / "new-cache", Workspace.of_runs(source).runs)
    assert handed(SharedCache(tmp_path / "new-cache"), Workspace.of_runs(source).runs[0].source)
