"""Plotly figure builders: plain functions from small JSON documents to figures.

Inputs are the documents the query service returns (evaluation
document, ranking list, bucket table dict), so every builder is testable
without a server. Figures stay small: at most ``MAX_PR_CLASSES`` precision-
recall curves of at most 200 points each, at most ``MAX_CLASS_LINES`` classes
in a decomposed performance chart.
"""

from __future__ import annotations

import textwrap

import plotly.graph_objects as go
from plotly.colors import sample_colorscale

from detlens.callbacks.text import bucket_labels
from detlens.core.settings import MAX_CLASS_LINES, MAX_PR_CLASSES

TEMPLATE = "plotly_white"
TPR_COLOR, FNR_COLOR = "#1f7a5c", "#c8553d"
AP_COLOR, AR_COLOR = "#3b6fb6", "#9ab8e0"
CORRELATION_SCALE = "RdBu"  # diverging: red negative, white 0, blue positive
FONT = dict(family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", size=12)


def _layout(fig: go.Figure, title: str, height: int, **extra) -> go.Figure:
    layout = dict(template=TEMPLATE, title=dict(text=title, x=0.01, font=dict(size=15)), height=height,
                  margin=dict(l=60, r=20, t=50, b=50), font=FONT)
    layout.update(extra)
    fig.update_layout(**layout)
    return fig


def empty_figure(message: str, height: int = 320) -> go.Figure:
    """A blank figure that shows ``message`` in its middle (no data, an error)."""
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, font=dict(size=14, color="#6c757d"),
                       xref="paper", yref="paper", x=0.5, y=0.5)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _layout(fig, "", height)


def ap_ar_figure(doc: dict, title: str) -> go.Figure:
    """Grouped bars: AP and AR of each selected class (classes without labels are left out)."""
    rows = [(n, r["AP"], r["AR"]) for n, r in doc["per_class"].items() if r["AP"] is not None]
    names = [r[0] for r in rows]
    fig = go.Figure([
        go.Bar(name="AP", x=names, y=[r[1] for r in rows], marker_color=AP_COLOR,
               hovertemplate="%{x}<br>AP %{y:.3f}<extra></extra>"),
        go.Bar(name="AR", x=names, y=[r[2] for r in rows], marker_color=AR_COLOR,
               hovertemplate="%{x}<br>AR %{y:.3f}<extra></extra>"),
    ])
    fig.update_yaxes(title="AP / AR", range=[0, 1.02])
    fig.update_xaxes(title="class", tickangle=-45 if len(names) > 12 else 0)
    return _layout(fig, title, 360, barmode="group", bargap=0.2,
                   legend=dict(orientation="h", x=1, xanchor="right", y=1.12))


def pr_classes(doc: dict, limit: int = MAX_PR_CLASSES) -> tuple[list[str], str]:
    """The classes whose curves are drawn: all, or the best and worst ``limit // 2`` by AP; plus a note."""
    ranked = sorted((r["AP"], n) for n, r in doc["per_class"].items() if r["AP"] is not None)
    names = [n for _, n in ranked[::-1]]
    if len(names) <= limit:
        return names, ""
    half = limit // 2
    return names[:half] + names[-half:], f" ({half} best and {half} worst of {len(names)} classes by AP)"


def pr_figure(doc: dict, title: str) -> go.Figure:
    """Precision-recall curve of each (or the best and worst) selected class, AP in the legend."""
    names, note = pr_classes(doc)
    fig = go.Figure()
    for name in names:
        curve = doc["pr"][name]
        scores = curve.get("score")  # absent in documents cached by older versions
        fig.add_trace(go.Scatter(
            x=curve["recall"], y=curve["precision"], mode="lines", name=f"{name} (AP {doc['per_class'][name]['AP']:.2f})",
            customdata=None if scores is None else [[name, s] for s in scores],
            hovertemplate=(f"{name}<br>recall %{{x:.3f}}<br>precision %{{y:.3f}}"
                           + ("" if scores is None else "<br>confidence ≥ %{customdata[1]:.3f}") + "<extra></extra>")))
    fig.update_xaxes(title="recall", range=[0, 1.01])
    fig.update_yaxes(title="precision", range=[0, 1.02])
    return _layout(fig, title + note, 360, legend=dict(font=dict(size=11)))


def _wrap(text: str) -> str:
    return "<br>".join(textwrap.wrap(text, 60))


