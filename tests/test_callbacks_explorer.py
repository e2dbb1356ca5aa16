"""Unit tests of the Explorer callbacks and linked-chart filters, called as plain functions."""

from __future__ import annotations

import io
import json
import re
import zipfile

import pandas as pd
import plotly.graph_objects as go
import pytest
from dash import no_update
from dash.exceptions import PreventUpdate

import detlens.callbacks.explorer_detail as detail_cb
import detlens.callbacks.explorer_links as links
from detlens.app.queries import ViewParams
from detlens.callbacks.explorer_tab import chips_of, count_text, fill_explorer_choices, range_text, show_range, update_grid
from detlens.callbacks.figures import performance_figure, pr_figure
from detlens.core.explorer import ExplorerFilter
from detlens.core.vocabulary import Side
from detlens.layouts import ids
from tests.dash_context import call_triggered

ALL = ["ellipse", "rectangle", "triangle", "cross"]


def _grid(demo, flt: ExplorerFilter, classes=ALL, page=1, sort="score", order="desc", min_score=0):
    return update_grid(demo.queries, demo.key, classes, 0.5, min_score, flt.to_dict(), sort, order, page,
                       ids.TAB_EXPLORER)


def _count(text: str) -> int:
    return int(re.match(r"([\d,]+) object", text).group(1).replace(",", ""))


def _click(fig: dict, trace_name: str, point: int) -> dict:
    trace = next(t for t in fig["data"] if t.get("name") == trace_name)
    return {"points": [{"pointIndex": point, "customdata": list(trace["customdata"][point]), "x": trace["x"][point]}]}


@pytest.mark.parametrize("side, trace", [("TPR", "TPR of predictions"), ("FNR", "FNR of labels"),
                                         ("TPR", "predictions per bucket"), ("FNR", "labels per bucket")])
@pytest.mark.parametrize("bucket", [0, 3, 4])
def test_a_clicked_bucket_opens_exactly_its_objects(demo, side, trace, bucket):
    metric, classes = "Object Area - Relative (L)", ["ellipse", "cross"]
    table = demo.queries.buckets(ViewParams.of(demo.key, classes, 0.5, 0.2), metric, 5, "quantile")
    fig = json.loads(json.dumps(performance_figure(table, "x", "t").to_dict(), default=list))
    flt = links.filter_from_bucket(_click(fig, trace, bucket), metric)
    assert flt.metric == "Object Area - Relative" and flt.high_closed == (bucket == 4)
    assert flt.outcomes == Side.of_rate(side).groups
    _, count, *_ = _grid(demo, flt, classes=classes, min_score=0.2)
    assert _count(count) == table[side]["totals"][bucket]


def test_a_per_class_line_adds_its_class(demo):
    table = demo.queries.buckets(ViewParams.of(demo.key), "Object Count (F)", 4, "quantile")
    fig = performance_figure(table, "x", "t", decomposed=True).to_dict()
    flt = links.filter_from_bucket(_click(fig, "FNR triangle", 1), "Object Count (F)")
    assert flt.classes == ("triangle",) and flt.metric == "Object Count (F)"
    assert _count(_grid(demo, flt)[1]) == table["per_class"]["triangle"]["FNR"]["totals"][1]


def test_class_bars_and_pr_points(demo):
    assert links.filter_from_class_bar({"points": [{"x": "cross", "curveNumber": 0}]}).outcomes == \
        Side.PREDICTIONS.groups
    ar = links.filter_from_class_bar({"points": [{"x": "cross", "curveNumber": 1}]})
    assert ar.outcomes == Side.LABELS.groups and ar.classes == ("cross",)
    doc = demo.queries.evaluation_doc(ViewParams.of(demo.key))
    fig = pr_figure(doc, "t")  # a plain dict
    trace = fig["data"][0]
    name, score = trace["customdata"][10]
    flt = links.filter_from_pr_point({"points": [{"customdata": [name, score]}]})
    assert flt.classes == (name,) and flt.score_low == score
    counts = _grid(demo, flt)[1]
    # the point after k predictions: at least k objects (more only when later ones tie with its score)
    assert _count(counts) >= 1 and "FN" not in counts
    assert links.filter_from_bucket({"points": [{"customdata": None}]}, "x (P)") is None
    assert links.filter_from_pr_point(None) is None and links.filter_from_class_bar({}) is None


