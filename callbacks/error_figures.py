"""Figures of the error analysis: TIDE ΔAP bars, the confusion heatmap or top pairs, reliability, errors per bucket.

Every clickable mark carries in ``customdata`` what :mod:`detlens.callbacks.explorer_links`
needs to open its objects:

* a ΔAP bar: ``[error type or oracle, count, its words, ΔAP text]``;
* a confusion cell or pair bar: ``[label class, predicted class, count, ...]`` (full names; "background");
* a per-bucket segment: ``[error type, low, high, last bucket (0/1), ΔAP text, range text]``.

Figures are returned as ``go.Figure``; callbacks send ``to_dict()``.
"""

from __future__ import annotations

import plotly.graph_objects as go

from detlens.callbacks.figures import ellipsize, styled
from detlens.core.vocabulary import ErrorType, TideOracle

ERROR_COLORS = {ErrorType.CLS: "#e8590c", ErrorType.LOC: "#1971c2", ErrorType.BOTH: "#9c36b5",
                ErrorType.DUPE: "#2f9e44", ErrorType.BKG: "#868e96", ErrorType.MISS: "#c92a2a"}
ORACLE_COLOR = "#495057"
ERROR_WORDS = {ErrorType.CLS: "wrong class", ErrorType.LOC: "poorly placed", ErrorType.BOTH: "wrong class and placed",
               ErrorType.DUPE: "duplicate", ErrorType.BKG: "background", ErrorType.MISS: "missed label",
               TideOracle.FP: "every false positive", TideOracle.FN: "every missed label"}
CONFUSION_SCALE = "Blues"


def delta_text(x: float | None) -> str:
    """A ΔAP as hover text: 4 decimals, "n/a" when undefined (no class with labels)."""
    return "n/a" if x is None else f"{x:+.4f}"


def tide_figure(tide: dict, title: str) -> go.Figure:
    """ΔAP of each TIDE error type (coloured bars, counts on hover) and of the FP and FN oracles (grey, hatched).

    ``tide``: :meth:`ErrorQueries.tide <detlens.app.error_queries.ErrorQueries.tide>`.
    """
    types, oracles = list(ErrorType), list(TideOracle)
    counts = {**tide["counts"], **tide["oracle_counts"]}
    fig = go.Figure()
    for keys, name, colors, pattern in ((types, "error types", [ERROR_COLORS[t] for t in types], ""),
                                        (oracles, "oracles (all FP / all FN)", ORACLE_COLOR, "/")):
        fig.add_trace(go.Bar(
            name=name, x=[k.value for k in keys], y=[tide["delta_ap"][k] or 0.0 for k in keys],
            marker=dict(color=colors, pattern=dict(shape=pattern)),
            customdata=[[k.value, counts[k], ERROR_WORDS[k], delta_text(tide["delta_ap"][k])] for k in keys],
            text=[f"{counts[k]:,}" for k in keys], textposition="outside",
            hovertemplate="%{customdata[0]} (%{customdata[2]}): %{customdata[1]:,} objects"
                          "<br>ΔAP if fixed %{customdata[3]}<extra></extra>"))
    fig.update_yaxes(title_text="ΔAP (AP gained)", rangemode="tozero")
    fig.update_xaxes(type="category")
    return styled(fig, title, 340, showlegend=True, legend=dict(orientation="h", y=-0.18), bargap=0.25)


def _names_axis(names: list[str]) -> dict:
    return dict(tickmode="array", tickvals=list(range(len(names))), ticktext=[ellipsize(n) for n in names])


def confusion_figure(doc: dict, title: str) -> go.Figure:
    """The confusion heatmap: rows labels, columns predictions (background last), colour the row rate, the count
    written in each cell; long names cut, full names on hover. ``doc``: ``ConfusionMatrix.to_dict()``.

    Drawn as stacked bars, one trace per row and one bar of height 1 per cell (the page's plotly.js
    "basic" bundle has no heatmap trace): each cell is a bar segment, so hover and click hit it exactly.
    """
    names, counts, rates = doc["classes"], doc["matrix"], doc["rates"]
    k = len(names)
    fig = go.Figure()
    for r in range(k):
        fig.add_trace(go.Bar(
            name=names[r], x=list(range(k)), y=[1] * k, width=1, showlegend=False,
            marker=dict(color=rates[r], colorscale=CONFUSION_SCALE, cmin=0, cmax=1, line=dict(color="white", width=1),
                        showscale=r == 0, colorbar=dict(title=dict(text="share of row"), tickformat=".0%")),
            customdata=[[names[r], names[c], counts[r][c], rates[r][c]] for c in range(k)],
            text=[f"{n:,}" for n in counts[r]], textposition="inside", insidetextanchor="middle",
            textfont=dict(color=["white" if x > 0.5 else "#212529" for x in rates[r]]),
            hovertemplate="labelled %{customdata[0]}<br>predicted %{customdata[1]}<br>%{customdata[2]:,} objects "
                          "(%{customdata[3]:.1%} of the row)<extra></extra>"))
    fig.update_xaxes(title_text="predicted class", range=[-0.5, k - 0.5], showgrid=False, zeroline=False,
                     **_names_axis(names))
    fig.update_yaxes(title_text="label class", range=[k, 0], showgrid=False, zeroline=False,
                     tickmode="array", tickvals=[r + 0.5 for r in range(k)], ticktext=[ellipsize(n) for n in names])
    size = max(360, 110 + 34 * k)
    return styled(fig, title, size, barmode="stack", bargap=0, margin=dict(l=150, r=20, t=50, b=110))


