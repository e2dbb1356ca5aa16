"""The page's view as a URL query string: what the dashboard shows, written so that a link reproduces it.

``?classes=cat,dog&iou=0.6&score=0.3&rule=voc11&tab=perf&metric=Image+Brightness`` names every
setting that differs from the page's default; a setting at its default is left out, so the
plain page is ``""``. :func:`encode` writes a view, :func:`decode` reads one back, checking every
value against what exists (the dataset's classes and metrics, the slider ranges of
:mod:`detlens.core.settings`, the AP rules, the tabs) and dropping any other with one notice
line naming the parameter and the problem. Pure: no Dash, no I/O
(:mod:`detlens.callbacks.url_state` connects it to the page's controls).

Parameters (``view`` key = URL name):

==============  ==============================================  =========================
name            value in the URL                                default (left out)
==============  ==============================================  =========================
``classes``     class names, comma-separated (``classes=`` no   every class
                class); a name's own comma is written ``%2C``
``iou``         IoU threshold, a slider step (0.05 to 0.95)     ``IOU_DEFAULT``
``score``       minimum confidence, a slider step (0 to 0.95)   0 (every prediction)
``rule``        AP rule by short name (:func:`rule_name`):      the server's rule
                ``coco``, ``voc``, ``voc11``, ``voc-plus1``...
``tab``         ``metrics``, ``perf`` or ``explorer``           ``metrics``
``metric``      Performance by metric's metric                  ``DEFAULT_METRIC`` (or
                                                                the first metric)
``buckets``     number of buckets (``BUCKETS_MIN``-``MAX``)     ``BUCKETS_DEFAULT``
``edges``       ``quantile`` or ``equal_width``                 ``quantile``
``ex_*``        the Explorer's filter: ``ex_outcomes``,         the default filter
                ``ex_classes``, ``ex_metric``, ``ex_low``,
                ``ex_high``, ``ex_high_open=1``,
                ``ex_score_low``, ``ex_score_high``, TIDE
                types ``ex_errors`` (``Loc,Dupe``), a confusion
                cell ``ex_cell`` (label class, predicted class;
                ``background`` for none), a compare group
                ``ex_change`` (``fixed``, ``broken``,
                ``both_wrong``)
``sort``        the Explorer's sort column                      ``score``
``order``       ``asc`` or ``desc``                             ``desc``
``page``        the Explorer's page (1 and up)                  1
==============  ==============================================  =========================

Pickers (:attr:`Choices.pickers`: a dataset, run or mode selector the page has) add one
parameter each, named by the picker, checked against its options.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from urllib.parse import quote_plus, unquote_plus

from detlens.core.ap_rule import OWN_MATCH, APRule, every_rule
from detlens.core.explorer import ExplorerFilter, expand_fp
from detlens.core.settings import (BUCKET_METHODS, BUCKETS_DEFAULT, BUCKETS_MAX, BUCKETS_MIN, DEFAULT_METRIC,
                                   EXPLORER_SORT_DEFAULT, IOU_DEFAULT, IOU_SLIDER_VALUES, SCORE_SLIDER_VALUES)
from detlens.core.confusion import BACKGROUND
from detlens.core.vocabulary import CompareGroup, ErrorType, OutcomeGroup
from detlens.layouts import ids

TABS = {"metrics": ids.TAB_METRICS, "perf": ids.TAB_PERFORMANCE, "explorer": ids.TAB_EXPLORER}  # URL name: tab id
ORDERS = ("asc", "desc")
DEFAULT_SORT = EXPLORER_SORT_DEFAULT
MAX_PAGE = 10**9  # larger page numbers are not a page of any table
MAX_QUERY_CHARS = 200_000  # a longer query string is not read at all (one notice)
MAX_SHOWN_CHARS = 40  # of a value quoted in a notice
SAFE = "():'/"  # left as they are in a value: readable, and not separators of a query string
AP_METHOD_NAMES = {"coco101": "coco", "voc_all_point": "voc", "voc_11_point": "voc11"}
PLUS_ONE_NAME = "plus1"
FILTER_PARAMS = ("ex_outcomes", "ex_classes", "ex_metric", "ex_low", "ex_high", "ex_high_open", "ex_score_low",
                 "ex_score_high", "ex_errors", "ex_cell", "ex_change")
URL_FILTER_FIELDS = ("outcomes", "classes", "metric", "low", "high", "high_closed", "score_low", "score_high",
                     "error_types", "confusion", "compare")
VIEW_PARAMS = ("classes", "iou", "score", "rule", "tab", "metric", "buckets", "edges", "filter", "sort", "order",
               "page")


class BadValue(ValueError):
    """A parameter's value that is not one the page can show; the message says why in a few words."""