def test_update_filter_from_a_chart_click_opens_the_explorer():
    click = {"points": [{"customdata": [12, 0.1, 0.3, 0.5, 1.5, "TPR", "", 0]}]}
    out = call_triggered(links.update_filter, ids.PERF_GRAPH, click, click, None, None, [], [], None, [0, 1], [0, 1],
                         ExplorerFilter().to_dict(), "Brightness (F)", 0, 1, 0.01, True, prop="clickData")
    doc, tab, outcomes, metric, score, page, sort, order = out
    assert tab == ids.TAB_EXPLORER and metric == "Brightness (F)" and page == 1 and (sort, order) == (metric, "asc")
    assert ExplorerFilter.from_dict(doc) == ExplorerFilter(outcomes=Side.PREDICTIONS.groups, metric="Brightness (F)",
                                                           low=0.5, high=1.5, high_closed=False)
    assert "FP:duplicate" in outcomes and score == [0, 1]


def test_removing_a_chip_and_an_echoing_slider():
    flt = ExplorerFilter(metric="Brightness (F)", low=0.5, high=1.5, classes=("a",))
    chip = {"type": ids.EXPLORER_CHIP, "part": "classes"}
    doc = call_triggered(links.update_filter, chip, 1, None, None, None, [1], [], None, None, None, flt.to_dict(),
                         None, 0, 2, 0.01, False)[0]
    assert ExplorerFilter.from_dict(doc).classes is None
    with pytest.raises(PreventUpdate):  # chips drawn, not clicked
        call_triggered(links.update_filter, chip, None, None, None, None, [None], [], None, None, None, flt.to_dict(),
                       None, 0, 2, 0.01, False)
    assert links.filter_from_controls(flt, ids.EXPLORER_RANGE, None, None, [0.504, 1.5], (0, 2, 0.01), None) is None
    moved = links.filter_from_controls(flt, ids.EXPLORER_RANGE, None, None, [0.8, 2.0], (0, 2, 0.01), None)
    assert (moved.low, moved.high, moved.high_closed) == (0.8, None, True)
    assert links.filter_from_controls(flt, ids.EXPLORER_SCORE, None, None, None, None, [0.3, 1]).score_low == 0.3
    assert links.filter_from_controls(flt, ids.EXPLORER_METRIC, None, "Blur (F)", None, None, None).low is None
    assert links.filter_from_controls(flt, ids.EXPLORER_OUTCOMES, ["FN"], None, None, None, None).outcomes == ("FN",)


