"""Readable charts: round count ticks, cut class names, every class labelled, legends that count what they
draw, class panels that keep the click contract, and graphs that say "computing…" before their first result."""

from __future__ import annotations

import json

import plotly.graph_objects as go
import pytest

from detlens.callbacks import figures
from detlens.callbacks.explorer_links import filter_from_bucket, filter_from_class_bar
from detlens.core.settings import CLASS_NAME_MAX_CHARS, MAX_PR_CLASSES
from detlens.layouts import explorer_tab, ids, metrics_tab, performance_tab
from detlens.layouts.placeholders import COMPUTING

LONG = "a very long class name that would flatten the chart to a strip"


@pytest.mark.parametrize("max_count, dtick, top", [
    (0, 1, 1), (1, 1, 1), (3, 1, 3), (7, 2, 8), (10, 5, 10), (89, 25, 100), (100, 25, 100), (101, 50, 150),
    (1234, 500, 1500), (45_000, 20_000, 60_000),
])
def test_count_axis_ticks_at_round_whole_steps(max_count, dtick, top):
    assert figures.count_axis(max_count) == (dtick, top)
    assert top >= max_count and top // dtick <= 4 and top % dtick == 0


@pytest.mark.parametrize("name, shown", [
    ("cat", "cat"), ("x" * CLASS_NAME_MAX_CHARS, "x" * CLASS_NAME_MAX_CHARS),
    ("x" * (CLASS_NAME_MAX_CHARS + 1), "x" * (CLASS_NAME_MAX_CHARS - 1) + "…"),
    (LONG, LONG[:CLASS_NAME_MAX_CHARS - 1].rstrip() + "…"),
])
def test_long_names_are_cut_with_an_ellipsis(name, shown):
    assert figures.ellipsize(name) == shown and len(shown) <= CLASS_NAME_MAX_CHARS


def _doc(n: int, without_curve: int = 0, long_first: bool = False) -> dict:
    names = [f"class {i:02d}" for i in range(n)]
    if long_first:
        names[0] = LONG
    return {"per_class": {c: {"AP": i / 100, "AR": i / 90} for i, c in enumerate(names)},
            "pr": {c: ({"recall": [], "precision": []} if i < without_curve else
                       {"recall": [0, 0.5, 1], "precision": [1, 0.8, 0.1]}) for i, c in enumerate(names)}}


@pytest.mark.parametrize("n", [3, 80])
def test_every_class_keeps_a_legible_label(n):
    fig = go.Figure(figures.ap_ar_figure(_doc(n, long_first=True), "AP"))  # a plain dict, validated here
    names = list(_doc(n, long_first=True)["per_class"])
    assert fig.data[0].orientation == "h" and list(fig.data[0].y) == names
    assert list(fig.layout.yaxis.tickvals) == names and fig.layout.yaxis.tickmode == "array"  # no skipped label
    assert fig.layout.yaxis.ticktext[0] == figures.ellipsize(LONG) and fig.data[0].customdata[0][0] == LONG
    assert fig.layout.height >= 26 * n  # a row per class, never squeezed
    click = {"points": [{"x": 0.4, "y": names[0], "curveNumber": 1, "customdata": [LONG]}]}
    assert filter_from_class_bar(click).classes == (LONG,)


@pytest.mark.parametrize("n, without_curve, drawn, note", [
    (30, 0, 12, "6 best and 6 worst of 30 classes by AP"),
    (30, 5, 12, "6 best and 6 worst of 25 classes by AP; 5 classes without predictions: no curve"),
    (14, 3, 11, "3 classes without predictions: no curve"),
    (4, 0, 4, ""),
])
def test_precision_recall_draws_what_its_title_counts(n, without_curve, drawn, note):
    doc = _doc(n, without_curve)
    fig = go.Figure(figures.pr_figure(doc, "PR"))
    assert len(fig.data) == drawn and all(len(t.x) > 0 for t in fig.data)
    assert fig.layout.title.text == (f"PR<br><span style='font-size:11px'>{note}</span>" if note else "PR")
    if n > MAX_PR_CLASSES + without_curve:
        aps = [doc["per_class"][t.hovertemplate.split("<br>")[0]]["AP"] for t in fig.data]
        assert aps == sorted(aps, reverse=True)


def test_precision_recall_legend_cuts_long_names():
    fig = go.Figure(figures.pr_figure(_doc(3, long_first=True), "PR"))
    assert any(t.name.startswith(figures.ellipsize(LONG) + " (AP") for t in fig.data)


def _curve(rates, totals):
    return {"rate": rates, "low": [None if r is None else max(r - 0.1, 0) for r in rates],
            "high": [None if r is None else min(r + 0.1, 1) for r in rates], "totals": totals,
            "average": 0.5, "count": sum(totals)}


