"""core.explorer.errors: each object's TIDE type and confusion cell, and the filter reading them, against hotcoco."""

from __future__ import annotations

import numpy as np
import pytest

from detlens.core.confusion import BACKGROUND, confusion_matrix
from detlens.core.evaluation import Evaluator
from detlens.core.explorer import ERROR_COLUMNS, ExplorerFilter, error_columns, filter_objects, object_table, with_errors
from detlens.core.metrics.tables import compute_metric_tables
from detlens.core.tide import classify_errors
from detlens.core.vocabulary import ErrorType, OutcomeGroup
from tests.coco_files import load_coco, write_coco
from tests.hotcoco_reference import hotcoco_eval
from tests.random_coco import random_coco


@pytest.fixture(scope="module", params=[(0, 0.5), (1, 0.3), (2, 0.75)], ids=lambda p: f"seed{p[0]}-iou{p[1]}")
def case(request, tmp_path_factory):
    seed, iou = request.param
    folder = tmp_path_factory.mktemp(f"explorer-errors-{seed}")
    gt, results = random_coco(seed, crowd_rate=0.15)
    labels, preds = write_coco(folder / "files", gt, results)
    ds = load_coco(folder, gt, results)
    evaluator = Evaluator(ds)
    match = evaluator.match(iou)
    columns = error_columns(ds, classify_errors(evaluator, match), confusion_matrix(evaluator, iou))
    table = with_errors(object_table(ds, match, compute_metric_tables(ds)), columns)
    return iou, hotcoco_eval(labels, preds, iou), table, ds


def test_error_column_counts_are_hotcocos_tide_counts(case):
    iou, ev, table, _ = case
    counts = ev.tide_errors(pos_thr=iou, bg_thr=0.1)["counts"]
    assert {e.value: int((table["error"] == e.value).sum()) for e in ErrorType} == counts
    for error in ErrorType:
        groups = (OutcomeGroup.FN,) if error is ErrorType.MISS else (OutcomeGroup.FP,)
        assert len(filter_objects(table, ExplorerFilter(outcomes=groups, error_types=(error,)))) == counts[error]


def test_every_confusion_cell_keeps_hotcocos_count(case):
    iou, ev, table, _ = case
    theirs = ev.confusion_matrix(iou_thr=iou)
    names = [*theirs["cat_names"], BACKGROUND]
    for r, label in enumerate(names):
        for c, pred in enumerate(names):
            kept = filter_objects(table, ExplorerFilter(outcomes=OutcomeGroup.choices(), confusion=(label, pred)))
            assert len(kept) == theirs["matrix"][r][c]


def test_rows_outside_every_cell_and_type_are_empty(case):
    _, _, table, _ = case
    none = table[(table["confusion_label"] == "") & (table["confusion_pred"] == "")]
    assert ((table["confusion_label"] == "") == (table["confusion_pred"] == "")).all()
    # a label counted by its paired prediction, or a crowd label, sits in no cell
    assert len(none) > 0 and set(table.loc[table["error"] != "", "outcome"]) <= {"FP", "FN"}


def test_filtering_by_error_needs_the_columns(case):
    _, _, table, _ = case
    plain = table.drop(columns=list(ERROR_COLUMNS))
    with pytest.raises(ValueError, match="error columns"):
        filter_objects(plain, ExplorerFilter(error_types=("Cls",)))
    assert len(filter_objects(plain, ExplorerFilter())) == len(filter_objects(table, ExplorerFilter()))


def test_missing_parts_leave_their_columns_empty(case):
    *_, ds = case
    columns = error_columns(ds, None, None)
    assert set(columns) == set(ERROR_COLUMNS)
    assert all(v.shape == (len(ds.predictions) + len(ds.labels),) and (v == "").all() for v in columns.values())


@pytest.mark.parametrize("kwargs", [dict(error_types=("Oops",)), dict(confusion=("a",)), dict(confusion=("a", 1)),
                                    dict(confusion=("a", "b", "c"))])
def test_bad_error_fields_are_refused(kwargs):
    with pytest.raises(ValueError):
        ExplorerFilter(**kwargs)


def test_error_fields_round_trip_and_reset():
    flt = ExplorerFilter(outcomes=("FN",), error_types=("Miss",), confusion=("a", BACKGROUND))
    assert ExplorerFilter.from_dict(flt.to_dict()) == flt and flt.needs_errors
    assert not flt.without("errors").needs_errors and ExplorerFilter.from_dict({}).error_types is None
    assert np.array_equal(flt.to_dict()["confusion"], ["a", BACKGROUND])
