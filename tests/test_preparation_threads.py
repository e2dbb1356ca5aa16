"""The preparation computes the geometry-only metric tables in a thread beside the IoU candidates, and the default
view's mAP@[.50:.95] in a thread beside its match and ranking: the same values as computed alone; what a thread
raises reaches the preparation, which reports it (as any error)."""

from __future__ import annotations

import numpy as np
import pytest

from detlens.app.cache import Entry, SharedCache, cache_key
from detlens.app.preparation import InThread, prepare
from detlens.app.queries import Queries, ViewParams
from detlens.app.source import DataSource
from detlens.core.io import load_dataset
from detlens.core.metrics.tables import compute_metric_tables
from tests.coco_files import write_coco
from tests.pycoco_reference import pycocotools_stats
from tests.random_coco import random_coco


SET = random_coco(5, n_images=120)


@pytest.fixture
def source(tmp_path) -> DataSource:
    labels, predictions = write_coco(tmp_path / "coco", *SET)
    return DataSource(str(labels), str(predictions))


def test_in_thread_hands_back_the_value_or_the_exception():
    assert InThread(lambda: 41 + 1).result() == 42
    with pytest.raises(ZeroDivisionError):
        InThread(lambda: 1 / 0).result()


def test_tables_prepared_beside_the_candidates_equal_tables_computed_alone(tmp_path, source):
    queries = Queries(SharedCache(tmp_path / "cache"))
    key = prepare(queries, source)
    prepared = queries.tables(key)
    alone = compute_metric_tables(load_dataset(source.labels, source.predictions))
    assert list(prepared.info) == list(alone.info)
    for side in ("frame", "predictions", "labels"):
        ours, theirs = getattr(prepared, side), getattr(alone, side)
        assert ours.keys() == theirs.keys()
        for name in ours:
            np.testing.assert_array_equal(ours[name], theirs[name], err_msg=f"{side} {name}")



def test_the_default_views_map_over_iou_range_is_prepared_beside_it_and_is_pycocotools(tmp_path, source):
    queries = Queries(SharedCache(tmp_path / "cache"))
    key = prepare(queries, source)
    view = ViewParams.of(key, iou=0.5)
    stored = queries.cache.results.get(cache_key(Entry.EVALUATION, ViewParams.of(key, iou=0.0), "ap_by_iou"))
    assert stored is not None and stored == queries.ap_by_iou(view)
    assert abs(queries.map_coco_range(view) - pycocotools_stats(*SET)[0]) <= 1e-12
    assert cache_key(Entry.EVALUATION, view) in queries.cache.results  # the view's own headline, beside it
