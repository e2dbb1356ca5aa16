"""Plotly figure builders: plain functions from small JSON documents to figures.

Inputs are the documents the query service returns (evaluation
document, ranking list, bucket table dict), so every builder is testable
without a server. Figures stay small: at most ``MAX_PR_CLASSES`` precision-
recall curves of at most 200 points each, at most ``PERF_PANELS_MAX`` class
panels in a decomposed performance chart.

Readability rules: class names longer than ``CLASS_NAME_MAX_CHARS`` are cut
with "…" (:func:`ellipsize`) and shown whole on hover; every class gets its
tick label (explicit tick values, never plotly's automatic skipping); count
axes tick at round steps (:func:`count_axis`); legends and titles count what
is drawn.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass

import plotly.graph_objects as go
from plotly.colors import sample_colorscale

from detlens.callbacks.text import bucket_labels
from detlens.core.findings import MIN_BUCKET_TOTAL
from detlens.core.settings import CLASS_NAME_MAX_CHARS, MAX_PR_CLASSES, PERF_PANEL_COLUMNS



def cartesian_template(name: str = "plotly_white", traces: tuple[str, ...] = ("bar", "scatter")) -> go.layout.Template:
    """Plotly's template ``name`` cut to what 2-D bar and line charts use: its page and axis styling, colours
    and the defaults of ``traces``. A figure's template is validated and copied into it; the whole
    ``plotly_white`` (colour scales, 3-D scenes, maps, every trace type) took about 20 ms per figure and
    8 kB per response, this cut 2-3 ms and 1 kB, and draws the same charts."""
    import plotly.io as pio

    full = pio.templates[name].to_plotly_json()
    layout = {k: v for k, v in full["layout"].items() if k in CARTESIAN_LAYOUT}
    return go.layout.Template(layout=layout, data={k: v for k, v in full["data"].items() if k in traces})


CARTESIAN_LAYOUT = ("autotypenumbers", "colorway", "font", "hovermode", "hoverlabel", "paper_bgcolor", "plot_bgcolor",
                    "xaxis", "yaxis", "shapedefaults", "annotationdefaults", "title")
TEMPLATE = cartesian_template()
TPR_COLOR, FNR_COLOR = "#1f7a5c", "#c8553d"
UNDER_MINIMUM_COLOR = "#adb5bd"  # buckets with fewer objects than the minimum count
AP_COLOR, AR_COLOR = "#3b6fb6", "#9ab8e0"
CORRELATION_SCALE = "RdBu"  # diverging: red negative, white 0, blue positive
FONT = dict(family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", size=12)


def _base_layout(template, title: str, height: int, **extra) -> dict:
    """The dashboard's template, title, height, margins and font; ``extra`` replaces a default whole."""
    layout = dict(template=template, title=dict(text=title, x=0.01, font=dict(size=15)), height=height,
                  margin=dict(l=60, r=20, t=50, b=50), font=FONT)
    layout.update(extra)
    return layout


def _layout(fig: go.Figure, title: str, height: int, **extra) -> go.Figure:
    fig.update_layout(**_base_layout(TEMPLATE, title, height, **extra))
    return fig


TEMPLATE_JSON = TEMPLATE.to_plotly_json()  # the template as a figure dict holds it (never modified)


def layout_dict(title: str, height: int, xaxis: dict, yaxis: dict, **extra) -> dict:
    """The layout :func:`_layout` gives, as a plain dict (``xaxis``, ``yaxis``: their settings; ``extra``
    replaces a default whole, as ``update_layout`` does with the keys these charts set)."""
    return _base_layout(TEMPLATE_JSON, title, height, xaxis=xaxis, yaxis=yaxis, **extra)


def styled(fig: go.Figure, title: str, height: int, **extra) -> go.Figure:
    """``fig`` with the dashboard's template, font, title and margins (``extra``: other layout settings)."""
    return _layout(fig, title, height, **extra)


def empty_figure(message: str, height: int = 320) -> go.Figure:
    """A blank figure that shows ``message`` in its middle (no data, an error)."""
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, font=dict(size=14, color="#6c757d"),
                       xref="paper", yref="paper", x=0.5, y=0.5)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _layout(fig, "", height)


