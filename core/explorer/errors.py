"""Each object's TIDE error type and confusion-matrix cell, as columns the Explorer's filter reads.

Rules (tested in ``tests/test_explorer_errors.py``):

``error``
    A false-positive prediction of a selected class: its TIDE type (``Cls``, ``Loc``, ``Both``,
    ``Dupe``, ``Bkg``: :func:`detlens.core.tide.classify_errors`); a false-negative label no fix
    recovers: ``Miss``; every other row: ``""``.

``confusion_label``, ``confusion_pred``
    The cell of the confusion matrix (:func:`detlens.core.confusion.confusion_matrix`, its own
    class-agnostic pairing) an object is counted in, by the class names of its row and column
    (``"background"`` for index K). A prediction taking part counts in ``[its paired label's
    class or background, its class]``; a label taking part that no prediction took counts in
    ``[its class, background]``; a paired label is counted by its prediction, so it and every
    object not taking part have ``""`` in both. Each cell's count is therefore the number of rows
    with that pair.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from detlens.core.confusion import BACKGROUND, ConfusionMatrix
from detlens.core.dataset import Dataset
from detlens.core.tide import FP_TYPES, ErrorClassification
from detlens.core.vocabulary import ErrorType

ERROR_COLUMNS = ("error", "confusion_label", "confusion_pred")


def error_columns(dataset: Dataset, errors: ErrorClassification | None,
                  confusion: ConfusionMatrix | None) -> dict[str, np.ndarray]:
    """The columns of the module docstring, each ``(P + L,)`` object array of str in object-table row order.

    ``errors`` or ``confusion`` None (not computable at this view, e.g. TIDE under VOC matching): their
    columns are all ``""``.
    """
    n_p, n_l = len(dataset.predictions), len(dataset.labels)
    error = np.full(n_p + n_l, "", object)
    if errors is not None:
        types = np.array([t.value for t in FP_TYPES], object)
        typed = np.flatnonzero(errors.pred_type >= 0)
        error[typed] = types[errors.pred_type[typed]]
        error[n_p + np.flatnonzero(errors.label_miss)] = ErrorType.MISS.value
    cell_label, cell_pred = np.full(n_p + n_l, "", object), np.full(n_p + n_l, "", object)
    if confusion is not None:
        names = dataset.category_names.astype(object)
        preds = np.flatnonzero(confusion.pred_taking_part)
        paired = confusion.pred_label[preds]
        cell_pred[preds] = names[dataset.predictions.category_index[preds]]
        cell_label[preds] = np.where(paired >= 0, names[dataset.labels.category_index[np.maximum(paired, 0)]],
                                     BACKGROUND)
        taken = np.zeros(n_l, bool)
        taken[paired[paired >= 0]] = True
        lone = np.flatnonzero(confusion.label_taking_part & ~taken)
        cell_label[n_p + lone] = names[dataset.labels.category_index[lone]]
        cell_pred[n_p + lone] = BACKGROUND
    return {"error": error, "confusion_label": cell_label, "confusion_pred": cell_pred}


def with_errors(table: pd.DataFrame, columns: dict[str, np.ndarray]) -> pd.DataFrame:
    """``table`` (an object table) with the :func:`error_columns` added; ``table`` itself is not changed."""
    out = table.copy(deep=False)
    for name, values in columns.items():
        out[name] = values
    return out
