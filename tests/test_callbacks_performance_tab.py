"""Unit tests of the Performance by metric callbacks, figure and finding sentence, called as plain functions."""

from __future__ import annotations

import plotly.graph_objects as go
import pytest
from dash.exceptions import PreventUpdate

from detlens.app.queries import ViewParams
from detlens.callbacks.figures import count_axis
from detlens.callbacks.performance_tab import (fill_metric_choices, metric_options_of, show_panel_picker,
                                               update_performance)
from detlens.callbacks.text import bucket_labels, finding_sentence, format_value, metric_unit
from detlens.core.settings import PERF_PANELS_MAX
from detlens.layouts import ids

ALL = ["ellipse", "rectangle", "triangle", "cross"]
METRIC = "Object Area - Relative (L)"


def _perf(demo, **kw):
    """update_performance with the demo defaults, its figure as a plotly Figure, without the panel outputs."""
    return _perf_all(demo, **kw)[:4]


def _perf_all(demo, **kw):
    """update_performance with the demo defaults: (figure, description, finding, alert, panel options, panels text)."""
    args = dict(queries=demo.queries, key=demo.key, classes=ALL, iou=0.5, min_score=0, metric=METRIC, n_buckets=10,
                method="quantile", decompose="aggregate", active_tab=ids.TAB_PERFORMANCE)
    args.update(kw)
    fig, *rest = update_performance(**args)
    return (go.Figure(fig), *rest)


def _table(demo, n_buckets=10):
    return demo.queries.buckets(ViewParams.of(demo.key), METRIC, n_buckets, "quantile")


def _panel_titles(fig) -> dict[str, str]:
    """Class (the annotation's hover text) -> its panel title."""
    return {a.hovertext: a.text for a in fig.layout.annotations if a.hovertext}


def test_metric_choices_are_grouped_by_level(demo):
    options, value = fill_metric_choices(demo.queries, demo.key)
    assert value == METRIC
    headings = [o["label"] for o in options if o.get("disabled")]
    assert headings == ["— Frame (image) metrics —", "— Prediction metrics —", "— Label metrics —"]
    assert options[0]["disabled"] and options[1]["value"].endswith("(F)")


def test_chart_has_one_point_per_bucket_bands_averages_and_counts(demo):
    fig, description, finding, note = _perf(demo, n_buckets=6)
    assert note is None and description.startswith(METRIC) and "percentage" in description
    by_name = {t.name: t for t in fig.data}
    assert len(by_name["TPR of predictions"].y) == 6 and len(by_name["FNR of labels"].y) == 6
    assert {"TPR 95% interval", "FNR 95% interval", "predictions per bucket", "labels per bucket"} <= set(by_name)
    averages = [t for t in fig.data if t.name.startswith("average")]
    assert len(averages) == 2 and all(t.line.dash == "dash" for t in averages)
    assert "%" in fig.layout.xaxis.title.text and fig.layout.yaxis.title.text and fig.layout.yaxis2.title.text
    assert finding.endswith(".") and ("TPR" in finding or "FNR" in finding)


def test_decomposed_chart_has_one_panel_per_class_with_its_own_finding(demo):
    fig, _, finding, note, options, text = _perf_all(demo, decompose="by_class")
    names = [t.name for t in fig.data]
    assert {f"TPR {c}" for c in ALL} <= set(names) and {f"FNR {c}" for c in ALL} <= set(names)
    assert note is None and text == "4 of 4 classes shown (the largest)" and "One panel per class" in finding
    assert sorted(o["value"] for o in options) == sorted(ALL)
    table = _table(demo)
    sizes = [sum(c["count"] for c in table["per_class"][o["value"]].values() if c) for o in options]
    assert sizes == sorted(sizes, reverse=True)  # largest first
    titles = _panel_titles(fig)
    assert set(titles) == set(ALL)
    for name in ALL:  # each panel: its class's finding (core rule on the class's curves) and its own averages
        own = finding_sentence({"edges": table["edges"], **table["per_class"][name]}, METRIC, "%")
        assert own.split(" (")[0] in titles[name].replace("<br>", " ")
        tpr = next(t for t in fig.data if t.name.startswith(f"average TPR {name} "))
        assert tpr.line.dash == "dash" and tpr.y[0] == pytest.approx(table["per_class"][name]["TPR"]["average"])
        line = next(t for t in fig.data if t.name == f"TPR {name}")
        assert line.xaxis == next(t for t in fig.data if t.name.startswith(f"average TPR {name} ")).xaxis
    assert len({t.xaxis for t in fig.data if t.name in {f"TPR {c}" for c in ALL}}) == 4  # four panels
    assert all(fig.layout[k].matches == "x" for k in fig.layout if k.startswith("xaxis") and k != "xaxis")


def test_picked_classes_are_the_panels(demo):
    fig, _, _, _, _, text = _perf_all(demo, decompose="by_class", panel_classes=["cross", "ellipse", "nope"])
    assert text == "2 of 4 classes shown (picked)"
    assert set(_panel_titles(fig)) == {"cross", "ellipse"}
    assert not any(t.name and "triangle" in t.name for t in fig.data)
    assert "2 of 4 classes" in fig.layout.title.text


def test_more_picked_classes_than_panels_are_capped_and_said(demo, monkeypatch):
    import detlens.callbacks.performance_tab as perf

    monkeypatch.setattr(perf, "PERF_PANELS_MAX", 2)
    *_, text = _perf_all(demo, decompose="by_class", panel_classes=ALL)
    assert text == "2 of 4 classes shown (picked; at most 2 panels)"
    assert PERF_PANELS_MAX >= 2


