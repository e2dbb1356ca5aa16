"""The preparation computes the geometry-only metric tables in a thread beside the IoU candidates: the same tables
as computed alone; what the thread raises reaches the preparation, which reports it (as any error)."""

from __future__ import annotations

import numpy as np
import pytest

from detlens.app.cache import SharedCache
from detlens.app.preparation import InThread, prepare
from detlens.app.queries import Queries
from detlens.app.source import DataSource
from detlens.core.io import load_dataset
from detlens.core.metrics.tables import compute_metric_tables
from tests.coco_files import write_coco
from tests.random_coco import random_coco


@pytest.fixture
def source(tmp_path) -> DataSource:
    labels, predictions = write_coco(tmp_path / "coco", *random_coco(5, n_images=120))
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

