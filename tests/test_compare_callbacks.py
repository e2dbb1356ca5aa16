"""Compare mode's callbacks (callbacks/compare_mode.py and its hooks in the Explorer) on two prepared runs.

The page shows the query service's numbers (tests/test_compare_queries.py checks those against core and
pycocotools); the "Compare with" store follows the picked run's preparation and dataset. The compare gates
(a request stored only in compare mode on its tab) run in the browser: tests/browser/test_tab_gates.py.
"""

from __future__ import annotations

import base64
import functools
import io
import json
import zipfile

import pandas as pd
import pytest
from dash import no_update
from dash.exceptions import PreventUpdate

from detlens.app.preparation import prepare
from detlens.app.source import DataSource
from detlens.callbacks import compare_mode
from detlens.callbacks.common import DEFAULT_RULE
from detlens.callbacks.explorer_detail import download, open_detail
from detlens.callbacks.explorer_tab import update_grid
from detlens.core.explorer import ExplorerFilter
from detlens.core.vocabulary import CompareGroup
from detlens.layouts import ids
from detlens.layouts.compare import ALL_OBJECTS, HIDDEN, SHOWN
from tests.compare_pair import prepare_pair
from tests.dash_context import call_triggered
from tests.dash_requests import layout_values, prepared_app

AREA = "Object Area - Relative (L)"


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    return prepare_pair(tmp_path_factory.mktemp("compare-callbacks"))


def runs_of(pair) -> list[dict]:
    return [{"name": "base", "source": pair.source_a.source_id()}, {"name": "small", "source": pair.source_b.source_id()}]


def compare_store(pair, key_b=None) -> dict:
    return {"key": key_b or pair.key_b, "a": "base", "b": "small"}


def view_values(pair, iou=0.5) -> list:
    return [pair.key_a, list(pair.classes), iou, 0, DEFAULT_RULE]


def test_the_picker_lists_the_other_runs(pair):
    options, value, style = compare_mode.picker_options(runs_of(pair), "base", "small")
    assert options == [{"label": "small", "value": "small"}] and value == "small" and style == SHOWN
    assert compare_mode.picker_options(runs_of(pair), "small", "small")[1] is None  # B became the shown run
    assert compare_mode.picker_options([runs_of(pair)[0]], "base", None) == ([], None, HIDDEN)


def test_the_compare_store_follows_the_picked_run(pair):
    doc, note, poll_off = compare_mode.resolve_compare(pair.queries, "small", runs_of(pair), "base", pair.key_a)
    assert doc == compare_store(pair) and note is None and poll_off is True
    again = compare_mode.resolve_compare(pair.queries, "small", runs_of(pair), "base", pair.key_a, doc)
    assert again == (no_update, None, True)  # unchanged
    assert compare_mode.resolve_compare(pair.queries, None, runs_of(pair), "base", pair.key_a, doc)[::2] == (None, True)
    doc, note, poll_off = compare_mode.resolve_compare(pair.queries, "nope", runs_of(pair), "base", pair.key_a,
                                                       compare_store(pair))
    assert doc is None and "no run 'nope'" in str(note.children) and poll_off is True


def test_a_run_still_preparing_or_of_other_labels_leaves_compare_mode_off(pair, tmp_path):
    waiting = {"name": "later", "source": "f" * 24}  # never prepared: its status is "waiting"
    doc, note, poll_off = compare_mode.resolve_compare(pair.queries, "later", [*runs_of(pair), waiting], "base",
                                                       pair.key_a, compare_store(pair))
    assert doc is None and "being prepared" in str(note.children) and poll_off is False  # polled until it is ready
    gt = json.loads(pair.labels.read_text())
    gt["annotations"] = gt["annotations"][1:]
    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps(gt))
    other = DataSource(str(labels), str(pair.predictions_a))
    prepare(pair.queries, other)
    runs = [*runs_of(pair), {"name": "other", "source": other.source_id()}]
    doc, note, poll_off = compare_mode.resolve_compare(pair.queries, "other", runs, "base", pair.key_a,
                                                       compare_store(pair))
    text = str(note.children)
    assert doc is None and "Cannot compare with other" in text and "differ" in text and "\n" not in text
    assert poll_off is True


