"""Which rows of the object table the Explorer shows, in which order, and how many of each outcome.

Rules (tested in ``tests/test_explorer_core.py``):

Outcome groups
    Each row of the object table (:mod:`detlens.core.explorer.table`) is in one
    group (:class:`~detlens.core.vocabulary.OutcomeGroup`); a filter keeps the
    rows of any of its groups:

    ======================  ==========================================
    group                   rows
    ======================  ==========================================
    ``TP``                  predictions that are true positives
    ``FP``                  every false-positive prediction
    ``FP:<reason>``         false positives of one reason (``FP:duplicate``, ...)
    ``FN``                  missed labels
    ``detected``            labels that were found (the label side of a TP)
    ``ignored``             ignored predictions and labels (crowd, max_dets, min score)
    ======================  ==========================================

    A false positive without a reason (a match made without reasons) is in
    group ``FP``; ``FP`` is kept by ``FP`` or by all four ``FP:<reason>``
    groups together. The default groups (``TP``, ``FP``, ``FN``) show each
    object once: a match by its prediction. ``TP`` + ``FP`` are the rows of a
    TPR bucket of :func:`detlens.core.analysis.performance_by_metric`; ``FN`` +
    ``detected`` the rows of an FNR bucket
    (:attr:`~detlens.core.vocabulary.Side.groups`).

Error types and confusion cells
    ``error_types`` keeps the rows whose TIDE type (column ``error``) is one of them;
    ``confusion`` = ``(label class, predicted class)`` keeps the rows counted in that cell of the
    confusion matrix (columns ``confusion_label``, ``confusion_pred``; ``"background"`` for the
    background row or column). The columns are joined to the table at the view
    (:mod:`detlens.core.explorer.errors`); a filter using them on a table without them is refused.

Compare groups
    In compare mode the table holds run A's rows, run B's predictions after
    them and a ``change`` column (:mod:`detlens.core.compare_objects`: each
    object's :class:`~detlens.core.vocabulary.CompareGroup`, "" for none). A
    filter's ``compare`` group keeps the rows of that group *instead of* the
    outcome groups (a group holds labels and false positives of both runs,
    which the outcome groups would split); the other parts apply as usual. A
    table without a ``change`` column (no run B) refuses a compare group.

Ranges
    A metric range ``[low, high)`` keeps values ``low <= v < high``, or
    ``low <= v <= high`` when ``high_closed``: exactly
    :func:`detlens.core.buckets.assign_buckets` for bucket edges. NaN never passes a
    metric range. The confidence range is closed and applies to predictions
    only (labels have no confidence and pass it).

Order
    Rows sort by one column, stable, ties by ``row``; NaN last in both directions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from detlens.core.vocabulary import CompareGroup, ErrorType, ObjectKind, Outcome, OutcomeGroup

DEFAULT_OUTCOMES = OutcomeGroup.defaults()
COMPARE_COLUMN = "change"  # compare mode's column of each row's CompareGroup value ("" for none)


def expand_fp(groups: Iterable[OutcomeGroup | str]) -> tuple[OutcomeGroup, ...]:
    """The groups with ``FP`` written as every ``FP:<reason>`` group (the form a checklist shows), in order, once each.

    Raises:
        ValueError: a value that is not an :class:`~detlens.core.vocabulary.OutcomeGroup`.
    """
    out: list[OutcomeGroup] = []
    for group in map(OutcomeGroup, groups):
        out += OutcomeGroup.fp_groups() if group is OutcomeGroup.FP else [group]
    return tuple(dict.fromkeys(out))


@dataclass(frozen=True)
class ExplorerFilter:
    """Which objects the Explorer shows.

    Attributes:
        outcomes: outcome groups (see the module docstring), stored as
            :class:`~detlens.core.vocabulary.OutcomeGroup`; empty keeps nothing.
        classes: class names to keep, or None for all (applied on top of the page's class filter).
        metric: metric column name the range applies to, or None.
        low, high: metric range bounds (None = unbounded on that side).
        high_closed: True keeps ``v == high`` (the last bucket, a slider range).
        score_low, score_high: confidence range of predictions, closed (None = unbounded).
        compare: a :class:`~detlens.core.vocabulary.CompareGroup` (compare mode), or None.
        error_types: TIDE error types to keep (:class:`~detlens.core.vocabulary.ErrorType`), or None for any.
        confusion: ``(label class, predicted class)`` of one confusion-matrix cell, or None.

    Raises:
        ValueError: an outcome that is not an outcome group, an error type that is not one, or a
            confusion cell that is not two names.
    """

    outcomes: tuple[OutcomeGroup, ...] = DEFAULT_OUTCOMES
    classes: tuple[str, ...] | None = None
    metric: str | None = None
    low: float | None = None
    high: float | None = None
    high_closed: bool = True
    score_low: float | None = None
    score_high: float | None = None
    compare: CompareGroup | None = None
    error_types: tuple[ErrorType, ...] | None = None
    confusion: tuple[str, str] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "outcomes", tuple(OutcomeGroup(o) for o in self.outcomes))
        if self.compare is not None:
            object.__setattr__(self, "compare", CompareGroup(self.compare))
        if self.error_types is not None:
            object.__setattr__(self, "error_types", tuple(ErrorType(e) for e in self.error_types))
        if self.confusion is not None:
            cell = tuple(self.confusion)
            if len(cell) != 2 or not all(isinstance(c, str) for c in cell):
                raise ValueError("a confusion cell is two class names: (label class, predicted class)")
            object.__setattr__(self, "confusion", cell)

    @property
    def needs_errors(self) -> bool:
        """True when the filter reads the error columns (:data:`~detlens.core.explorer.errors.ERROR_COLUMNS`)."""
        return self.error_types is not None or self.confusion is not None

    def to_dict(self) -> dict:
        """Small JSON for a ``dcc.Store`` (outcomes as their string values)."""
        return {"outcomes": [o.value for o in self.outcomes],
                "classes": None if self.classes is None else list(self.classes),
                "metric": self.metric, "low": self.low, "high": self.high, "high_closed": self.high_closed,
                "score_low": self.score_low, "score_high": self.score_high,
                "compare": None if self.compare is None else self.compare.value,
                "error_types": None if self.error_types is None else [e.value for e in self.error_types],
                "confusion": None if self.confusion is None else list(self.confusion)}

    @staticmethod
    def from_dict(doc: dict | None) -> ExplorerFilter:
        """The filter of :meth:`to_dict` (None or {} gives the default filter)."""
        doc = doc or {}
        classes = doc.get("classes")
        num = {k: None if doc.get(k) is None else float(doc[k]) for k in ("low", "high", "score_low", "score_high")}
        errors, cell = doc.get("error_types"), doc.get("confusion")
        return ExplorerFilter(outcomes=tuple(doc.get("outcomes", DEFAULT_OUTCOMES)),
                              classes=None if classes is None else tuple(str(c) for c in classes),
                              metric=doc.get("metric"), high_closed=bool(doc.get("high_closed", True)),
                              compare=doc.get("compare"),
                              error_types=None if errors is None else tuple(errors),
                              confusion=None if cell is None else tuple(cell), **num)

    def without(self, part: str) -> ExplorerFilter:
        """This filter with one part reset: "outcomes", "classes", "metric" (and its range), "score" or
        "errors" (error types and confusion cell)."""
        resets = {"outcomes": dict(outcomes=DEFAULT_OUTCOMES), "classes": dict(classes=None),
                  "metric": dict(metric=None, low=None, high=None, high_closed=True),
                  "score": dict(score_low=None, score_high=None), "errors": dict(error_types=None, confusion=None)}
        return replace(self, **resets[part])


def _equal(table: pd.DataFrame, column: str, value: str) -> np.ndarray:
    """``(N,)`` bool: rows whose ``column`` is ``value`` (compared on codes for a categorical column)."""
    return np.array((table[column] == str(value)).to_numpy(bool))  # a copy: pandas may hand out a read-only view


def _group_masks(table: pd.DataFrame) -> dict[str, np.ndarray]:
    """``{group value: (N,) bool}`` of every outcome group except ``FP`` (see the module docstring)."""
    is_label = _equal(table, "kind", ObjectKind.LABEL)
    is_tp, is_fp = _equal(table, "outcome", Outcome.TP), _equal(table, "outcome", Outcome.FP)
    masks = {OutcomeGroup.TP.value: is_tp & ~is_label, OutcomeGroup.DETECTED.value: is_tp & is_label,
             OutcomeGroup.FN.value: _equal(table, "outcome", Outcome.FN),
             OutcomeGroup.IGNORED.value: _equal(table, "outcome", Outcome.IGNORED)}
    for group in OutcomeGroup.fp_groups():
        masks[group.value] = is_fp & _equal(table, "reason", group.value.split(":", 1)[1])
    return masks


def outcome_groups(table: pd.DataFrame) -> np.ndarray:
    """``(N,)`` object array: each row's outcome group value ("TP", "FP:duplicate", "FN", "detected", ...)."""
    group = np.full(len(table), OutcomeGroup.FP.value, object)  # a false positive without a reason stays "FP"
    for value, mask in _group_masks(table).items():
        group[mask] = value
    return group


def outcome_mask(table: pd.DataFrame, outcomes: Iterable[OutcomeGroup | str]) -> np.ndarray:
    """``(N,)`` bool: rows in any of the outcome groups (``FP`` = every false positive)."""
    wanted = {OutcomeGroup(o) for o in outcomes}
    every_fp = OutcomeGroup.FP in wanted or set(OutcomeGroup.fp_groups()) <= wanted
    keep = _equal(table, "outcome", Outcome.FP) if every_fp else np.zeros(len(table), bool)
    masks = _group_masks(table) if wanted - {OutcomeGroup.FP} else {}
    for group in wanted - {OutcomeGroup.FP}:
        keep |= masks[group.value]
    return keep


def range_mask(values: np.ndarray, low: float | None, high: float | None, high_closed: bool = True) -> np.ndarray:
    """``(N,)`` bool: ``low <= v < high`` (``<= high`` when ``high_closed``); NaN fails; None = unbounded."""
    v = np.asarray(values, np.float64)
    keep = ~np.isnan(v)
    if low is not None:
        keep &= v >= low
    if high is not None:
        keep &= (v <= high) if high_closed else (v < high)
    return keep


def filter_mask(table: pd.DataFrame, flt: ExplorerFilter, classes: list[str] | None = None,
                skip_metric: bool = False) -> np.ndarray:
    """``(N,)`` bool rows kept by ``flt`` within the page's ``classes`` (None = all).

    ``skip_metric`` leaves the metric range out (for the histogram under the range slider).

    Raises:
        ValueError: the filter's metric is not a column of the table, or it filters by error type or
            confusion cell and the table has no error columns.
    """
    if flt.compare is None:
        keep = outcome_mask(table, flt.outcomes)
    elif COMPARE_COLUMN not in table.columns:
        raise ValueError("A compare group needs a run to compare with: pick one under 'Compare with'.")
    else:
        keep = table[COMPARE_COLUMN].to_numpy() == flt.compare.value
    if flt.needs_errors and "error" not in table.columns:
        raise ValueError("the error-type filter needs the error columns (detlens.core.explorer.errors)")
    if flt.error_types is not None:
        keep &= np.isin(table["error"].to_numpy(), [e.value for e in flt.error_types])
    if flt.confusion is not None:
        keep &= ((table["confusion_label"].to_numpy() == flt.confusion[0])
                 & (table["confusion_pred"].to_numpy() == flt.confusion[1]))
    for subset in (classes, flt.classes):
        if subset is not None:
            keep &= table["class"].isin(list(subset)).to_numpy()
    if flt.metric is not None and not skip_metric:
        if flt.metric not in table.columns:
            raise ValueError(f"unknown metric {flt.metric!r}")
        keep &= range_mask(table[flt.metric].to_numpy(), flt.low, flt.high, flt.high_closed)
    if flt.score_low is not None or flt.score_high is not None:
        is_pred = _equal(table, "kind", ObjectKind.PREDICTION)
        keep &= ~is_pred | range_mask(table["score"].to_numpy(), flt.score_low, flt.score_high)
    return keep


def filter_objects(table: pd.DataFrame, flt: ExplorerFilter, classes: list[str] | None = None) -> pd.DataFrame:
    """The rows of ``table`` kept by ``flt`` within ``classes`` (see :func:`filter_mask`)."""
    return table[filter_mask(table, flt, classes)]


def sort_objects(table: pd.DataFrame, by: str, descending: bool = False) -> pd.DataFrame:
    """Rows sorted by column ``by`` (stable, ties by row; NaN last in both directions).

    Raises:
        ValueError: ``by`` is not a column.
    """
    if by not in table.columns:
        raise ValueError(f"cannot sort by unknown column {by!r}")
    return table.sort_values([by, "row"], ascending=[not descending, True], kind="stable", na_position="last")


def outcome_counts(table: pd.DataFrame) -> dict[str, int]:
    """``{"objects", "TP", "FP", "FN", "detected", "ignored"}`` row counts (int) of a (filtered) table.

    ``FP`` counts every false positive, whatever its reason.
    """
    masks = _group_masks(table)
    counts = {"objects": int(len(table))}
    for name in (OutcomeGroup.TP, OutcomeGroup.FP, OutcomeGroup.FN, OutcomeGroup.DETECTED, OutcomeGroup.IGNORED):
        in_group = _equal(table, "outcome", Outcome.FP) if name is OutcomeGroup.FP else masks[name.value]
        counts[name.value] = int(np.count_nonzero(in_group))
    return counts
