"""What the page may send to a callback: every input checked where a callback unpacks it.

Dash hands a callback the JSON values the browser posted, and a crafted request
can post anything: a string for the IoU, a huge list of classes, a filter that
is not a filter. Each checker here returns the value in the form the callback
uses, or raises :class:`InvalidInput` (a ``ValueError``) with one sentence that
never repeats the value itself. Callbacks with an alert show that sentence;
the others let it escape, and the server answers 400 (:mod:`detlens.app.errors`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection

from detlens.core.ap_rule import RULES_BY_CODE, APRule
from detlens.core.explorer import ExplorerFilter
from detlens.core.vocabulary import MinScoreMode, OutcomeGroup

MAX_TEXT = 500  # characters of one name the page sends (class, metric, sort column)
MAX_CLASSES = 10_000  # class names in a class selection
MAX_ITEMS = 100  # any other list (outcome groups)
DATASET_KEY = re.compile(r"[0-9a-f]{16,64}")  # a dataset fingerprint or a data source id, as the stores hold them
FILTER_FIELDS = frozenset(ExplorerFilter().to_dict())


class InvalidInput(ValueError):
    """A callback input that the page cannot have sent; the message is one readable sentence."""


def is_dataset_key(value: object) -> bool:
    """True for a string that can be a dataset key or a source id (16 to 64 lowercase hex digits)."""
    return isinstance(value, str) and DATASET_KEY.fullmatch(value) is not None


def dataset_key(value: object) -> str | None:
    """The dataset key of the ``DATA_KEY`` store, or None while nothing is prepared (None or "")."""
    if value is None or value == "":
        return None
    if not is_dataset_key(value):
        raise InvalidInput("The page sent an invalid dataset key: reload the page.")
    return value


def request(value: object, length: int) -> list:
    """The ``length`` values a tab's gate stored for its background callback (see :func:`~detlens.callbacks.common.tab_gate`)."""
    if isinstance(value, list) and len(value) == length:
        return value
    raise InvalidInput("The page sent an invalid request: reload the page.")


def text(value: object, what: str) -> str | None:
    """An optional name (metric, sort column): None, or a string of at most ``MAX_TEXT`` characters."""
    if value is None or (isinstance(value, str) and len(value) <= MAX_TEXT):
        return value
    raise InvalidInput(f"The {what} must be a name of at most {MAX_TEXT} characters.")


def choice(value: object, allowed: Collection[str], what: str) -> str:
    """One of the ``allowed`` strings."""
    if isinstance(value, str) and value in allowed:
        return value
    raise InvalidInput(f"The {what} must be one of: {', '.join(map(str, allowed))}.")


def number(value: object, what: str, low: float, high: float) -> float:
    """A JSON number (not a boolean) within ``[low, high]``, as a float."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            x = float(value)
        except OverflowError:  # an integer of hundreds of digits
            x = math.nan
        if low <= x <= high:
            return x
    raise InvalidInput(f"The {what} must be a number from {low:g} to {high:g}.")


def whole_number(value: object, what: str, low: int, high: int) -> int:
    """An integer within ``[low, high]`` (a float with no fraction counts, a boolean does not)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
        return value
    raise InvalidInput(f"The {what} must be a whole number from {low:,} to {high:,}.")


def optional_number(value: object, what: str) -> float | None:
    """None, or any number (see :func:`number`) as a float."""
    return None if value is None else number(value, what, -math.inf, math.inf)


def number_pair(value: object, what: str) -> list[float] | None:
    """An optional ``[low, high]`` of a range slider: None, or two numbers."""
    if value is None:
        return None
    if isinstance(value, list) and len(value) == 2:
        return [number(v, what, -math.inf, math.inf) for v in value]
    raise InvalidInput(f"The {what} must be two numbers.")


def iou(value: object) -> float:
    """The IoU threshold: a number in (0, 1] (the slider sends 0.05 to 0.95)."""
    x = number(value, "IoU threshold", 0.0, 1.0)
    if x == 0.0:
        raise InvalidInput("The IoU threshold must be above 0.")
    return x