def test_grid_pages_sort_and_counts(demo):
    cards, count, pages, hist, digest, note = _grid(demo, ExplorerFilter())
    assert len(cards) == 24 and note is None and pages == -(-_count(count) // 24)
    assert "TP" in count and "FP" in count and "FN" in count
    last = _grid(demo, ExplorerFilter(), page=pages)[0]
    assert 1 <= len(last) <= 24
    scores = [c.id["row"] for c in cards]
    assert len(set(scores)) == 24
    empty = _grid(demo, ExplorerFilter(outcomes=()))
    assert empty[0] == [] and "No objects match" in str(empty[5].children)
    with pytest.raises(PreventUpdate):
        update_grid(demo.queries, demo.key, ALL, 0.5, 0, None, "score", "desc", 1, ids.TAB_METRICS)


AREA = ExplorerFilter(metric="Object Area - Relative")  # a histogram of the objects' relative areas


@pytest.mark.parametrize("change, redrawn", [
    ({"page": 2}, False), ({"order": "asc"}, False), ({"sort": "iou"}, False),  # the same objects
    ({"flt": ExplorerFilter(metric=AREA.metric, outcomes=("FN",))}, True), ({"min_score": 0.3}, True),
    ({"classes": ["cross"]}, True),
])
def test_the_histogram_is_sent_only_when_its_objects_change(demo, change, redrawn):
    *_, hist, digest, _ = _grid(demo, AREA)
    args = {"flt": AREA} | change
    flt = args.pop("flt")
    *_, again, again_digest, _ = update_grid(
        demo.queries, demo.key, args.get("classes", ALL), 0.5, args.get("min_score", 0), flt.to_dict(),
        args.get("sort", "score"), args.get("order", "desc"), args.get("page", 1), ids.TAB_EXPLORER,
        histogram_shown=digest)
    if redrawn:
        assert again_digest not in (digest, no_update) and again["data"][0]["y"] != hist["data"][0]["y"]
    else:
        assert again is no_update and again_digest is no_update
    assert _grid(demo, AREA, page=2)[3] == hist  # without the digest: sent, the same figure


def test_metric_range_histogram_and_slider(demo):
    flt = ExplorerFilter(metric="Object Area - Relative", low=1.0, high=5.0, high_closed=False)
    _, count, _, hist, _, _ = _grid(demo, flt, sort="Object Area - Relative", order="asc")
    assert hist["data"] and len(hist["data"][0]["y"]) == 40
    lo, hi, step, value, disabled, text, score = show_range(demo.queries, flt.to_dict(), demo.key)
    assert not disabled and lo <= 1.0 and hi >= 5.0 and value == [1.0, 5.0] and step > 0
    assert text == "[1%, 5%)" and score == "all"
    assert show_range(demo.queries, ExplorerFilter().to_dict(), demo.key)[4] is True
    metric_options, sort_options = fill_explorer_choices(demo.queries, demo.key)
    values = [o["value"] for o in metric_options]
    assert "Object Area - Relative" in values and "Brightness (F)" not in values and "Object Count (F)" in values
    assert sort_options[0]["value"] == "score"


def test_chips_and_words():
    flt = ExplorerFilter(outcomes=("FN",), classes=("cross",), metric="Object Count (F)", low=2, high=None,
                         score_low=0.5)
    chips = chips_of(flt)
    assert [c.id["part"] for c in chips] == ["outcomes", "classes", "metric", "score"]
    assert chips_of(ExplorerFilter()) == []
    assert range_text(ExplorerFilter(metric="Brightness (F)", high=0.5)) == "≤ 0.5"
    assert count_text({"objects": 1, "TP": 1, "FP": 0, "FN": 0, "detected": 0, "ignored": 0}) == "1 object · 1 TP"


def test_thumbnail_opens_the_detail_with_every_box(demo):
    cards = _grid(demo, ExplorerFilter())[0]
    row = cards[0].id["row"]
    thumb = {"type": ids.EXPLORER_THUMB, "row": row}
    is_open, title, body = call_triggered(detail_cb.open_detail, thumb, 1, demo.queries, [1], demo.key, ALL, 0.5, 0)
    ds = demo.queries.dataset(demo.key)
    image = int(ds.predictions.image_index[row])
    expected = int((ds.labels.image_index == image).sum() + (ds.predictions.image_index == image).sum())
    assert is_open and ds.images.file_names[image] in title
    assert str(body).count("'explorer-box") == expected
    with pytest.raises(PreventUpdate):  # the grid was redrawn, nothing clicked
        call_triggered(detail_cb.open_detail, thumb, 0, demo.queries, [0], demo.key, ALL, 0.5, 0)


def test_downloads_csv_and_coco_pair(demo):
    flt = ExplorerFilter(outcomes=("FN",), classes=("cross",)).to_dict()
    args = (demo.queries, demo.key, ALL, 0.5, 0)
    sent, note = call_triggered(detail_cb.download, ids.EXPLORER_CSV, 1, args[0], 1, None, *args[1:], flt)
    csv = pd.read_csv(io.StringIO(sent["content"]))
    assert note is None and sent["filename"].endswith(".csv") and len(csv) == _count(_grid(demo, ExplorerFilter(
        outcomes=("FN",), classes=("cross",)))[1])
    assert set(csv["outcome"]) == {"FN"} and set(csv["class"]) == {"cross"}
    sent, _ = call_triggered(detail_cb.download, ids.EXPLORER_COCO, 1, args[0], None, 1, *args[1:], flt)
    import base64

    with zipfile.ZipFile(io.BytesIO(base64.b64decode(sent["content"]))) as archive:
        labels = json.loads(archive.read("labels.json"))
        predictions = json.loads(archive.read("predictions.json"))
    assert {a["id"] for a in labels["annotations"]} >= set(csv["object_id"])
    assert len(labels["images"]) == csv["image_id"].nunique() and isinstance(predictions, list)
    _, note = call_triggered(detail_cb.download, ids.EXPLORER_CSV, 1, args[0], 1, None, *args[1:],
                             ExplorerFilter(outcomes=()).to_dict())
    assert "nothing to download" in str(note.children)
