"""Unit tests of the Performance by metric callbacks, figure and finding sentence, called as plain functions."""

from __future__ import annotations

import plotly.graph_objects as go
import pytest
from dash.exceptions import PreventUpdate

from detlens.callbacks.performance_tab import fill_metric_choices, metric_options_of, update_performance
from detlens.callbacks.text import bucket_labels, finding_sentence, format_value, metric_unit
from detlens.layouts import ids

ALL = ["ellipse", "rectangle", "triangle", "cross"]
METRIC = "Object Area - Relative (L)"


def _perf(demo, **kw):
    """update_performance with the demo defaults, its figure as a plotly Figure."""
    args = dict(queries=demo.queries, key=demo.key, classes=ALL, iou=0.5, min_score=0, metric=METRIC, n_buckets=10,
                method="quantile", decompose="aggregate", active_tab=ids.TAB_PERFORMANCE)
    args.update(kw)
    fig, *rest = update_performance(**args)
    return (go.Figure(fig), *rest)


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


def test_decomposed_chart_has_lines_per_class(demo):
    fig, *_ = _perf(demo, decompose="by_class")
    names = [t.name for t in fig.data]
    assert {f"TPR {c}" for c in ALL} <= set(names) and {f"FNR {c}" for c in ALL} <= set(names)


def test_equal_width_buckets_and_frame_metric(demo):
    fig, description, _, note = _perf(demo, metric="Object Count (F)", method="equal_width", n_buckets=4)
    assert note is None and "equal-width" in fig.layout.xaxis.title.text
    assert len([t for t in fig.data if t.name == "TPR of predictions"][0].y) <= 4


def test_bad_inputs_become_alerts(demo):
    assert "whole number" in str(_perf(demo, n_buckets=1)[3].children)
    assert "Unknown metric" in str(_perf(demo, metric="Nope (P)")[3].children)
    assert "Select at least one class" in str(_perf(demo, classes=[])[3].children)


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