def ellipsize(name: str, limit: int = CLASS_NAME_MAX_CHARS) -> str:
    """``name`` when at most ``limit`` characters, else its first ``limit - 1`` characters and "…"."""
    return name if len(name) <= limit else name[:limit - 1].rstrip() + "…"


def ap_ar_figure(doc: dict, title: str) -> dict:
    """Horizontal grouped bars: AP and AR of each selected class (classes without labels are left out).

    One row per class, the chart growing 26 px per class so every name keeps
    its tick label (ellipsized, full name in ``customdata[0]`` and on hover).
    A plain figure dict (:func:`pr_figure` says why); ``go.Figure(it)`` validates it.
    """
    rows = [(n, r["AP"], r["AR"]) for n, r in doc["per_class"].items() if r["AP"] is not None]
    names = [r[0] for r in rows]
    full = [[n] for n in names]
    bars = [dict(type="bar", name=measure, y=names, x=[r[k] for r in rows], orientation="h",
                 marker=dict(color=color), customdata=full,
                 hovertemplate=f"%{{customdata[0]}}<br>{measure} %{{x:.3f}}<extra></extra>")
            for measure, k, color in (("AP", 1, AP_COLOR), ("AR", 2, AR_COLOR))]
    layout = layout_dict(title, max(360, 120 + 26 * len(names)),
                         xaxis=dict(title=dict(text="AP / AR"), range=[0, 1.02]),
                         yaxis=dict(type="category", tickmode="array", tickvals=names,
                                    ticktext=[ellipsize(n) for n in names], autorange="reversed", automargin=True,
                                    title={}),
                         barmode="group", bargap=0.25,
                         legend=dict(orientation="h", x=1, xanchor="right", y=1, yanchor="bottom"),
                         margin=dict(l=10, r=20, t=70, b=50))
    return dict(data=bars, layout=layout)


def pr_classes(doc: dict, limit: int = MAX_PR_CLASSES) -> tuple[list[str], str]:
    """The classes whose curves are drawn, best AP first, and the note the title adds.

    A class has a curve when it has an AP and at least one precision-recall
    point (a class without predictions has none). All such classes are drawn
    when at most ``limit``, else exactly the best and worst ``limit // 2`` by AP
    (ties by name). The note ("" for none) counts what is drawn and the classes without a curve.
    """
    with_ap = [n for n, r in doc["per_class"].items() if r["AP"] is not None]
    curved = [n for n in with_ap if doc["pr"].get(n, {}).get("recall")]
    names = sorted(curved, key=lambda n: (-doc["per_class"][n]["AP"], n))
    parts = []
    if len(names) > limit:
        half = limit // 2
        parts.append(f"{half} best and {half} worst of {len(names)} classes by AP")
        names = names[:half] + names[-half:]
    if len(curved) < len(with_ap):
        missing = len(with_ap) - len(curved)
        parts.append(f"{missing} class{'es' if missing > 1 else ''} without predictions: no curve")
    return names, "; ".join(parts)


def pr_figure(doc: dict, title: str) -> dict:
    """Precision-recall curve of each (or the best and worst) selected class, AP in the legend.

    A plain figure dict: built as ``go.Figure`` traces, plotly validated and copied every point of every
    curve (45 ms of the 50 ms a Metrics answer took at 5M predictions, for each view); ``go.Figure(it)``
    validates it (the tests do).
    """
    names, note = pr_classes(doc)
    traces = []
    for name in names:
        curve = doc["pr"][name]
        scores = curve.get("score")  # absent in documents cached by older versions
        traces.append(dict(
            type="scatter", x=list(curve["recall"]), y=list(curve["precision"]),
            mode="lines" if len(curve["recall"]) > 1 else "markers",
            name=f"{ellipsize(name)} (AP {doc['per_class'][name]['AP']:.2f})",
            customdata=None if scores is None else [[name, s] for s in scores],
            hovertemplate=(f"{name}<br>recall %{{x:.3f}}<br>precision %{{y:.3f}}"
                           + ("" if scores is None else "<br>confidence ≥ %{customdata[1]:.3f}") + "<extra></extra>")))
    # the note goes on a line of its own: it would be cut off at the chart's width
    layout = layout_dict(f"{title}<br><span style='font-size:11px'>{note}</span>" if note else title, 360,
                         xaxis=dict(title=dict(text="recall"), range=[0, 1.01]),
                         yaxis=dict(title=dict(text="precision"), range=[0, 1.02]),
                         legend=dict(font=dict(size=11)), margin=dict(l=60, r=20, t=70 if note else 50, b=50))
    return dict(data=traces, layout=layout)