def _ranking_axis(ranking: list[dict]) -> dict:
    return dict(categoryorder="array", categoryarray=[d["metric"] for d in ranking], autorange="reversed",
                title=None, automargin=True)


def _ranking_height(ranking: list[dict]) -> int:
    return 90 + 24 * max(len(ranking), 3)


def importance_figure(ranking: list[dict], metrics: dict, title: str) -> go.Figure:
    """Horizontal bars of importance (0 to 1), most important at the top, description on hover.

    Args:
        ranking: ``MetricDependency.to_dict()`` rows, most important first.
        metrics: ``{name: MetricInfo.to_dict()}`` for the descriptions.
        title: figure title.
    """
    names = [d["metric"] for d in ranking]
    values = [d["importance"] or 0.0 for d in ranking]
    text = ["n/a" if d["importance"] is None else f"{d['importance']:.3f}" for d in ranking]
    hover = [_wrap(metrics.get(n, {}).get("description", "")) for n in names]
    fig = go.Figure(go.Bar(
        x=values, y=names, orientation="h", marker_color="#3b6fb6", text=text, textposition="outside",
        customdata=hover, hovertemplate="<b>%{y}</b><br>importance %{text}<br>%{customdata}<extra></extra>"))
    fig.update_xaxes(title="importance (share of the outcome's uncertainty explained)", range=[0, 1.08])
    fig.update_yaxes(**_ranking_axis(ranking))
    return _layout(fig, title, _ranking_height(ranking), margin=dict(l=10, r=20, t=50, b=50))


def correlation_figure(ranking: list[dict], metrics: dict, title: str) -> go.Figure:
    """Horizontal bars of Pearson correlation (-1 to 1) in the ranking's order, diverging colours;
    "-" where r is undefined (a constant metric or outcome, see :mod:`detlens.core.importance`)."""
    names = [d["metric"] for d in ranking]
    values = [d["correlation"] or 0.0 for d in ranking]
    text = ["-" if d["correlation"] is None else f"{d['correlation']:+.3f}" for d in ranking]
    hover = [_wrap(metrics.get(n, {}).get("description", "")) for n in names]
    colors = sample_colorscale(CORRELATION_SCALE, [(v + 1) / 2 for v in values]) if values else []
    fig = go.Figure(go.Bar(
        x=values, y=names, orientation="h", text=text, textposition="outside", customdata=hover,
        textfont=dict(color="#333"), marker=dict(color=colors, line=dict(color="#666", width=0.5)),
        hovertemplate="<b>%{y}</b><br>correlation %{text}<br>%{customdata}<extra></extra>"))
    fig.update_xaxes(title="correlation r (blue > 0: higher value, better outcome)", range=[-1.15, 1.15],
                     zeroline=True, zerolinecolor="#888")
    fig.update_yaxes(**_ranking_axis(ranking))
    return _layout(fig, title, _ranking_height(ranking), margin=dict(l=10, r=20, t=50, b=50))


def _band(fig: go.Figure, x: list, curve: dict, color: str, name: str) -> None:
    fill = color + "33"
    fig.add_trace(go.Scatter(x=x, y=curve["high"], mode="lines", line=dict(width=0), hoverinfo="skip",
                             showlegend=False, legendgroup=name, name=f"{name} 95% upper bound"))
    fig.add_trace(go.Scatter(x=x, y=curve["low"], mode="lines", line=dict(width=0), fill="tonexty",
                             fillcolor=fill, hoverinfo="skip", name=f"{name} 95% interval", legendgroup=name))


def bucket_customdata(edges: list[float], curve: dict, side: str, class_name: str = "") -> list[list]:
    """Per bucket ``[count, low, high, edge_lo, edge_hi, side, class, last]``: what a click on it selects.

    ``side`` is "TPR" (the bucket's counted predictions) or "FNR" (its counted
    labels); ``last`` is 1 for the last bucket, whose upper edge is included.
    """
    n = len(edges) - 1
    low, high = curve.get("low") or [None] * n, curve.get("high") or [None] * n
    return [[curve["totals"][b], low[b], high[b], edges[b], edges[b + 1], side, class_name, int(b == n - 1)]
            for b in range(n)]


def _rate_line(x: list, curve: dict, color: str, name: str, noun: str, edges: list[float], side: str,
               class_name: str = "", **line) -> go.Scatter:
    return go.Scatter(
        x=x, y=curve["rate"], mode="lines+markers", name=name, line=dict(color=color, width=2.5, **line),
        marker=dict(size=7), customdata=bucket_customdata(edges, curve, side, class_name),
        hovertemplate=(f"{name} %{{y:.3f}} [%{{customdata[1]:.2f}}, %{{customdata[2]:.2f}}]"
                       f"<br>%{{customdata[0]:,}} {noun}<extra>%{{x}}</extra>"))