@dataclass(frozen=True)
class Choices:
    """What the page can show now, to check a link against and to know its defaults.

    Attributes:
        classes: the dataset's class names, in the class filter's order (empty: not known yet).
        metrics: Performance by metric's metric names.
        explorer_metrics: the Explorer's metric columns (its metric filter's choices).
        sort_columns: the Explorer's sort choices (``score``, ``iou`` and the metric columns).
        rule: the server's default AP rule's :attr:`~detlens.core.ap_rule.APRule.code`.
        pickers: ``{URL name: (allowed values, default value)}`` of the page's other selectors
            (dataset, run, run compared, minimum-confidence mode); a picker the page lacks is absent.
    """

    classes: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()
    explorer_metrics: tuple[str, ...] = ()
    sort_columns: tuple[str, ...] = (DEFAULT_SORT, "iou")
    rule: str = APRule().code
    pickers: dict[str, tuple[tuple, object]] = field(default_factory=dict)

    @property
    def default_metric(self) -> str | None:
        """The metric Performance by metric opens with: ``DEFAULT_METRIC`` if the dataset has it, else its first."""
        return DEFAULT_METRIC if DEFAULT_METRIC in self.metrics else next(iter(self.metrics), None)


def rule_name(rule: APRule) -> str:
    """A rule's short URL name: its AP method's (``coco``, ``voc``, ``voc11``), then ``-cocomatch``/``-vocmatch``
    when matched another way than its method's own, then ``-plus1`` for legacy +1 px box sizes."""
    parts = [AP_METHOD_NAMES[rule.ap_method]]
    if rule.match_method != OWN_MATCH[rule.ap_method]:
        parts.append(f"{rule.match_method}match")
    if rule.pixel_plus_one:
        parts.append(PLUS_ONE_NAME)
    return "-".join(parts)


RULES_BY_NAME = {rule_name(rule): rule for rule in every_rule()}


def defaults(choices: Choices) -> dict:
    """The view of the plain page: ``{name: value}`` for every name of :data:`VIEW_PARAMS` and picker."""
    return {"classes": list(choices.classes), "iou": IOU_DEFAULT, "score": 0.0, "rule": choices.rule,
            "tab": ids.TAB_METRICS, "metric": choices.default_metric, "buckets": BUCKETS_DEFAULT,
            "edges": BUCKET_METHODS[0], "filter": canonical_filter(ExplorerFilter()), "sort": DEFAULT_SORT,
            "order": "desc", "page": 1, **{name: default for name, (_, default) in choices.pickers.items()}}


def canonical_filter(flt: ExplorerFilter) -> ExplorerFilter:
    """``flt`` with ``FP`` written as its reasons, as the Explorer's outcome checklist shows it."""
    return replace(flt, outcomes=expand_fp(flt.outcomes))


def url_part(flt: ExplorerFilter) -> tuple:
    """The fields of :data:`URL_FILTER_FIELDS` of ``flt`` (canonical): what a link holds of a filter."""
    flt = canonical_filter(flt)
    return tuple(getattr(flt, name) for name in URL_FILTER_FIELDS)


def with_url_part(current: ExplorerFilter, linked: ExplorerFilter) -> ExplorerFilter:
    """``current`` with the fields a link holds taken from ``linked`` (canonical)."""
    return canonical_filter(replace(current, **{name: getattr(linked, name) for name in URL_FILTER_FIELDS}))


def same(name: str, a: object, b: object) -> bool:
    """True when two values of parameter ``name`` show the same view (classes as sets, numbers to 1e-9)."""
    if name == "classes":
        return isinstance(a, list) and isinstance(b, list) and set(a) == set(b)
    if name in ("iou", "score"):
        return isinstance(a, (int, float)) and isinstance(b, (int, float)) and abs(a - b) <= 1e-9
    if name == "filter":
        return isinstance(a, ExplorerFilter) and isinstance(b, ExplorerFilter) and url_part(a) == url_part(b)
    return a == b