def _wrap(text: str) -> str:
    return "<br>".join(textwrap.wrap(text, 60))


def _ranking_axis(ranking: list[dict]) -> dict:
    return dict(categoryorder="array", categoryarray=[d["metric"] for d in ranking], autorange="reversed",
                title=None, automargin=True)


def _ranking_height(ranking: list[dict]) -> int:
    return 90 + 24 * max(len(ranking), 3)


def importance_figure(ranking: list[dict], metrics: dict, title: str) -> go.Figure:
    """Horizontal bars of importance (0 to 1) with their 90% intervals, most important at the top,
    description on hover.

    Args:
        ranking: ``MetricDependency.to_dict()`` rows, most important first.
        metrics: ``{name: MetricInfo.to_dict()}`` for the descriptions.
        title: figure title.
    """
    names = [d["metric"] for d in ranking]
    values = [d["importance"] or 0.0 for d in ranking]
    text = ["n/a" if d["importance"] is None else f"{d['importance']:.3f}" for d in ranking]
    hover = [_wrap(metrics.get(n, {}).get("description", "")) for n in names]
    low = [d.get("importance_low") for d in ranking]
    high = [d.get("importance_high") for d in ranking]
    interval = [f"[{lo:.3f}, {hi:.3f}]" if lo is not None and hi is not None else "n/a" for lo, hi in zip(low, high)]
    fig = go.Figure(go.Bar(
        x=values, y=names, orientation="h", marker_color="#3b6fb6", text=text, textposition="outside",
        error_x=dict(type="data", symmetric=False, color="#555", thickness=1.2, width=3,
                     array=[0.0 if hi is None else max(hi - v, 0.0) for hi, v in zip(high, values)],
                     arrayminus=[0.0 if lo is None else max(v - lo, 0.0) for lo, v in zip(low, values)]),
        customdata=[[h, i] for h, i in zip(hover, interval)],
        hovertemplate="<b>%{y}</b><br>importance %{text}, 90% interval %{customdata[1]}<br>%{customdata[0]}"
                      "<extra></extra>"))
    fig.update_xaxes(title="importance (share of the outcome's uncertainty explained; bars: 90% interval)",
                     range=[0, 1.08])
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


def bucket_customdata(edges: list[float], curve: dict, side: str, class_name: str = "") -> list[list]:
    """Per bucket ``[count, low, high, edge_lo, edge_hi, side, class, last]``: what a click on it selects.

    ``side`` is "TPR" (the bucket's counted predictions) or "FNR" (its counted
    labels); ``last`` is 1 for the last bucket, whose upper edge is included.
    """
    n = len(edges) - 1
    low, high = curve.get("low") or [None] * n, curve.get("high") or [None] * n
    return [[curve["totals"][b], low[b], high[b], edges[b], edges[b + 1], side, class_name, int(b == n - 1)]
            for b in range(n)]


SIDES = (("TPR", TPR_COLOR, "predictions"), ("FNR", FNR_COLOR, "labels"))
# the legend (up to 3 rows) sits between the title, pinned to the top, and the plot
PERF_MARGIN = dict(l=60, r=60, t=120, b=95)


def count_axis(max_count: float, ticks: int = 4) -> tuple[int, int]:
    """``(dtick, top)`` of a count axis: a round whole step (1, 2, 5 or 2.5 × 10^k) giving at most
    ``ticks`` intervals up to ``max_count``, and the axis top, the first multiple of it at or above.

    E.g. 89 → (25, 100): ticks 0, 25, 50, 75, 100; 3 → (1, 3); 0 → (1, 1).
    """
    if max_count <= 0:
        return 1, 1
    raw = max_count / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10)
                if m * magnitude >= raw and float(m * magnitude).is_integer() or m == 10)
    step = max(int(round(step)), 1)
    return step, step * math.ceil(max_count / step)