@pytest.mark.parametrize("decompose", ["aggregate", "by_class"])
def test_buckets_under_the_minimum_are_grey_and_not_used(demo, decompose):
    fig, _, finding, note, *_ = _perf_all(demo, decompose=decompose, min_count=10_000)
    lines = [t for t in fig.data if t.type == "scatter" and t.mode == "lines+markers" and t.x[0] is not None]
    assert note is None and lines and all(all(v is None for v in t.y) for t in lines)
    grey = [t for t in fig.data if t.type == "scatter" and t.mode == "markers" and t.x[0] is not None]
    assert grey and all(t.marker.color == "#adb5bd" for t in grey)
    assert all(any(v is not None for v in t.y) for t in grey)
    if decompose == "aggregate":
        assert finding.startswith("Too few")
    else:
        assert all("Too few" in title for title in _panel_titles(fig).values())


def test_minimum_count_moves_buckets_between_grey_and_colour(demo):
    table = _table(demo, 6)
    totals = table["TPR"]["totals"]
    cut = sorted(totals)[len(totals) // 2]
    fig, *_ = _perf_all(demo, n_buckets=6, min_count=cut)
    line = next(t for t in fig.data if t.name == "TPR of predictions")
    assert [v is None for v in line.y] == [n < cut for n in totals]
    assert finding_sentence(table, METRIC, "%", cut) == _perf(demo, n_buckets=6, min_count=cut)[2]


def test_stacked_layout_puts_tpr_above_fnr(demo):
    fig, *_ = _perf(demo, layout="stacked")
    tpr = next(t for t in fig.data if t.name == "TPR of predictions")
    fnr = next(t for t in fig.data if t.name == "FNR of labels")
    assert (tpr.yaxis, fnr.yaxis) == ("y", "y3")
    assert fig.layout.yaxis.domain[0] > fig.layout.yaxis3.domain[1]
    assert fig.layout.yaxis.title.text == "TPR of predictions" and fig.layout.yaxis3.title.text == "FNR of labels"
    fig, *_ = _perf(demo, layout="stacked", decompose="by_class")
    assert len({t.yaxis for t in fig.data if t.name in {f"TPR {c}" for c in ALL} | {f"FNR {c}" for c in ALL}}) == 8


@pytest.mark.parametrize("decompose", ["aggregate", "by_class"])
def test_count_axes_have_round_ticks(demo, decompose):
    fig, *_ = _perf(demo, decompose=decompose)
    counts = [t for t in fig.data if t.type == "bar" and t.x[0] is not None]
    dtick, top = count_axis(max(v for t in counts for v in t.y))
    count_axes = [fig.layout[k] for k in fig.layout if k.startswith("yaxis") and fig.layout[k].overlaying]
    assert count_axes and all((a.tickmode, a.tick0, a.dtick, tuple(a.range)) == ("linear", 0, dtick, (0, top))
                              for a in count_axes)


def test_panel_picker_shows_in_the_per_class_view_only():
    assert show_panel_picker("by_class") == {} and show_panel_picker("aggregate") == {"display": "none"}


def test_equal_width_buckets_and_frame_metric(demo):
    fig, description, _, note = _perf(demo, metric="Object Count (F)", method="equal_width", n_buckets=4)
    assert note is None and "equal-width" in fig.layout.xaxis.title.text
    assert len([t for t in fig.data if t.name == "TPR of predictions"][0].y) <= 4


def test_bad_inputs_become_alerts(demo):
    assert "whole number" in str(_perf(demo, n_buckets=1)[3].children)
    assert "Unknown metric" in str(_perf(demo, metric="Nope (P)")[3].children)
    assert "Select at least one class" in str(_perf(demo, classes=[])[3].children)
    assert "minimum objects per bucket" in str(_perf(demo, min_count=0)[3].children)
    assert "layout" in str(_perf(demo, layout="sideways")[3].children)
    assert "classes drawn as panels" in str(_perf(demo, panel_classes="cross")[3].children)


def test_waits_for_its_tab(demo):
    with pytest.raises(PreventUpdate):
        _perf(demo, active_tab=ids.TAB_METRICS)


def test_metric_options_skip_empty_levels():
    options = metric_options_of({"A (P)": {"level": "P"}})
    assert [o["value"] for o in options] == ["__heading_P", "A (P)"]


def test_finding_sentence_names_the_worst_bucket():
    table = {"edges": [0.05, 0.24, 1.0, 5.0],
             "TPR": {"rate": [0.05, 0.2, 0.25], "totals": [312, 300, 300], "average": 0.17},
             "FNR": None}
    assert finding_sentence(table, "Object Area - Relative (P)", "%") == (
        "Predictions with Object Area - Relative below 0.24% have TPR 0.05 against 0.17 on average "
        "(312 predictions).")


def test_finding_sentence_without_a_difference():
    table = {"edges": [0, 1, 2], "TPR": {"rate": [0.5, 0.5], "totals": [100, 100], "average": 0.5}, "FNR": None}
    assert finding_sentence(table, "Brightness (F)", "0 to 1").startswith("No bucket of Brightness")


def test_units_and_formats():
    assert metric_unit("Object Area - Relative (P)") == "%" and metric_unit("Image Area (F)") == "px²"
    assert metric_unit("Brightness (F)") == "0 to 1" and metric_unit("x (P)", custom=True) == "value"
    assert format_value(0.2412, "%") == "0.241%" and format_value(12345.0, "px²") == "12,345 px²"
    assert bucket_labels([0, 0.5, 1]) == ["0–0.5", "0.5–1"]


def test_a_metric_without_values_is_an_alert(demo):
    # no prediction is this confident, and confidence has no value on labels
    fig, description, finding, note = _perf(demo, metric="Model Confidence (P)", min_score=0.999)
    assert "has no values" in str(note.children) and description and finding == "No finding."