# Writing


def words(*values: object) -> str:
    """Values as one URL value: each escaped (``%2C`` for its own commas), joined by commas."""
    return ",".join(quote_plus(str(v), safe=SAFE) for v in values)


def number_text(x: float) -> str:
    """The shortest text that reads back as the same float (``0.7``, ``1e-05``, ``0.30000000000000004``)."""
    return repr(float(x)) if not float(x).is_integer() else str(int(x))


def filter_params(flt: ExplorerFilter) -> dict[str, str]:
    """The Explorer filter's ``ex_*`` parameters that differ from the default filter."""
    flt, out = canonical_filter(flt), {}
    if set(flt.outcomes) != set(canonical_filter(ExplorerFilter()).outcomes):
        out["ex_outcomes"] = words(*[o.value for o in flt.outcomes])
    if flt.classes is not None:
        out["ex_classes"] = words(*flt.classes)
    if flt.metric is not None:
        out["ex_metric"] = words(flt.metric)
    for name, value in (("ex_low", flt.low), ("ex_high", flt.high), ("ex_score_low", flt.score_low),
                        ("ex_score_high", flt.score_high)):
        if value is not None:
            out[name] = number_text(value)
    if not flt.high_closed:
        out["ex_high_open"] = "1"
    if flt.error_types is not None:
        out["ex_errors"] = words(*[e.value for e in flt.error_types])
    if flt.confusion is not None:
        out["ex_cell"] = words(*flt.confusion)
    if flt.compare is not None:
        out["ex_change"] = words(flt.compare.value)
    return out


def encode(view: dict, choices: Choices) -> str:
    """The query string of ``view`` (``{name: value}``, as :func:`decode` returns), defaults left out.

    Returns ``"?name=value&..."``, or ``""`` when everything is at its default. A value
    that :func:`decode` would refuse is left out too (the page shows its own message for it).
    """
    plain, params = defaults(choices), {}
    for name in (*VIEW_PARAMS, *choices.pickers):
        value = view.get(name, plain[name])
        try:
            value = check(name, value, choices)
        except BadValue:
            continue
        if same(name, value, plain[name]):
            continue
        if name == "filter":
            params.update(filter_params(value))
        elif name == "classes":
            order = {c: i for i, c in enumerate(choices.classes)}
            params[name] = words(*sorted(value, key=order.__getitem__))
        elif name == "rule":
            params[name] = rule_name(RULES_BY_CODE_OR_NAME[value])
        elif name == "tab":
            params[name] = next(short for short, tab in TABS.items() if tab == value)
        elif name in ("iou", "score"):
            params[name] = f"{value:g}"
        else:
            params[name] = words(value)
    return "?" + "&".join(f"{quote_plus(k)}={v}" for k, v in params.items()) if params else ""


# Reading


def shown(text: str) -> str:
    """A value as a notice quotes it: at most :data:`MAX_SHOWN_CHARS` characters."""
    return repr(text if len(text) <= MAX_SHOWN_CHARS else text[:MAX_SHOWN_CHARS - 1] + "…")


def split(query: str) -> tuple[list[tuple[str, list[str]]], list[str]]:
    """``([(name, [value, ...]), ...], notices)`` of a query string (``?`` optional), values split at commas.

    Names and values are unescaped after splitting, so an escaped comma (``%2C``) stays in its value.
    A parameter given twice keeps its first value (one notice).
    """
    seen, params, notices = set(), [], []
    for part in query.lstrip("?").split("&"):
        if not part:
            continue
        name, _, raw = part.partition("=")
        name = unquote_plus(name)
        if name in seen:
            notices.append(f"{shown(name)} is given more than once: the first is used.")
            continue
        seen.add(name)
        params.append((name, [unquote_plus(v) for v in raw.split(",")] if raw else []))
    return params, notices


def one(values: list[str]) -> str:
    """The one value of a parameter that takes one."""
    if len(values) != 1:
        raise BadValue("needs exactly one value")
    return values[0]


def slider_value(values: list[str], allowed: tuple[float, ...], what: str) -> float:
    """A number that is one of a slider's steps."""
    try:
        x = float(one(values))
    except ValueError as exc:
        raise BadValue(str(exc) if isinstance(exc, BadValue) else "is not a number") from None
    for step in allowed:
        if abs(x - step) <= 1e-9:
            return step
    raise BadValue(f"{what} must be one of the slider's steps, {allowed[0]:g} to {allowed[-1]:g} by "
                   f"{allowed[1] - allowed[0]:.2g}")