def under_minimum(curve: dict, min_count: int) -> list[bool]:
    """Per bucket: True when it holds fewer than ``min_count`` rows (drawn grey, not used for findings)."""
    return [total < min_count for total in curve["totals"]]


@dataclass(frozen=True)
class Panel:
    """One panel of the performance chart: the pooled curves (``class_name`` "") or one class's.

    Attributes:
        class_name: the class, or "" for every selected class together.
        curves: ``{"TPR": RateCurve.to_dict() or None, "FNR": ...}``.
        finding: the sentence shown above a class's panel ("" for none).
    """

    class_name: str
    curves: dict
    finding: str = ""


@dataclass(frozen=True)
class _Grid:
    """Where each panel's subplots go: paper domains and the figure's height in px."""

    cells: list  # per panel: ((x0, x1), [(y0, y1) per stacked subplot], title top y)
    height: int
    plot_px: int


def _grid(n_panels: int, columns: int, subplots: int, titled: bool, sub_px: int) -> _Grid:
    title_px, stack_gap, row_gap, h_gap = (64 if titled else 0), 14, 30, 0.045
    rows = math.ceil(n_panels / columns)
    block = title_px + subplots * sub_px + (subplots - 1) * stack_gap
    plot_px = rows * block + (rows - 1) * row_gap
    width = (1 - (columns - 1) * h_gap) / columns
    cells = []
    for p in range(n_panels):
        r, c = divmod(p, columns)
        top = r * (block + row_gap)
        ys = []
        for s in range(subplots):
            y_top = top + title_px + s * (sub_px + stack_gap)
            ys.append((1 - (y_top + sub_px) / plot_px, 1 - y_top / plot_px))
        cells.append(((c * (width + h_gap), c * (width + h_gap) + width), ys, 1 - top / plot_px))
    return _Grid(cells, plot_px + PERF_MARGIN["t"] + PERF_MARGIN["b"], plot_px)


def _axis(n: int, letter: str) -> str:
    return letter if n == 1 else f"{letter}{n}"


def _hover(side: str, noun: str, class_name: str) -> str:
    who = f"{side} {class_name}" if class_name else side
    return (f"{who} %{{customdata[8]}}<br>%{{customdata[0]:,}} {noun}%{{customdata[9]}}"
            f"<extra>%{{x}}</extra>")


def _side_traces(x: list, edges: list, curve: dict, side: str, color: str, noun: str, class_name: str,
                 min_count: int, axes: dict) -> list:
    """Counts behind, 95% band, dashed average, the rate line (gaps at buckets under ``min_count``)
    and grey markers for those buckets, all carrying the bucket's click ``customdata``."""
    grey = under_minimum(curve, min_count)
    custom = [d + [("n/a" if d[0] == 0 else f"{r:.3f} [{lo:.2f}, {hi:.2f}]"),
                   (f": under the minimum count {min_count}, not used for findings" if g else "")]
              for d, r, lo, hi, g in zip(bucket_customdata(edges, curve, side, class_name), curve["rate"],
                                         curve["low"], curve["high"], grey)]
    kept = [None if g else r for r, g in zip(curve["rate"], grey)]
    greyed = [r if g else None for r, g in zip(curve["rate"], grey)]
    suffix = f" {class_name}" if class_name else ""
    line_name = f"{side}{suffix}" if class_name else f"{side} of {noun}"
    shown = dict(showlegend=not class_name)  # class panels: one legend key per kind instead (_legend_keys)
    traces = [go.Bar(x=x, y=curve["totals"], name=f"{noun} per bucket{suffix}", marker_color=color, opacity=0.12,
                     customdata=custom, hovertemplate=f"%{{y:,}} {noun}{suffix}<extra>%{{x}}</extra>",
                     legendgroup=f"{noun} per bucket", **axes["counts"], **shown)]
    traces.append(go.Scatter(x=x, y=[None if g else h for h, g in zip(curve["high"], grey)], mode="lines",
                             line=dict(width=0), hoverinfo="skip", showlegend=False, legendgroup=f"{side} band",
                             name=f"{side}{suffix} 95% upper bound", **axes["rates"]))
    traces.append(go.Scatter(x=x, y=[None if g else lo for lo, g in zip(curve["low"], grey)], mode="lines",
                             line=dict(width=0), fill="tonexty", fillcolor=color + "33", hoverinfo="skip",
                             name=f"{side}{suffix} 95% interval", legendgroup=f"{side} band", **axes["rates"], **shown))
    if curve["average"] is not None:
        traces.append(go.Scatter(x=[x[0], x[-1]], y=[curve["average"]] * 2, mode="lines",
                                 line=dict(color=color, dash="dash", width=1.5), hoverinfo="skip",
                                 name=f"average {side}{suffix} {curve['average']:.2f}", **axes["rates"], **shown))
    traces.append(go.Scatter(x=x, y=kept, mode="lines+markers", name=line_name, customdata=custom,
                             line=dict(color=color, width=2.5), marker=dict(size=7), legendgroup=side,
                             hovertemplate=_hover(side, noun, class_name), **axes["rates"], **shown))
    if any(g and r is not None for g, r in zip(grey, curve["rate"])):
        traces.append(go.Scatter(x=x, y=greyed, mode="markers", name=f"{side}{suffix} under {min_count} {noun}",
                                 customdata=custom, marker=dict(size=7, color=UNDER_MINIMUM_COLOR, opacity=0.7),
                                 legendgroup="under minimum", hovertemplate=_hover(side, noun, class_name),
                                 **axes["rates"], **shown))
    return traces


