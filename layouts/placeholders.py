"""What a chart shows before its first result: "computing…" on a blank canvas.

A ``dcc.Graph`` without a figure draws plotly's default empty axes (-1 to 6 on
x, -1 to 4 on y) until its callback answers, which reads as a broken chart.
Every graph of the dashboard starts with :func:`computing_figure` instead.
"""

from __future__ import annotations

COMPUTING = "computing…"


def computing_figure(height: int = 320) -> dict:
    """A plotly figure dict (no traces, hidden axes) showing :data:`COMPUTING` in its middle, ``height`` px tall."""
    return {"data": [], "layout": {
        "height": height, "margin": {"l": 10, "r": 10, "t": 10, "b": 10},
        "xaxis": {"visible": False}, "yaxis": {"visible": False},
        "paper_bgcolor": "white", "plot_bgcolor": "white",
        "annotations": [{"text": COMPUTING, "showarrow": False, "xref": "paper", "yref": "paper", "x": 0.5, "y": 0.5,
                         "font": {"size": 14, "color": "#6c757d"}}]}}