def finite(values: list[str]) -> float:
    """A finite number."""
    try:
        x = float(one(values))
    except ValueError as exc:
        raise BadValue(str(exc) if isinstance(exc, BadValue) else "is not a number") from None
    if not math.isfinite(x):
        raise BadValue("is not a finite number")
    return x


def member(value: object, allowed, what: str) -> object:
    """``value`` if it is one of ``allowed``."""
    if isinstance(value, (str, int, float)) and value in allowed:
        return value
    raise BadValue(f"{shown(str(value))} is not {what}")


def whole(values: list[str], low: int, high: int) -> int:
    """A whole number within ``[low, high]``."""
    text = one(values)
    if not (text.isascii() and text.isdigit() and len(text) <= 12) or not low <= int(text) <= high:
        raise BadValue(f"must be a whole number from {low:,} to {high:,}")
    return int(text)


def names(values: list[str], allowed: tuple[str, ...], what: str) -> list[str]:
    """Distinct names, each one of ``allowed``."""
    if not all(isinstance(v, str) for v in values):
        raise BadValue("is not a list of names")
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise BadValue(f"{shown(unknown[0])} is not {what}"
                       + (f" (nor {len(unknown) - 1} more)" if len(unknown) > 1 else ""))
    return list(dict.fromkeys(values))


RULES_BY_CODE_OR_NAME = {**{rule.code: rule for rule in every_rule()}, **RULES_BY_NAME}


