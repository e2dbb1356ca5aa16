"""Callbacks of the minimum-confidence mode: the slider disabled in a per-class mode, and the thresholds in use."""

from __future__ import annotations

from dash import Input, Output

from detlens.callbacks import inputs
from detlens.callbacks.common import DEFAULT_MODE, DEFAULT_RULE, error_alert, view_inputs
from detlens.core.operating_point import f_key
from detlens.core.vocabulary import MinScoreMode
from detlens.layouts import ids
from detlens.layouts.min_score_mode import thresholds_details


def slider_disabled(mode) -> bool:
    """The minimum-confidence slider is disabled in a per-class mode (each class has its own minimum).

    Raises:
        InvalidInput: not a mode (the server answers 400).
    """
    return inputs.min_score_mode(mode) is not MinScoreMode.GLOBAL


def show_thresholds(queries, key, classes, iou, min_score, rule=DEFAULT_RULE, mode=DEFAULT_MODE):
    """In a per-class mode, the collapsed table of the shown classes' thresholds (class, threshold, P, R, F1);
    nothing in the global mode or before the data are ready; a one-line alert for a bad input."""
    try:
        key, classes, iou, min_score, rule, mode = inputs.view(key, classes, iou, min_score, rule, mode)
        if not key or mode is MinScoreMode.GLOBAL:
            return None
        view = queries.view(key, classes, iou, min_score, rule, mode)
        points = queries.class_thresholds(view)
    except Exception as exc:
        return error_alert(exc)
    shown = {name: p for name, p in points.items() if view.classes is None or name in view.classes}
    return thresholds_details(shown, f_key(mode.beta), f"IoU {view.iou:.2f}")


def register(app, queries) -> None:
    """Wire the mode's callbacks to ``app``, answering from ``queries``."""
    app.callback(Output(ids.MIN_SCORE, "disabled"), Input(ids.MIN_SCORE_MODE, "value"))(slider_disabled)

    @app.callback(Output(ids.THRESHOLDS_TABLE, "children"), *view_inputs())
    def _show_thresholds(key, classes, iou, min_score, rule, mode):
        return show_thresholds(queries, key, classes, iou, min_score, rule, mode)
