"""The boxes a grid card and the detail view draw: every object of the image, labels first, then predictions by
score, checked against a plain pandas reference on the shared demo."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from detlens.app.explorer_queries import image_boxes, object_box
from detlens.app.queries import ViewParams
from detlens.core.settings import EXPLORER_MAX_OTHER_BOXES, EXPLORER_PAGE_SIZE


def reference_boxes(table, image_index: int, limit: int | None) -> list[dict]:
    rows = table[table["image_index"] == image_index].sort_values(["kind", "score"], ascending=[True, False],
                                                                  kind="stable", na_position="last")
    return [object_box(r) for _, r in (rows if limit is None else rows.head(limit)).iterrows()]


@pytest.fixture(scope="module")
def table(demo):
    return demo.queries.explorer.objects(ViewParams.of(demo.key, iou=0.5))


@pytest.mark.parametrize("limit", [None, 1, 5, 41])
def test_image_boxes_are_every_object_of_the_image_labels_first(table, limit):
    images = np.unique(table["image_index"].to_numpy())
    for image_index in images[:: max(1, len(images) // 12)]:
        assert image_boxes(table, int(image_index), limit) == reference_boxes(table, int(image_index), limit)


def test_an_image_without_objects_has_no_boxes(table):
    assert image_boxes(table, int(table["image_index"].max()) + 1) == []


def test_a_page_card_draws_the_other_objects_of_its_image(demo, table):
    view = ViewParams.of(demo.key, iou=0.5)
    rows = np.arange(min(EXPLORER_PAGE_SIZE, len(table)))
    for card in demo.queries.explorer.page(view, rows, 1, None):
        expected = [b for b in reference_boxes(table, card["image_index"], None) if b["row"] != card["row"]]
        assert card["others"] == expected[:len(card["others"])] and len(card["others"]) == min(len(expected), EXPLORER_MAX_OTHER_BOXES)


@pytest.mark.parametrize("min_score", [0.05, 0.3, 0.75, 0.95])
def test_a_minimum_confidence_table_equals_the_table_built_from_scratch(demo, min_score):
    """The Explorer derives it from the table without a minimum (explorer_queries.objects)."""
    from dataclasses import replace

    from detlens.core.explorer import object_table

    view = ViewParams.of(demo.key, iou=0.5, min_score=min_score)
    ev = demo.queries.evaluator(demo.key)
    scratch = ev.match(0.5, min_score=min_score)
    expected = object_table(ev.dataset, scratch, demo.queries.tables(demo.key))
    derived = demo.queries.explorer.objects(view)
    pd.testing.assert_frame_equal(derived, expected)
    untouched = demo.queries.explorer.objects(replace(view, min_score=None))
    assert (untouched["outcome"] != derived["outcome"]).any()  # the cached table kept its own outcomes


@pytest.mark.parametrize("image_index, images, expected", [
    ([3, 1, 3, 2, 1], [1, 3], {1: [1, 4], 3: [0, 2]}),
    ([0, 0, 0], [0, 0], {0: [0, 1, 2]}),          # an image asked twice (two cards of one image)
    ([5, 6], [7], {}),                              # not present: nothing
    ([], [1], {}),
])
def test_rows_by_image_groups_positions_in_row_order(image_index, images, expected):
    from detlens.app.explorer_queries import rows_by_image

    got = rows_by_image(np.asarray(image_index, np.int64), np.asarray(images, np.int64))
    assert {k: v.tolist() for k, v in got.items()} == expected


@pytest.mark.parametrize("image_index, n_images", [([3, 1, 3, 2, 1], 5), ([0, 0, 0], 1), ([], 3), ([2, 0], 4)])
def test_objects_by_image_holds_each_images_rows_in_row_order(image_index, n_images):
    from detlens.app.explorer_queries import objects_by_image, rows_by_image

    image_index = np.asarray(image_index, np.int64)
    order, starts = objects_by_image(image_index, n_images)
    assert starts.shape == (n_images + 1,) and starts[-1] == image_index.shape[0]
    expected = rows_by_image(image_index, np.arange(n_images))
    for i in range(n_images):
        assert order[starts[i]:starts[i + 1]].tolist() == expected.get(i, np.zeros(0)).tolist()


@pytest.mark.parametrize("min_score", [None, 0.3])
def test_pages_and_details_read_by_image_equal_those_of_the_whole_table(demo, min_score):
    """The dataset's objects are found by image without a pass over the table; compare mode's tables (any
    DataFrame) still are passed over: both give the same cards and details."""
    explorer = demo.queries.explorer
    view = ViewParams.of(demo.key, iou=0.5, min_score=min_score)
    whole = explorer.objects(view)
    rows = np.random.default_rng(1).permutation(len(whole))[:3 * EXPLORER_PAGE_SIZE]  # cards of many images
    for number in (1, 2, 3):
        assert explorer.page(view, rows, number, "Brightness (F)") == \
            explorer.page(view, rows, number, "Brightness (F)", lambda: whole)
    for row in rows[:5].tolist():
        assert explorer.detail(view, row) == explorer.detail(view, row, lambda: whole)
