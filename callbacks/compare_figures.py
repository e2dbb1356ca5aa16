"""Compare mode's figures: plain functions from :mod:`detlens.core.compare` documents (``Comparison.to_dict()``).

Every difference is B - A and carries its paired-bootstrap interval as an
error bar (asymmetric: the percentile interval need not be centred on the
difference). Run A is drawn solid, run B dashed, in every chart.
"""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from detlens.callbacks.figures import AP_COLOR, AR_COLOR, FNR_COLOR, FONT, TEMPLATE, TPR_COLOR, ellipsize
from detlens.callbacks.text import bucket_labels
from detlens.core.vocabulary import RunSide

RUN_DASH = {RunSide.A.value: "solid", RunSide.B.value: "dash"}  # how each run's lines are drawn
RUN_SYMBOL = {RunSide.A.value: "circle", RunSide.B.value: "diamond-open"}


def styled(fig: go.Figure, title: str, height: int, **layout) -> go.Figure:
    """``fig`` with the dashboard's template and font, ``title`` and ``height`` (``layout``: other settings)."""
    fig.update_layout(template=TEMPLATE, title=dict(text=title, x=0.01, font=dict(size=15)), height=height,
                      font=FONT, **layout)
    return fig


def interval_bars(values: list, lows: list, highs: list) -> dict:
    """Plotly ``error_x``/``error_y`` settings of intervals ``[low, high]`` around ``values`` (None: no bar)."""
    def gap(a, b):
        return 0.0 if a is None or b is None else max(a - b, 0.0)
    return dict(type="data", symmetric=False, color="#444", thickness=1.2, width=4,
                array=[gap(hi, v) for v, hi in zip(values, highs)],
                arrayminus=[gap(v, lo) for v, lo in zip(values, lows)])


def class_delta_figure(doc: dict, title: str) -> go.Figure:
    """Diverging horizontal bars: each class's AP and AR difference B - A with its interval (classes without
    labels, whose differences are undefined, are left out)."""
    rows = [(name, c["AP"], c["AR"]) for name, c in doc["per_class"].items() if c["AP"]["delta"] is not None]
    names = [r[0] for r in rows]
    fig = go.Figure()
    for k, (stat, color) in enumerate((("AP", AP_COLOR), ("AR", AR_COLOR))):
        diffs = [r[1 + k] for r in rows]
        values = [d["delta"] for d in diffs]
        fig.add_trace(go.Bar(
            name=f"Δ{stat}", y=names, x=values, orientation="h", marker_color=color,
            error_x=interval_bars(values, [d["ci"][0] for d in diffs], [d["ci"][1] for d in diffs]),
            customdata=[[n, d["A"], d["B"], d["ci"][0], d["ci"][1]] for n, d in zip(names, diffs)],
            hovertemplate=(f"%{{customdata[0]}}<br>{stat} A %{{customdata[1]:.3f}} → B %{{customdata[2]:.3f}}<br>"
                           f"Δ{stat} %{{x:+.3f}} (95% CI %{{customdata[3]:+.3f}} to %{{customdata[4]:+.3f}})"
                           "<extra></extra>")))
    fig.add_vline(x=0, line_color="#333", line_width=1)
    fig.update_xaxes(title="B - A (bars: 95% paired-bootstrap interval)", zeroline=True)
    fig.update_yaxes(type="category", tickmode="array", tickvals=names, ticktext=[ellipsize(n) for n in names],
                     autorange="reversed", automargin=True, title=None)
    return styled(fig, title, max(320, 120 + 30 * len(names)), barmode="group", bargap=0.25,
                  legend=dict(orientation="h", x=1, xanchor="right", y=1, yanchor="bottom"),
                  margin=dict(l=10, r=20, t=70, b=50))


def performance_compare_figure(doc: dict, x_title: str, title: str) -> go.Figure:
    """Two panels sharing the buckets of ``doc["by_metric"]``: both runs' TPR and FNR overlaid (A solid, B
    dashed), then ΔTPR and ΔFNR per bucket with their intervals around a zero line."""
    names = {side: doc["runs"][side]["name"] for side in (RunSide.A.value, RunSide.B.value)}
    buckets = doc["by_metric"]
    x = bucket_labels(doc["edges"])
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08, row_heights=[0.58, 0.42],
                        subplot_titles=("TPR and FNR of both runs", "Differences B - A (95% paired-bootstrap interval)"))
    for rate, color in (("TPR", TPR_COLOR), ("FNR", FNR_COLOR)):
        for side in (RunSide.A.value, RunSide.B.value):
            fig.add_trace(go.Scatter(
                x=x, y=[b[side][rate] for b in buckets], name=f"{rate} · {names[side]}", mode="lines+markers",
                line=dict(color=color, dash=RUN_DASH[side], width=2), marker=dict(symbol=RUN_SYMBOL[side], size=8),
                customdata=[[b[side]["n_pred" if rate == "TPR" else "n_label"]] for b in buckets],
                hovertemplate=f"{names[side]} · %{{x}}<br>{rate} %{{y:.3f}} of %{{customdata[0]:,}}<extra></extra>"),
                row=1, col=1)
        diffs = [b[f"delta_{rate}"] for b in buckets]
        values = [d["value"] for d in diffs]
        fig.add_trace(go.Scatter(
            x=x, y=values, name=f"Δ{rate}", mode="markers", marker=dict(color=color, size=9),
            error_y=interval_bars(values, [d["ci"][0] for d in diffs], [d["ci"][1] for d in diffs]),
            customdata=[[d["ci"][0], d["ci"][1]] for d in diffs],
            hovertemplate=(f"%{{x}}<br>Δ{rate} %{{y:+.3f}} (95% CI %{{customdata[0]:+.3f}} to "
                           "%{customdata[1]:+.3f})<extra></extra>")), row=2, col=1)
    fig.add_hline(y=0, line_color="#333", line_width=1, row=2, col=1)
    fig.update_yaxes(title="rate", range=[-0.02, 1.02], row=1, col=1)
    fig.update_yaxes(title="B - A", row=2, col=1)
    fig.update_xaxes(title=x_title, type="category", row=2, col=1)
    return styled(fig, title, 660, legend=dict(orientation="h", x=0, y=-0.14, yanchor="top"),
                  margin=dict(l=60, r=20, t=90, b=120))