def top_pairs_figure(doc: dict, title: str) -> go.Figure:
    """The most confused (label class → predicted class) pairs as horizontal bars, most first; ``doc["top"]``."""
    pairs = doc["top"]
    labels = [f"{ellipsize(a)} → {ellipsize(b)}" for a, b, _ in pairs]
    fig = go.Figure(go.Bar(
        x=[n for *_, n in pairs], y=list(range(len(pairs))), orientation="h", marker_color=ERROR_COLORS[ErrorType.CLS],
        customdata=[list(p) for p in pairs], text=[f"{n:,}" for *_, n in pairs], textposition="outside",
        hovertemplate="labelled %{customdata[0]}<br>predicted %{customdata[1]}<br>%{x:,} objects<extra></extra>"))
    fig.update_yaxes(tickmode="array", tickvals=list(range(len(pairs))), ticktext=labels, autorange="reversed")
    fig.update_xaxes(title_text="objects", rangemode="tozero")
    return styled(fig, title, max(300, 90 + 30 * len(pairs)), margin=dict(l=260, r=40, t=50, b=50))


def reliability_figure(cal: dict, title: str) -> go.Figure:
    """Reliability diagram: the TP rate of each confidence bin (bars) against the diagonal of perfect calibration.

    ``cal``: ``CalibrationResult.to_dict()`` (``bins``: ``bin_lower, bin_upper, avg_confidence, avg_accuracy,
    count``); empty bins are not drawn.
    """
    full = [b for b in cal["bins"] if b["count"]]
    fig = go.Figure()
    fig.add_trace(go.Bar(
        name="TP rate", x=[(b["bin_lower"] + b["bin_upper"]) / 2 for b in full], y=[b["avg_accuracy"] for b in full],
        width=[b["bin_upper"] - b["bin_lower"] for b in full], marker_color="#3b6fb6",
        customdata=[[b["bin_lower"], b["bin_upper"], b["avg_confidence"], b["count"]] for b in full],
        hovertemplate="confidence %{customdata[0]:.2f}–%{customdata[1]:.2f}<br>TP rate %{y:.3f}, mean confidence "
                      "%{customdata[2]:.3f}<br>%{customdata[3]:,} predictions<extra></extra>"))
    fig.add_trace(go.Scatter(name="perfect calibration", x=[0, 1], y=[0, 1], mode="lines",
                             line=dict(color="#868e96", dash="dash"), hoverinfo="skip"))
    fig.update_xaxes(title_text="confidence", range=[0, 1])
    fig.update_yaxes(title_text="fraction TP", range=[0, 1.02])
    return styled(fig, title, 340, showlegend=True, legend=dict(orientation="h", y=-0.2), bargap=0)


def range_label(low: float, high: float, last: bool) -> str:
    """A bucket's range as a tick label: ``[0.12, 3.4)`` (the last bucket closed)."""
    return f"[{low:.3g}, {high:.3g}{']' if last else ')'}"


def bucket_errors_figure(doc: dict, x_title: str, title: str) -> go.Figure:
    """Stacked counts of each TIDE error type per bucket; hover: the count and the bucket's ΔAP for that type.

    ``doc``: :meth:`ErrorQueries.tide_by_metric <detlens.app.error_queries.ErrorQueries.tide_by_metric>`.
    """
    buckets = doc["buckets"]
    n = len(buckets)
    ticks = [range_label(b["low"], b["high"], i == n - 1) for i, b in enumerate(buckets)]
    fig = go.Figure()
    for error in ErrorType:
        fig.add_trace(go.Bar(
            name=f"{error.value} ({ERROR_WORDS[error]})", x=list(range(n)),
            y=[b["counts"][error] for b in buckets], marker_color=ERROR_COLORS[error],
            customdata=[[error.value, b["low"], b["high"], int(i == n - 1), delta_text(b["delta_ap"][error]), ticks[i]]
                        for i, b in enumerate(buckets)],
            hovertemplate="%{customdata[5]}: %{y:,} %{customdata[0]}<br>ΔAP if fixed in this bucket "
                          "%{customdata[4]}<extra></extra>"))
    fig.update_xaxes(title_text=x_title, tickmode="array", tickvals=list(range(n)), ticktext=ticks)
    fig.update_yaxes(title_text="errors", rangemode="tozero")
    return styled(fig, title, 420, barmode="stack", showlegend=True, legend=dict(orientation="h", y=-0.3),
                   margin=dict(l=60, r=20, t=50, b=130))