def min_score(value: object) -> float | None:
    """The minimum confidence: None (keep every prediction) or a number in [0, 1]."""
    return None if value is None else number(value, "minimum confidence", 0.0, 1.0)


def min_score_mode(value: object) -> MinScoreMode:
    """The minimum-confidence mode selector's value: a :class:`~detlens.core.vocabulary.MinScoreMode` value."""
    return MinScoreMode(choice(value, [m.value for m in MinScoreMode], "minimum-confidence mode"))


def names(value: object, what: str, limit: int = MAX_CLASSES) -> list[str] | None:
    """An optional list of at most ``limit`` strings of at most ``MAX_TEXT`` characters each."""
    if value is None:
        return None
    if (isinstance(value, list) and len(value) <= limit
            and all(isinstance(v, str) and len(v) <= MAX_TEXT for v in value)):
        return value
    raise InvalidInput(f"The {what} must be a list of at most {limit:,} names.")


def ap_rule(value: object) -> APRule:
    """The AP rule selector's value: an :attr:`APRule.code <detlens.core.ap_rule.APRule.code>` of a listed rule."""
    if isinstance(value, str) and value in RULES_BY_CODE:
        return RULES_BY_CODE[value]
    raise InvalidInput("The AP rule must be one of the rules the selector lists: reload the page.")


def view(key: object, classes: object, iou_value: object, score: object, rule: object,
         mode: object = MinScoreMode.GLOBAL.value) -> tuple:
    """The page's view controls checked: ``(key or None, class names or None, IoU, minimum confidence or None,
    AP rule, minimum-confidence mode)``, as :meth:`Queries.view <detlens.app.queries.Queries.view>` takes them."""
    return (dataset_key(key), names(classes, "class selection"), iou(iou_value), min_score(score), ap_rule(rule),
            min_score_mode(mode))


def outcome_groups(value: object) -> list[str]:
    """The outcome checklist's value: a list of :class:`~detlens.core.vocabulary.OutcomeGroup` values."""
    groups = names(value, "outcome selection", MAX_ITEMS) or []
    known = {g.value for g in OutcomeGroup}
    if not set(groups) <= known:
        raise InvalidInput(f"The outcome selection may only hold {', '.join(sorted(known))}.")
    return groups


def explorer_filter(doc: object) -> ExplorerFilter:
    """The ``EXPLORER_FILTER`` store (``ExplorerFilter.to_dict()``) as a filter; None gives the default filter."""
    if doc is None:
        return ExplorerFilter()
    problem = "The Explorer's filter sent by the page is not valid: reload the page."
    if not isinstance(doc, dict) or not set(doc) <= FILTER_FIELDS:
        raise InvalidInput(problem)
    try:
        outcome_groups(doc.get("outcomes", []))
        names(doc.get("classes"), "filter's classes")
        text(doc.get("metric"), "filter's metric")
        for field in ("low", "high", "score_low", "score_high"):
            optional_number(doc.get(field), "filter's range")
        if not isinstance(doc.get("high_closed", True), bool):
            raise InvalidInput(problem)
        names(doc.get("error_types"), "filter's error types", MAX_ITEMS)
        cell = names(doc.get("confusion"), "filter's confusion cell", 2)
        if cell is not None and len(cell) != 2:
            raise InvalidInput(problem)
        return ExplorerFilter.from_dict(doc)
    except (ValueError, TypeError, OverflowError):
        raise InvalidInput(problem) from None


def first_point(click: object) -> dict | None:
    """The first point of a chart's ``clickData`` (``{"points": [{...}, ...]}``), or None without one."""
    if click is None:
        return None
    points = click.get("points") if isinstance(click, dict) else ()
    if points is None or points == []:
        return None
    if isinstance(points, list) and isinstance(points[0], dict):
        return points[0]
    raise InvalidInput("The chart click sent by the page is not valid.")