TABLE = {"edges": [0.0, 1.0, 2.0, 3.0],
         "TPR": _curve([0.2, 0.5, 1.0], [40, 50, 2]), "FNR": _curve([0.6, 0.4, 0.0], [30, 60, 1]),
         "per_class": {LONG: {"TPR": _curve([0.1, 0.5, 1.0], [20, 25, 2]), "FNR": None},
                       "b": {"TPR": _curve([0.3, 0.5, None], [20, 25, 0]), "FNR": _curve([0.6, 0.4, 0.0], [30, 60, 1])}}}


def test_class_panels_keep_the_click_contract_and_grey_small_buckets():
    panels = [figures.Panel(n, c, f"finding of {n}") for n, c in TABLE["per_class"].items()]
    fig = json.loads(json.dumps(figures.performance_figure(TABLE, "x", "t", True, panels=panels, min_count=5)
                                .to_dict(), default=list))
    line = next(t for t in fig["data"] if t["name"] == f"TPR {LONG}")
    assert line["y"] == [0.1, 0.5, None]  # the 2-prediction bucket is out of the line
    grey = next(t for t in fig["data"] if t["name"] == f"TPR {LONG} under 5 predictions")
    assert grey["y"] == [None, None, 1.0] and grey["marker"]["color"] == figures.UNDER_MINIMUM_COLOR
    for trace, bucket in ((line, 1), (grey, 2)):
        data = trace["customdata"][bucket]
        assert data[:8] == [TABLE["per_class"][LONG]["TPR"]["totals"][bucket], *data[1:3], float(bucket),
                            float(bucket + 1), "TPR", LONG, int(bucket == 2)]
        flt = filter_from_bucket({"points": [{"customdata": data}]}, "Object Area - Relative (P)")
        assert flt.classes == (LONG,) and flt.low == bucket and flt.high_closed == (bucket == 2)
    titles = {a["hovertext"]: a["text"] for a in fig["layout"]["annotations"]}
    assert set(titles) == {LONG, "b"} and figures.ellipsize(LONG) in titles[LONG] and LONG not in titles[LONG]
    assert "finding of b" in titles["b"]
    legend = [t["name"] for t in fig["data"] if t.get("showlegend") is not False]
    assert legend == ["TPR of predictions", "FNR of labels", "class average (dashed)",
                      "bucket under 5 objects (not used for findings)", "objects per bucket"]


def test_pooled_chart_greys_small_buckets_too():
    fig = figures.performance_figure(TABLE, "x", "t", min_count=5)
    assert list(next(t for t in fig.data if t.name == "TPR of predictions").y) == [0.2, 0.5, None]
    assert list(next(t for t in fig.data if t.name == "FNR under 5 labels").y) == [None, None, 0.0]


def _graphs(component) -> list:
    found = [component] if type(component).__name__ == "Graph" else []
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list) else [children]:
        if child is not None and hasattr(child, "to_plotly_json"):
            found += _graphs(child)
    return found


def test_every_graph_starts_computing_not_with_empty_axes():
    graphs = [g for tab in (metrics_tab, performance_tab, explorer_tab) for g in _graphs(tab.build())]
    assert {g.id for g in graphs} == {ids.AP_AR_GRAPH, ids.PR_GRAPH, ids.IMPORTANCE_GRAPH, ids.CORRELATION_GRAPH,
                                      ids.PERF_GRAPH, ids.EXPLORER_HISTOGRAM, ids.TIDE_GRAPH, ids.CONFUSION_GRAPH,
                                      ids.RELIABILITY_GRAPH, ids.PERF_ERRORS_GRAPH}
    for graph in graphs:
        layout = graph.figure["layout"]
        assert [a["text"] for a in layout["annotations"]] == [COMPUTING]
        assert layout["xaxis"]["visible"] is False and layout["yaxis"]["visible"] is False


def test_the_figure_template_is_plotly_white_cut_to_two_dimensional_charts():
    import plotly.io as pio

    from detlens.callbacks.figures import CARTESIAN_LAYOUT, TEMPLATE

    full, cut = pio.templates["plotly_white"].to_plotly_json(), TEMPLATE.to_plotly_json()
    assert cut["layout"] == {k: full["layout"][k] for k in CARTESIAN_LAYOUT if k in full["layout"]}
    assert cut["layout"]["plot_bgcolor"] == "white" and cut["layout"]["xaxis"]["gridcolor"] == "#EBF0F8"
    assert set(cut["data"]) == {"bar", "scatter"} and cut["data"]["bar"] == full["data"]["bar"]
    assert "scene" not in cut["layout"] and "colorscale" not in cut["layout"]  # 3-D and colour scales left out


@pytest.mark.parametrize("build", [figures.ap_ar_figure, figures.pr_figure], ids=["ap-ar", "pr"])
def test_plain_dict_figures_carry_the_dashboards_style(build):
    # built as plain dicts (no plotly validation per point); validated here, styled as styled() styles a figure
    fig = go.Figure(build(_doc(14, without_curve=2), "Title"))
    reference = figures.styled(go.Figure(), "Title", 300)
    assert fig.layout.template == reference.layout.template and fig.layout.font == reference.layout.font
    assert fig.layout.title.text.startswith("Title") and fig.layout.title.x == reference.layout.title.x