def performance_figure(table: dict, x_title: str, title: str, decomposed: bool = False) -> go.Figure:
    """TPR over predictions and FNR over labels per bucket, 95% bands, dashed averages, counts behind.

    Args:
        table: ``BucketTable.to_dict()``.
        x_title: x axis title (metric name and unit).
        title: figure title.
        decomposed: draw one TPR and one FNR line per class (the largest ``MAX_CLASS_LINES``).
    """
    x = bucket_labels(table["edges"])
    fig = go.Figure()
    for side, color, noun in (("TPR", TPR_COLOR, "predictions"), ("FNR", FNR_COLOR, "labels")):
        curve = table[side]
        if curve is None:
            continue
        fig.add_trace(go.Bar(x=x, y=curve["totals"], yaxis="y2", name=f"{noun} per bucket", marker_color=color,
                             opacity=0.12, customdata=bucket_customdata(table["edges"], curve, side),
                             hovertemplate=f"%{{y:,}} {noun}<extra>%{{x}}</extra>"))
    for side, color, noun in (("TPR", TPR_COLOR, "predictions"), ("FNR", FNR_COLOR, "labels")):
        curve = table[side]
        if curve is None:
            continue
        if curve["average"] is not None:
            fig.add_trace(go.Scatter(x=[x[0], x[-1]], y=[curve["average"]] * 2, mode="lines",
                                     line=dict(color=color, dash="dash", width=1.5),
                                     name=f"average {side} {curve['average']:.2f}", hoverinfo="skip"))
        if decomposed:
            continue
        _band(fig, x, curve, color, side)
        fig.add_trace(_rate_line(x, curve, color, f"{side} of {noun}", noun, table["edges"], side))
    if decomposed:
        _class_lines(fig, x, table)
    fig.update_xaxes(title=x_title, type="category")
    fig.update_yaxes(title="rate (TPR of predictions, FNR of labels)", range=[0, 1.02])
    return _layout(fig, title, 460, barmode="group", bargap=0.1,
                   yaxis2=dict(title="count per bucket", overlaying="y", side="right", showgrid=False,
                               rangemode="tozero", tickformat=",d"),
                   legend=dict(orientation="h", y=-0.25, x=0), margin=dict(l=60, r=60, t=50, b=110))


def _class_lines(fig: go.Figure, x: list, table: dict) -> None:
    def size(item):
        t, f = item[1]["TPR"], item[1]["FNR"]
        return (t["count"] if t else 0) + (f["count"] if f else 0)

    palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
               "#bcbd22", "#17becf"]
    largest = sorted(table["per_class"].items(), key=size, reverse=True)[:MAX_CLASS_LINES]
    for i, (name, curves) in enumerate(largest):
        color = palette[i % len(palette)]
        if curves["TPR"]:
            fig.add_trace(_rate_line(x, curves["TPR"], color, f"TPR {name}", "predictions", table["edges"], "TPR",
                                     name, dash="solid"))
        if curves["FNR"]:
            fig.add_trace(_rate_line(x, curves["FNR"], color, f"FNR {name}", "labels", table["edges"], "FNR",
                                     name, dash="dot"))


def warm_up() -> None:
    """Build each figure once on tiny data, so plotly's lazily imported validators are loaded.

    Called in the server process before background jobs are forked from it: each
    job then starts with them imported instead of paying ~0.1 s every time.
    """
    doc = {"per_class": {"a": {"AP": 0.5, "AR": 0.5}}, "pr": {"a": {"recall": [0, 1], "precision": [1, 0]}}}
    ranking = [{"metric": "A (P)", "importance": 0.1, "correlation": 0.1}]
    curve = {"rate": [0.5], "low": [0.4], "high": [0.6], "totals": [10], "average": 0.5, "count": 10}
    table = {"edges": [0.0, 1.0], "TPR": curve, "FNR": curve, "per_class": {"a": {"TPR": curve, "FNR": curve}}}
    for fig in (ap_ar_figure(doc, ""), pr_figure(doc, ""), importance_figure(ranking, {}, ""),
                correlation_figure(ranking, {}, ""), performance_figure(table, "", "", decomposed=True),
                performance_figure(table, "", ""), empty_figure("")):
        fig.to_dict()