def test_the_delta_card_shows_the_comparison(pair):
    table, figure, note = compare_mode.update_compare_summary(pair.queries, compare_store(pair), view_values(pair))
    cv = compare_mode.compare_view(pair.queries, compare_store(pair), view_values(pair))
    doc = pair.queries.compare.summary(cv)
    rows = {r["name"]: r for r in compare_mode.summary_rows(doc)}
    assert rows["mAP"]["delta"] == f"{doc['mAP']['delta']:+.4f}"
    assert rows["mAP"]["ci"] == f"[{doc['mAP']['ci'][0]:+.4f}, {doc['mAP']['ci'][1]:+.4f}]"
    assert rows["mAP@[.50:.95]"]["a"] == f"{doc['mAP_50_95']['A']:.4f}"
    assert "1,000 paired resamples" in str(note.children)
    bars = [t for t in figure["data"] if t["name"] == "ΔAP"][0]
    names = [n for n, c in doc["per_class"].items() if c["AP"]["delta"] is not None]
    assert list(bars["y"]) == names and list(bars["x"]) == [doc["per_class"][n]["AP"]["delta"] for n in names]
    assert "base" in str(table) and "small" in str(table)


def test_a_run_against_itself_shows_zero_and_a_zero_width_interval(pair):
    store = compare_store(pair, key_b=pair.key_a)
    cv = compare_mode.compare_view(pair.queries, store, view_values(pair))
    rows = compare_mode.summary_rows(pair.queries.compare.summary(cv))
    assert {r["delta"] for r in rows} == {"+0.0000"} and {r["ci"] for r in rows} == {"[+0.0000, +0.0000]"}


def test_performance_by_metric_compares_the_runs(pair):
    figure, finding, note = compare_mode.update_compare_performance(
        pair.queries, compare_store(pair), view_values(pair), AREA, 10, "quantile")
    cv = compare_mode.compare_view(pair.queries, compare_store(pair), view_values(pair))
    doc = pair.queries.compare.by_metric(cv, AREA, 10, "quantile")
    assert finding == doc["finding"] and note is None
    assert "small" in finding  # B's name
    deltas = [t for t in figure["data"] if t["name"] == "ΔTPR"][0]
    assert list(deltas["y"]) == [b["delta_TPR"]["value"] for b in doc["by_metric"]]
    lines = {t["name"] for t in figure["data"]}
    assert {"TPR · base", "TPR · small", "FNR · base", "FNR · small", "ΔFNR"} <= lines


def test_importance_of_both_runs(pair):
    fig_a, fig_b = compare_mode.update_compare_importance(
        pair.queries, compare_store(pair), view_values(pair), "predictions", False)
    cv = compare_mode.compare_view(pair.queries, compare_store(pair), view_values(pair))
    ranking_a, ranking_b = pair.queries.compare.rankings(cv, "predictions")
    assert list(fig_a["data"][0]["y"]) == [d["metric"] for d in ranking_a]
    assert list(fig_b["data"][0]["y"]) == [d["metric"] for d in ranking_b]


@pytest.mark.parametrize("call", [
    lambda q: compare_mode.update_compare_summary(q, None, []),
    lambda q: compare_mode.update_compare_importance(q, None, [], "predictions", False),
    lambda q: compare_mode.update_compare_performance(q, None, [], AREA, 10, "quantile"),
])
def test_nothing_runs_outside_compare_mode(pair, call):
    with pytest.raises(PreventUpdate):
        call(pair.queries)


FIXED, BROKEN = CompareGroup.FIXED.value, CompareGroup.BROKEN.value


@pytest.mark.parametrize("trigger, on, radio, group, expected", [
    # (what changed, compare mode on, the radio's value, the filter's group) -> (filter, radio, page)
    (ids.EXPLORER_COMPARE, True, FIXED, BROKEN, (FIXED, no_update, 1)),
    (ids.EXPLORER_COMPARE, True, ALL_OBJECTS, BROKEN, (None, no_update, 1)),
    (ids.EXPLORER_COMPARE, True, FIXED, FIXED, (no_update, no_update, no_update)),
    (ids.EXPLORER_COMPARE, False, FIXED, None, (no_update, ALL_OBJECTS, no_update)),  # no group outside compare mode
    (ids.EXPLORER_FILTER, True, FIXED, None, (no_update, ALL_OBJECTS, no_update)),  # a chart click reset it
    (ids.EXPLORER_FILTER, True, ALL_OBJECTS, BROKEN, (no_update, BROKEN, no_update)),  # a link set it
    (ids.EXPLORER_FILTER, False, ALL_OBJECTS, BROKEN, (no_update, no_update, no_update)),  # kept for compare mode
    (ids.COMPARE, False, BROKEN, BROKEN, (None, ALL_OBJECTS, 1)),  # leaving compare mode clears it
    (ids.COMPARE, True, ALL_OBJECTS, BROKEN, (no_update, BROKEN, no_update)),  # entering it shows the link's
])
def test_the_compare_radio_and_the_filter_keep_in_step(pair, trigger, on, radio, group, expected):
    current = ExplorerFilter(compare=group).to_dict()
    store, shown, page = call_triggered(compare_mode.set_compare_group, trigger, None, radio,
                                        compare_store(pair) if on else None, current, prop="value")
    assert (store if store is no_update else store["compare"], shown, page) == expected


