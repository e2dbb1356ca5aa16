"""Unit tests of the Metrics tab callbacks and their figure builders, called as plain functions."""

from __future__ import annotations

import plotly.graph_objects as go
import pytest
from dash.exceptions import PreventUpdate

from detlens.app.datastore import DataSource, DataStore
from detlens.callbacks import figures
from detlens.callbacks.metrics_tab import clicked_metric, open_metric, update_importance, update_summary
from detlens.core.demo import DemoConfig, write_demo
from detlens.layouts import ids


@pytest.fixture(scope="module")
def key(tmp_path_factory):
    """Key of a small demo prepared in a temporary cache folder (``DETLENS_CACHE_DIR`` set)."""
    root = tmp_path_factory.mktemp("metrics")
    paths = write_demo(root / "demo", DemoConfig.preset("default", n_images=60), render_images=False)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DETLENS_CACHE_DIR", str(root / "cache"))
        yield DataStore(root / "cache").prepare(DataSource(str(paths.labels), str(paths.predictions)))


ALL = ["ellipse", "rectangle", "triangle", "cross"]


def test_summary_shows_map_counts_and_charts(key):
    m_ap, m_ar, tp, fp, fn, ap_fig, pr_fig, note = update_summary(key, ALL, 0.5, 0, ids.TAB_METRICS)
    ap_fig, pr_fig = go.Figure(ap_fig), go.Figure(pr_fig)
    assert 0 < float(m_ap) < 1 and 0 < float(m_ar) < 1 and note is None
    assert int(tp.replace(",", "")) > 0 and int(fp.replace(",", "")) >= 0 and int(fn.replace(",", "")) >= 0
    assert [t.name for t in ap_fig.data] == ["AP", "AR"] and list(ap_fig.data[0].x) == ALL
    assert len(pr_fig.data) == 4 and "IoU 0.50" in pr_fig.layout.title.text


def test_summary_changes_with_threshold_and_classes(key):
    at_50 = update_summary(key, ALL, 0.5, 0, ids.TAB_METRICS)[0]
    at_75 = update_summary(key, ALL, 0.75, 0, ids.TAB_METRICS)[0]
    two = update_summary(key, ["cross", "ellipse"], 0.5, 0, ids.TAB_METRICS)
    assert at_50 != at_75 and two[0] != at_50
    assert list(two[5]["data"][0]["x"]) == ["ellipse", "cross"]


def test_summary_alerts_instead_of_failing(key):
    *_, note = update_summary(key, [], 0.5, 0, ids.TAB_METRICS)
    assert "Select at least one class" in str(note.children)
    out = update_summary(key, ALL, 0.5, 0.999, ids.TAB_METRICS)  # no prediction this confident
    assert "No predictions for the selected classes" in str(out[-1].children) and out[0] == "0.000"


def test_summary_waits_for_data_and_its_tab(key):
    with pytest.raises(PreventUpdate):
        update_summary(None, ALL, 0.5, 0, ids.TAB_METRICS)
    with pytest.raises(PreventUpdate):
        update_summary(key, ALL, 0.5, 0, ids.TAB_PERFORMANCE)


@pytest.mark.parametrize("side", ["predictions", "labels"])
def test_importance_and_correlation_share_one_order(key, side):
    imp, corr, note = update_importance(key, ALL, 0.5, 0, side, ids.TAB_METRICS)
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


def test_importance_alert_for_no_class(key):
    imp, corr, note = update_importance(key, [], 0.5, 0, "predictions", ids.TAB_METRICS)
    assert "Select at least one class" in str(note.children)


def test_clicking_a_bar_opens_performance_with_that_metric():
    click = {"points": [{"y": "Object Area - Relative (P)", "x": 0.2}]}
    assert clicked_metric(click) == "Object Area - Relative (P)"
    assert open_metric(click, None) == (ids.TAB_PERFORMANCE, "Object Area - Relative (P)")
    assert open_metric(None, click) == (ids.TAB_PERFORMANCE, "Object Area - Relative (P)")
    with pytest.raises(PreventUpdate):
        open_metric(None, None)


def test_precision_recall_shows_best_and_worst_of_many_classes():
    doc = {"per_class": {f"c{i}": {"AP": i / 100} for i in range(30)},
           "pr": {f"c{i}": {"recall": [0, 1], "precision": [1, 0]} for i in range(30)}}
    fig = figures.pr_figure(doc, "PR")
    assert len(fig.data) == figures.MAX_PR_CLASSES and "6 best and 6 worst of 30" in fig.layout.title.text


def test_empty_figure_shows_its_message():
    fig = figures.empty_figure("nothing here")
    assert fig.layout.annotations[0].text == "nothing here"