def _legend_keys(min_count: int) -> list:
    """Legend entries of a chart of class panels (its traces stay out of the legend: one key per kind)."""
    key = dict(x=[None], y=[None], hoverinfo="skip")
    return [go.Scatter(name="TPR of predictions", mode="lines+markers", line=dict(color=TPR_COLOR), **key),
            go.Scatter(name="FNR of labels", mode="lines+markers", line=dict(color=FNR_COLOR), **key),
            go.Scatter(name="class average (dashed)", mode="lines", line=dict(color="#555", dash="dash"), **key),
            go.Scatter(name=f"bucket under {min_count} objects (not used for findings)", mode="markers",
                       marker=dict(color=UNDER_MINIMUM_COLOR, size=7), **key),
            go.Bar(name="objects per bucket", marker_color="#888", opacity=0.25, **key)]


def _panel_title(panel: Panel) -> str:
    counts = [f"{panel.curves[s]['count']:,} {noun}" for s, _, noun in SIDES if panel.curves.get(s)]
    finding = "<br>".join(textwrap.wrap(panel.finding, 70))
    return (f"<b>{ellipsize(panel.class_name)}</b> <span style='color:#6c757d'>· {' · '.join(counts)}</span>"
            f"<br><span style='font-size:11px;color:#333'>{finding}</span>")