def check(name: str, value: object, choices: Choices) -> object:
    """A view value as the page holds it, or :class:`BadValue` (used by :func:`encode` on the page's own values)."""
    if name == "classes":
        if not isinstance(value, list):
            raise BadValue("is not a list")
        return names(value, choices.classes, "a class of this dataset")
    if name in ("iou", "score"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise BadValue("is not a number")
        return slider_value([repr(float(value))], IOU_SLIDER_VALUES if name == "iou" else SCORE_SLIDER_VALUES, name)
    if name == "rule":
        return member(value, RULES_BY_CODE_OR_NAME, "an AP rule")
    if name == "tab":
        return member(value, TABS.values(), "a tab")
    if name == "metric":
        return member(value, choices.metrics, "a metric of this dataset")
    if name == "buckets":
        value = int(value) if isinstance(value, float) and value.is_integer() else value
        if isinstance(value, bool) or not isinstance(value, int) or not BUCKETS_MIN <= value <= BUCKETS_MAX:
            raise BadValue("is not a number of buckets")
        return value
    if name == "edges":
        return member(value, BUCKET_METHODS, "a bucket method")
    if name == "filter":
        if not isinstance(value, ExplorerFilter):
            raise BadValue("is not an Explorer filter")
        return value
    if name == "sort":
        return member(value, choices.sort_columns, "a sort column")
    if name == "order":
        return member(value, ORDERS, "asc or desc")
    if name == "page":
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_PAGE:
            raise BadValue("is not a page number")
        return value
    return member(value, choices.pickers[name][0], f"one of the {name} choices")


def read(name: str, values: list[str], choices: Choices) -> object:
    """The view value of URL parameter ``name`` (not an ``ex_*`` one), or :class:`BadValue`."""
    if name == "classes":
        return names(values, choices.classes, "a class of this dataset")
    if name == "iou":
        return slider_value(values, IOU_SLIDER_VALUES, "the IoU threshold")
    if name == "score":
        return slider_value(values, SCORE_SLIDER_VALUES, "the minimum confidence")
    if name == "rule":
        return RULES_BY_NAME[member(one(values), RULES_BY_NAME, f"an AP rule ({', '.join(RULES_BY_NAME)})")].code
    if name == "tab":
        return TABS[member(one(values), TABS, f"a tab ({', '.join(TABS)})")]
    if name == "buckets":
        return whole(values, BUCKETS_MIN, BUCKETS_MAX)
    if name == "page":
        return whole(values, 1, MAX_PAGE)
    if name == "order":
        return member(one(values), ORDERS, "asc or desc")
    if name == "edges":
        return member(one(values), BUCKET_METHODS, f"a bucket method ({', '.join(BUCKET_METHODS)})")
    return check(name, one(values), choices)


def read_filter(given: dict[str, list[str]], choices: Choices) -> tuple[ExplorerFilter, list[str]]:
    """The Explorer filter of the ``ex_*`` parameters; each bad one is left at its default with a notice."""
    fields, notices = {}, []
    readers = {
        "ex_outcomes": lambda v: ("outcomes", tuple(names(v, tuple(g.value for g in OutcomeGroup),
                                                          "an outcome group"))),
        "ex_classes": lambda v: ("classes", tuple(names(v, choices.classes, "a class of this dataset"))),
        "ex_metric": lambda v: ("metric", member(one(v), choices.explorer_metrics, "an Explorer metric")),
        "ex_low": lambda v: ("low", finite(v)),
        "ex_high": lambda v: ("high", finite(v)),
        "ex_high_open": lambda v: ("high_closed", member(one(v), ("1", "0"), "1 or 0") != "1"),
        "ex_score_low": lambda v: ("score_low", confidence(v)),
        "ex_score_high": lambda v: ("score_high", confidence(v)),
        "ex_errors": lambda v: ("error_types", tuple(names(v, tuple(e.value for e in ErrorType), "a TIDE error type"))),
        "ex_cell": lambda v: ("confusion", confusion_cell(v, choices.classes)),
        "ex_change": lambda v: ("compare", member(one(v), tuple(g.value for g in CompareGroup),
                                                  "a compare group (fixed, broken, both_wrong)")),
    }
    for name in FILTER_PARAMS:
        if name in given:
            try:
                key, value = readers[name](given[name])
                fields[key] = value
            except BadValue as exc:
                notices.append(f"{name}: {exc}; left out.")
    for low, high in (("low", "high"), ("score_low", "score_high")):
        if fields.get(low) is not None and fields.get(high) is not None and fields[low] > fields[high]:
            notices.append(f"ex_{low}: is above ex_{high}; both left out.")
            fields.pop(low), fields.pop(high)
    if "metric" not in fields:
        for key in ("low", "high", "high_closed"):
            if key in fields:
                notices.append(f"ex_{key if key != 'high_closed' else 'high_open'}: needs ex_metric; left out.")
                fields.pop(key)
    return canonical_filter(ExplorerFilter(**fields)), notices


def confusion_cell(values: list[str], classes: tuple[str, ...]) -> tuple[str, str]:
    """A confusion-matrix cell: a label class and a predicted class, each a class or ``background``."""
    if len(values) != 2:
        raise BadValue("needs a label class and a predicted class")
    names(values, (*classes, BACKGROUND), "a class of this dataset or background")
    return values[0], values[1]


def confidence(values: list[str]) -> float:
    """A confidence bound in [0, 1]."""
    x = finite(values)
    if not 0.0 <= x <= 1.0:
        raise BadValue("must be a confidence from 0 to 1")
    return x


def decode(query: object, choices: Choices) -> tuple[dict, list[str]]:
    """The view a query string asks for, and one notice line per parameter left out.

    Args:
        query: ``location.search`` (``"?a=b&c=d"``, ``""`` or None).
        choices: what the page can show now.

    Returns:
        ``(view, notices)``: ``view`` holds every name of :data:`VIEW_PARAMS` and of
        ``choices.pickers``, each from the query when it is valid there, else its default;
        ``notices`` name each parameter dropped and why (``"iou: must be one of the slider's steps…"``).
    """
    view = defaults(choices)
    if query is None or query in ("", "?"):
        return view, []
    if not isinstance(query, str) or len(query) > MAX_QUERY_CHARS:
        return view, [f"The link's settings are not readable (more than {MAX_QUERY_CHARS:,} characters): "
                      "the page shows its defaults."]
    params, notices = split(query)
    known = {*VIEW_PARAMS, *choices.pickers} - {"filter"}
    given_filter = {}
    for name, values in params:
        if name in FILTER_PARAMS:
            given_filter[name] = values
        elif name not in known:
            notices.append(f"{shown(name)} is not a setting of this page; left out.")
        else:
            try:
                view[name] = read(name, values, choices)
            except BadValue as exc:
                notices.append(f"{name}: {exc}; left out.")
    view["filter"], filter_notices = read_filter(given_filter, choices)
    return view, notices + filter_notices

