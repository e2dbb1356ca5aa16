"""Unit tests of the Metrics tab callbacks and their figure builders, called as plain functions."""

from __future__ import annotations

import plotly.graph_objects as go
import pytest
from dash.exceptions import PreventUpdate

from detlens.callbacks import figures
from detlens.callbacks.metrics_tab import clicked_metric, map_text, open_metric, update_importance, update_summary
from detlens.core.settings import MAX_PR_CLASSES
from detlens.layouts import ids
from tests.dash_context import call_triggered


ALL = ["ellipse", "rectangle", "triangle", "cross"]


def test_summary_shows_map_counts_and_charts(demo):
    assert list(demo.classes) == ALL
    m_ap, rule, m_ap_range, m_ar, tp, fp, fn, ap_fig, pr_fig, note = update_summary(
        demo.queries, demo.key, ALL, 0.5, 0, ids.TAB_METRICS)
    expected = demo.queries.evaluator(demo.key).evaluate(0.5)
    assert (m_ap, m_ar) == (f"{expected.m_ap:.4f}", f"{expected.m_ar:.4f}") == (map_text(expected.m_ap),
                                                                               map_text(expected.m_ar))
    assert rule == "COCO 101-point · IoU 0.50" and 0 < float(m_ap_range) < float(m_ap)
    assert (tp, fp, fn) == tuple(f"{expected.counts[k]:,}" for k in ("TP", "FP", "FN"))
    ap_fig, pr_fig = go.Figure(ap_fig), go.Figure(pr_fig)
    assert 0 < float(m_ap) < 1 and 0 < float(m_ar) < 1 and note is None
    assert int(tp.replace(",", "")) > 0 and int(fp.replace(",", "")) >= 0 and int(fn.replace(",", "")) >= 0
    assert [t.name for t in ap_fig.data] == ["AP", "AR"] and list(ap_fig.data[0].y) == ALL
    assert len(pr_fig.data) == 4 and "IoU 0.50" in pr_fig.layout.title.text


def test_summary_changes_with_threshold_and_classes(demo):
    at_50 = update_summary(demo.queries, demo.key, ALL, 0.5, 0, ids.TAB_METRICS)[0]
    at_75 = update_summary(demo.queries, demo.key, ALL, 0.75, 0, ids.TAB_METRICS)[0]
    two = update_summary(demo.queries, demo.key, ["cross", "ellipse"], 0.5, 0, ids.TAB_METRICS)
    assert at_50 != at_75 and two[0] != at_50
    assert list(two[7]["data"][0]["y"]) == ["ellipse", "cross"]


def test_summary_alerts_instead_of_failing(demo):
    *_, note = update_summary(demo.queries, demo.key, [], 0.5, 0, ids.TAB_METRICS)
    assert "Select at least one class" in str(note.children)
    out = update_summary(demo.queries, demo.key, ALL, 0.5, 0.999, ids.TAB_METRICS)  # no prediction this confident
    assert "No predictions for the selected classes" in str(out[-1].children) and out[0] == "0.0000"


def test_summary_waits_for_data_and_its_tab(demo):
    with pytest.raises(PreventUpdate):
        update_summary(demo.queries, None, ALL, 0.5, 0, ids.TAB_METRICS)
    with pytest.raises(PreventUpdate):
        update_summary(demo.queries, demo.key, ALL, 0.5, 0, ids.TAB_PERFORMANCE)


@pytest.mark.parametrize("side", ["predictions", "labels"])
def test_importance_and_correlation_share_one_order(demo, side):
    imp, corr, note = update_importance(demo.queries, demo.key, ALL, 0.5, 0, side, ids.TAB_METRICS)
    imp, corr = go.Figure(imp), go.Figure(corr)
    assert note is None
    order = list(imp.data[0].y)
    assert order == list(corr.data[0].y) and len(order) > 3
    assert imp.layout.yaxis.categoryarray == corr.layout.yaxis.categoryarray
    values = [v for v in imp.data[0].x]
    assert values == sorted(values, reverse=True) and all(0 <= v <= 1 for v in values)
    assert all(-1 <= v <= 1 for v in corr.data[0].x)
    levels = {"predictions": ("(P)", "(F)"), "labels": ("(L)", "(F)")}[side]
    assert all(name.endswith(levels) for name in order)
    assert all(d for d in imp.data[0].customdata)  # descriptions on hover


def test_importance_alert_for_no_class(demo):
    imp, corr, note = update_importance(demo.queries, demo.key, [], 0.5, 0, "predictions", ids.TAB_METRICS)
    assert "Select at least one class" in str(note.children)


def test_clicking_a_bar_opens_performance_with_that_metric():
    click = {"points": [{"y": "Object Area - Relative (P)", "x": 0.2}]}
    other = {"points": [{"y": "Brightness (F)", "x": -0.1}]}
    assert clicked_metric(click) == "Object Area - Relative (P)"
    assert call_triggered(open_metric, ids.IMPORTANCE_GRAPH, click, click, other, prop="clickData") == \
        (ids.TAB_PERFORMANCE, "Object Area - Relative (P)")
    assert call_triggered(open_metric, ids.CORRELATION_GRAPH, other, click, other, prop="clickData") == \
        (ids.TAB_PERFORMANCE, "Brightness (F)")
    with pytest.raises(PreventUpdate):
        call_triggered(open_metric, ids.IMPORTANCE_GRAPH, None, None, None, prop="clickData")


def test_precision_recall_shows_best_and_worst_of_many_classes():
    doc = {"per_class": {f"c{i}": {"AP": i / 100} for i in range(30)},
           "pr": {f"c{i}": {"recall": [0, 1], "precision": [1, 0]} for i in range(30)}}
    fig = go.Figure(figures.pr_figure(doc, "PR"))  # validated by plotly
    assert len(fig.data) == MAX_PR_CLASSES and "6 best and 6 worst of 30" in fig.layout.title.text


def test_empty_figure_shows_its_message():
    fig = figures.empty_figure("nothing here")
    assert fig.layout.annotations[0].text == "nothing here"


@pytest.mark.parametrize("side", ["predictions", "labels"])
def test_importance_bars_carry_their_intervals_and_the_too_few_sentence(demo, side):
    from detlens.app.queries import ViewParams
    from detlens.core.analysis import too_few_to_rank
    from detlens.core.importance import MetricDependency

    imp, _, note = update_importance(demo.queries, demo.key, ALL, 0.5, 0, side, ids.TAB_METRICS)
    ranking = demo.queries.ranking(ViewParams.of(demo.key), side)
    bars = go.Figure(imp).data[0]
    for d, value, plus, minus in zip(ranking, bars.x, bars.error_x.array, bars.error_x.arrayminus):
        assert value + plus == pytest.approx(d["importance_high"]) and value - minus == pytest.approx(d["importance_low"])
    expected = too_few_to_rank([MetricDependency.from_dict(d) for d in ranking], side)
    assert (note is None) == (expected is None) and (note is None or note.children == expected)


def test_model_confidence_can_be_hidden(demo):
    shown = go.Figure(update_importance(demo.queries, demo.key, ALL, 0.5, 0, "predictions", ids.TAB_METRICS)[0])
    hidden = go.Figure(update_importance(demo.queries, demo.key, ALL, 0.5, 0, "predictions", ids.TAB_METRICS,
                                         hide_confidence=True)[0])
    assert "Model Confidence (P)" in shown.data[0].y
    assert list(hidden.data[0].y) == [m for m in shown.data[0].y if m != "Model Confidence (P)"]
