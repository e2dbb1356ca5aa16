"""The minimum-confidence mode: one minimum for every class, or each class's F1-optimal threshold.

The selector sits under the minimum-confidence slider; in a per-class mode the
slider is disabled and the table of the thresholds in use (collapsed at first)
shows under the filters.
"""

from __future__ import annotations

import math

import dash_bootstrap_components as dbc
from dash import html

from detlens.core.vocabulary import MinScoreMode
from detlens.layouts import ids

NO_THRESHOLD = "none: keeps all"  # a class without an F1-optimal threshold (no labels, no predictions, or F1 0)


def mode_selector(mode: MinScoreMode = MinScoreMode.GLOBAL) -> dbc.RadioItems:
    """The radio buttons of every :class:`~detlens.core.vocabulary.MinScoreMode` (its ``label``), ``mode`` chosen."""
    return dbc.RadioItems(id=ids.MIN_SCORE_MODE, value=mode.value, className="small mt-2",
                          options=[{"label": m.label, "value": m.value} for m in MinScoreMode])


def _number(x: float | None, digits: int = 3) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def thresholds_details(points: dict[str, dict], beta_key: str, where: str) -> html.Details:
    """A collapsed table of the per-class thresholds in use.

    Args:
        points: ``{class name: OperatingPoint.to_dict()}`` of the shown classes, in display order.
        beta_key: the F-beta column of the points (``"F1"``).
        where: what they were chosen at, e.g. ``"IoU 0.50"``.
    """
    header = html.Thead(html.Tr([html.Th(h) for h in ("Class", "Threshold", "Precision", "Recall", beta_key,
                                                       "Precision kept", "Recall kept")]))
    rows = [html.Tr([html.Td(name, className="text-break"),
                     html.Td(NO_THRESHOLD if p["score"] is None else _number(p["score"], 4)),
                     html.Td(_number(p["precision"])), html.Td(_number(p["recall"])), html.Td(_number(p[beta_key])),
                     html.Td(_number(p["precision_at_score"])), html.Td(_number(p["recall_at_score"]))])
            for name, p in points.items()]
    return html.Details(className="mt-3 small", children=[
        html.Summary(f"Per-class thresholds in use: {beta_key}-optimal at {where} ({len(points)} classes)",
                     className="fw-semibold"),
        html.P(className="text-muted mt-2 mb-1", children=(
            f"Each class keeps its predictions scoring at or above its threshold. Precision, recall and {beta_key} "
            "are the class's optimum on the interpolated precision-recall curve (as hotcoco's f_scores); "
            "'kept' are the precision and recall of the predictions the threshold keeps.")),
        html.Div(dbc.Table([header, html.Tbody(rows)], size="sm", striped=True, className="mb-0 w-auto"),
                 style={"maxHeight": "320px", "overflowY": "auto"}),
    ])