def performance_figure(table: dict, x_title: str, title: str, decomposed: bool = False, *,
                       panels: list[Panel] | None = None, min_count: int = MIN_BUCKET_TOTAL,
                       stacked: bool = False, columns: int = PERF_PANEL_COLUMNS) -> go.Figure:
    """TPR over predictions and FNR over labels per bucket, 95% bands, dashed averages, counts behind.

    Buckets with fewer than ``min_count`` rows are drawn as grey markers, out
    of the line and the band. Every bucket mark carries ``customdata``
    ``[count, low, high, edge_lo, edge_hi, side, class, last, rate text, note]``
    (what a click selects: :func:`bucket_customdata`).

    Args:
        table: ``BucketTable.to_dict()``.
        x_title: x axis title (metric name and unit).
        title: figure title.
        decomposed: one panel per class (small multiples sharing the axes): ``panels``, or when None
            every class of ``table["per_class"]``.
        panels: the class panels to draw, in order (their findings above each).
        min_count: rows a bucket needs to be drawn in colour.
        stacked: TPR and FNR in two panels one above the other instead of one panel.
        columns: class panels per row.
    """
    x = bucket_labels(table["edges"])
    if decomposed:
        panels = panels if panels is not None else [Panel(n, c) for n, c in table["per_class"].items()]
    else:
        panels, columns = [Panel("", {s: table[s] for s, _, _ in SIDES})], 1
    sides = [[s] for s in SIDES] if stacked else [list(SIDES)]
    grid = _grid(len(panels), min(columns, max(len(panels), 1)), len(sides), decomposed,
                 (150 if stacked else 190) if decomposed else (210 if stacked else 300))
    dtick, top = count_axis(max((t for p in panels for s, _, _ in SIDES if p.curves.get(s)
                                 for t in p.curves[s]["totals"]), default=0))
    fig = go.Figure()
    layout, n_cols = {}, min(columns, max(len(panels), 1))
    for p, panel in enumerate(panels):
        (x0, x1), ys, title_y = grid.cells[p]
        col, bottom_panel = p % n_cols, p + n_cols >= len(panels)
        for s, (y0, y1) in enumerate(ys):
            j = p * len(sides) + s + 1
            xa, ya, ca = _axis(j, "x"), _axis(2 * j - 1, "y"), _axis(2 * j, "y")
            bottom = bottom_panel and s == len(sides) - 1
            layout[_axis(j, "xaxis")] = dict(domain=[x0, x1], anchor=ya, type="category", showticklabels=bottom,
                                             title=x_title if bottom else None, automargin=True,
                                             **({} if j == 1 else {"matches": "x"}))
            words = ("rate (TPR of predictions, FNR of labels)" if not stacked else
                     f"{sides[s][0][0]} of {sides[s][0][2]}") if not decomposed else (
                     "rate" if not stacked else sides[s][0][0])
            layout[_axis(2 * j - 1, "yaxis")] = dict(domain=[y0, y1], anchor=xa, range=[0, 1.02],
                                                     showticklabels=col == 0, title=words if col == 0 else None)
            last_col = col == n_cols - 1 or p == len(panels) - 1
            layout[_axis(2 * j, "yaxis")] = dict(
                overlaying=ya, anchor=xa, side="right", showgrid=False, range=[0, top], tickmode="linear", tick0=0,
                dtick=dtick, tickformat=",d", showticklabels=last_col,
                title=("count per bucket" if not decomposed else "count") if last_col else None)
            axes = {"rates": dict(xaxis=xa, yaxis=ya), "counts": dict(xaxis=xa, yaxis=ca)}
            for side, color, noun in sides[s]:
                if panel.curves.get(side) is not None:
                    fig.add_traces(_side_traces(x, table["edges"], panel.curves[side], side, color, noun,
                                                panel.class_name, min_count, axes))
        if decomposed:
            fig.add_annotation(text=_panel_title(panel), hovertext=panel.class_name, xref="paper", yref="paper",
                               x=x0, y=title_y, xanchor="left", yanchor="top", align="left", showarrow=False)
    if decomposed:
        fig.add_traces(_legend_keys(min_count))
    fig.update_layout(**layout)
    _layout(fig, title, grid.height, barmode="group", bargap=0.1, margin=PERF_MARGIN, hovermode="closest",
            legend=dict(orientation="h", x=0, y=1 + 12 / grid.plot_px, yanchor="bottom", traceorder="normal"))
    return fig.update_layout(title=dict(yref="container", y=1, yanchor="top", pad=dict(t=12)))


def warm_up() -> None:
    """Build each figure once on tiny data, so plotly's lazily imported validators are loaded.

    Called in the server process before background jobs are forked from it: each
    job then starts with them imported instead of paying ~0.1 s every time.
    """
    doc = {"per_class": {"a": {"AP": 0.5, "AR": 0.5}}, "pr": {"a": {"recall": [0, 1], "precision": [1, 0]}}}
    ranking = [{"metric": "A (P)", "importance": 0.1, "correlation": 0.1}]
    curve = {"rate": [0.5], "low": [0.4], "high": [0.6], "totals": [10], "average": 0.5, "count": 10}
    table = {"edges": [0.0, 1.0], "TPR": curve, "FNR": curve, "per_class": {"a": {"TPR": curve, "FNR": curve}}}
    ap_ar_figure(doc, ""), pr_figure(doc, "")  # plain dicts
    for fig in (importance_figure(ranking, {}, ""), correlation_figure(ranking, {}, ""),
                performance_figure(table, "", "", decomposed=True), performance_figure(table, "", ""),
                empty_figure("")):
        fig.to_dict()