@pytest.mark.parametrize("group", list(CompareGroup))
def test_the_explorer_grid_counts_the_compare_group(pair, group):
    flt = ExplorerFilter(compare=group).to_dict()
    cards, count, pages, _, _, note = update_grid(pair.queries, pair.key_a, list(pair.classes), 0.5, 0, flt, "score",
                                               "desc", 1, ids.TAB_EXPLORER, DEFAULT_RULE,
                                               compare=compare_store(pair))
    cv = compare_mode.compare_view(pair.queries, compare_store(pair), view_values(pair))
    expected = len(pair.queries.compare.filtered(cv, ExplorerFilter(compare=group), "score", True)["rows"])
    assert count.startswith(f"{expected:,} object") and note is None and cards
    text = str(cards[0])
    assert group.label in text  # the caption says how the object changed


def test_the_detail_draws_both_runs(pair):
    cv = compare_mode.compare_view(pair.queries, compare_store(pair), view_values(pair))
    rows = pair.queries.compare.filtered(cv, ExplorerFilter(compare=CompareGroup.BROKEN), "score", True)["rows"]
    row = int(rows[0])
    is_open, title, body = call_triggered(
        functools.partial(open_detail, compare=compare_store(pair)), {"type": ids.EXPLORER_THUMB, "row": row}, 1,
        pair.queries, [1], pair.key_a, list(pair.classes), 0.5, 0, DEFAULT_RULE)
    text = str(body)
    assert is_open and "prediction of run B (small)" in text and "data-run='B'" in text


def test_downloads_in_compare_mode_hold_both_runs(pair):
    cv = compare_mode.compare_view(pair.queries, compare_store(pair), view_values(pair))
    flt = ExplorerFilter(compare=CompareGroup.BROKEN)
    kept = pair.queries.compare.selection(cv, flt)
    args = (pair.queries, 1, None, pair.key_a, list(pair.classes), 0.5, 0, flt.to_dict())
    sent, note = call_triggered(functools.partial(download, compare=compare_store(pair)), ids.EXPLORER_CSV, 1, *args)
    table = pd.read_csv(io.StringIO(sent["content"]), keep_default_na=False)
    assert note is None and len(table) == len(kept) and set(table["change"]) == {"broken"}
    assert set(table["run"]) == {"", "B"}  # broken labels and B's false positives
    sent, note = call_triggered(functools.partial(download, compare=compare_store(pair)), ids.EXPLORER_COCO, 1, *args)
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(sent["content"]))) as archive:
        files = {name: json.loads(archive.read(name)) for name in archive.namelist()}
    assert set(files) == {"labels.json", "predictions_A.json", "predictions_B.json"}
    images = {i["id"] for i in files["labels.json"]["images"]}
    assert images == set(kept["image_id"])
    run_b = [p for p in json.loads(pair.predictions_b.read_text()) if p["image_id"] in images]
    assert len(files["predictions_B.json"]) == len(run_b)
    assert sorted(p["bbox"] for p in files["predictions_B.json"]) == sorted(p["bbox"] for p in run_b)


def test_a_compare_group_without_compare_mode_is_a_readable_warning(pair):
    flt = ExplorerFilter(compare=CompareGroup.FIXED).to_dict()
    *_, note = update_grid(pair.queries, pair.key_a, list(pair.classes), 0.5, 0, flt, "score", "desc", 1,
                                   ids.TAB_EXPLORER, DEFAULT_RULE)
    assert "Compare with" in str(note.children)


# ----- the compare store's timer ----------------------------------------------------------------------------

def test_only_a_run_b_being_prepared_is_polled(pair, tmp_path_factory):
    """The compare store's callback has its own timer, off on the page as served; the status poll's timer does
    not drive it (one request per open page and second was its cost)."""
    app, _ = prepared_app(pair.source_a, tmp_path_factory.mktemp("compare-poll"))
    output = next(o for o in app.callback_map if f"{ids.COMPARE}.data" in o)
    callback = app.callback_map[output]
    assert f"{ids.COMPARE_INTERVAL}.disabled" in output
    assert {d["id"] for d in callback["inputs"]} == {ids.COMPARE_PICKER, ids.DATA_KEY, ids.COMPARE_INTERVAL}
    assert layout_values(app)[(ids.COMPARE_INTERVAL, "disabled")] is True
    assert not any(d["id"] == ids.STATUS_INTERVAL for o, cb in app.callback_map.items() if ids.DATA_KEY not in o
                   for d in cb["inputs"])
