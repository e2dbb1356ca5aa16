"""The view in the address bar: the page's controls write their settings to the URL, and a URL sets the controls.

One callback holds both directions (Dash allows a component to be an input and an
output of one callback, not of two), so no update runs in a circle:

* a control moved by the user (or by another callback, e.g. a chart click opening the
  Explorer): the view is written to the query string (defaults left out,
  :func:`detlens.layouts.view_query.encode`) and the browser gets a new history entry;
* a query string the controls do not show yet (the page opened from a link, the back or
  forward button; read once the data are ready, since the class and metric choices
  arrive only after preparation): the query string is read
  (:func:`~detlens.layouts.view_query.decode`) and each control that differs is set;
  values the page cannot show are dropped with one notice line each.

The ``URL_SHOWN`` store holds the query string the controls show. While it differs from
the URL's, every change reads the URL (a link applies in steps, as its dataset, run and
choices arrive); afterwards every change of a control's value writes it. Dash merges the
changes of one user action with those its callbacks make (a dataset picked arrives with
its runs and new data), so the trigger alone cannot tell a link from a move. The
workspace's pickers (dataset, run, compared run) and the minimum-confidence mode join
the URL when the page has them (:data:`PICKERS`); a dataset or run named by a link is
set first, and the rest of the link applies once its data are shown.
"""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Input, Output, State, ctx, html, no_update
from dash.exceptions import PreventUpdate

from detlens.callbacks import inputs
from detlens.callbacks.common import page_text
from detlens.core.explorer import ExplorerFilter
from detlens.layouts import ids, view_query
from detlens.layouts.view_query import Choices

# view name (detlens.layouts.view_query): the control holding it
CONTROLS = {
    "classes": (ids.CLASSES, "value"),
    "iou": (ids.IOU, "value"),
    "score": (ids.MIN_SCORE, "value"),
    "rule": (ids.AP_RULE, "value"),
    "tab": (ids.TABS, "active_tab"),
    "metric": (ids.PERF_METRIC, "value"),
    "buckets": (ids.PERF_BUCKETS, "value"),
    "edges": (ids.PERF_METHOD, "value"),
    "filter": (ids.EXPLORER_FILTER, "data"),
    "sort": (ids.EXPLORER_SORT, "value"),
    "order": (ids.EXPLORER_ORDER, "value"),
    "page": (ids.EXPLORER_PAGES, "active_page"),
}
# selectors in the URL when the page has them (URL name: component id, its "value" and "options")
PICKERS = {"dataset": ids.DATASET_PICKER, "run": ids.RUN_PICKER, "compare": ids.COMPARE_PICKER,
           "score_mode": ids.MIN_SCORE_MODE}
# a link's parameters checked against the dataset's own choices (they wait for another dataset's data)
DATA_PARAMS = ("classes", "metric", "sort", *view_query.FILTER_PARAMS)
# Choices field: the dropdown whose options are its values
CHOICE_LISTS = {"classes": ids.CLASSES, "metrics": ids.PERF_METRIC, "explorer_metrics": ids.EXPLORER_METRIC,
                "sort_columns": ids.EXPLORER_SORT}
# the Explorer filter's controls, set with the filter (explorer_links.update_filter then finds nothing to change)
FILTER_CONTROLS = {"filter_outcomes": (ids.EXPLORER_OUTCOMES, "value"),
                   "filter_metric": (ids.EXPLORER_METRIC, "value"),
                   "filter_score": (ids.EXPLORER_SCORE, "value")}
OUTPUTS = {"search": (ids.URL, "search"), "shown": (ids.URL_SHOWN, "data"), "notice": (ids.URL_NOTICE, "children"),
           **CONTROLS, **FILTER_CONTROLS}
NOT_MOVES = {f"{ids.URL}.search", f"{ids.DATA_KEY}.data"}  # with any "<id>.options": changes no control made
DATA_DEPENDENT = ("classes", "metric", "filter", "sort")  # a dataset picked by the user starts them afresh


def option_value(option: object) -> object:
    """The value of one dropdown or radio option (a dict with ``value``, or the value itself); None when disabled."""
    if isinstance(option, dict):
        return None if option.get("disabled") else option.get("value")
    return option


def option_values(options: object) -> tuple:
    """The enabled values of a dropdown's or radio's ``options`` (a heading such as "— Frame —" is disabled)."""
    if not isinstance(options, list):
        return ()
    values = (option_value(o) for o in options[:inputs.MAX_CLASSES])
    return tuple(v for v in values if isinstance(v, (str, int, float)) and not isinstance(v, bool))


def choices_of(options: dict, defaults: dict) -> Choices:
    """What the page can show, from the controls' ``options`` (``{Choices field or picker name: options}``) and
    ``defaults`` (``{"rule": the server's rule code, picker name: its first value}``)."""
    return Choices(**{name: option_values(options.get(name)) for name in CHOICE_LISTS},
                   rule=defaults["rule"],
                   pickers={name: (option_values(options.get(name)), defaults[name]) for name in defaults
                            if name in PICKERS})


def current_view(values: dict) -> dict:
    """The controls' values as a view (``{name: value}``; the filter store as an ``ExplorerFilter``).

    Raises:
        InvalidInput: a filter store the page cannot have sent.
    """
    view = dict(values)
    view["filter"] = inputs.explorer_filter(values.get("filter"))
    return view


def normal(search: object) -> str:
    """A query string as :func:`detlens.layouts.view_query.encode` writes it (``""`` for none)."""
    return search if isinstance(search, str) and search != "?" else ""


def notice(lines: list[str]):
    """One box listing what the link asked for that the page cannot show; None without any."""
    if not lines:
        return None
    return dbc.Alert([html.Div("This link asks for settings the page cannot show; they are left out:",
                               className="fw-semibold"), *(html.Div(page_text(line)) for line in lines[:20])],
                     color="warning", dismissable=True, className="mb-2")


def write_url(search, values: dict, choices: Choices) -> dict:
    """A control moved: the view's query string, pushed when it differs from the one shown.

    After the user picked another dataset, its classes, metric, Explorer filter and sort start at their
    defaults (the old dataset's would be refused when its data arrive).
    """
    view = current_view(values)
    if "dataset" in choices.pickers and view.get("dataset") != view_query.decode(search, choices)[0]["dataset"]:
        view.update({name: value for name, value in view_query.defaults(choices).items() if name in DATA_DEPENDENT})
    new = view_query.encode(view, choices)
    if new == normal(search):
        raise PreventUpdate
    return {**{name: no_update for name in OUTPUTS | dict.fromkeys(choices.pickers)}, "search": new, "shown": new}


def read_url(search, values: dict, choices: Choices) -> dict:
    """A query string arrived: every control that differs from the link's view set to it, and the notice.

    A link to another dataset sets the dataset, the run it names (the workspace's picker takes the
    dataset's first run for one it lacks) and the settings that do not depend on the data; its classes,
    metric, Explorer filter and sort are read once that dataset's data are shown.
    """
    view, lines = view_query.decode(search, choices)
    now = current_view(values)
    out = {name: no_update for name in OUTPUTS | dict.fromkeys(choices.pickers)}
    for name in view_query.VIEW_PARAMS:
        if name != "filter" and not view_query.same(name, view[name], now.get(name)):
            out[name] = view[name]
    for name, (allowed, _) in choices.pickers.items():
        # a picker's first value that this dataset lacks (the first dataset's run) keeps the one shown
        if not view_query.same(name, view[name], now.get(name)) and (view[name] is None or view[name] in allowed):
            out[name] = view[name]
    if not view_query.same("filter", view["filter"], now["filter"]):
        flt = view_query.with_url_part(now["filter"], view["filter"])
        out.update(filter=flt.to_dict(), filter_outcomes=[o.value for o in flt.outcomes], filter_metric=flt.metric,
                   filter_score=[flt.score_low or 0, flt.score_high or 1])
    if out.get("dataset", no_update) is not no_update:
        given = dict(view_query.split(normal(search))[0])
        out.update({name: no_update for name in (*DATA_DEPENDENT, *FILTER_CONTROLS)},
                   run=(given.get("run") or [no_update])[0])
        waits = any(name in given for name in DATA_PARAMS)
        return {**out, "shown": no_update if waits else normal(search), "notice": None}
    return {**out, "shown": normal(search), "notice": notice(lines)}


def sync_view(search, shown, key, values: dict, options: dict, defaults: dict) -> dict:
    """Keep the URL and the controls in step (see the module docstring); reads the trigger from Dash's context.

    Args:
        search: the URL's query string (``location.search``).
        shown: the query string the controls show (``URL_SHOWN``), None before any.
        key: the dataset key (``DATA_KEY``), None while preparing: nothing is read or written then.
        values: ``{view name: control value}`` for :data:`CONTROLS` and the page's pickers.
        options: ``{Choices field or picker name: the control's options}``.
        defaults: ``{"rule": the server's AP rule code, picker name: its value when the page opened}``.

    Returns:
        ``{output name: value}`` for :data:`OUTPUTS` and the pickers (``no_update`` where unchanged).

    Raises:
        PreventUpdate: nothing to change (data not ready, an echo of the URL just written, the same view).
        InvalidInput: a value the page cannot have sent (the server answers 400).
    """
    if not inputs.dataset_key(key):
        raise PreventUpdate
    choices = choices_of(options, defaults)
    if not (choices.classes and choices.metrics and choices.sort_columns):
        raise PreventUpdate  # the choices arrive after the dataset key: read the link once they are here
    if normal(search) != normal(shown):
        return read_url(search, values, choices)  # a link, back or forward (in steps: dataset, run, the rest)
    if all(t in NOT_MOVES or t.endswith(".options") for t in ctx.triggered_prop_ids):
        raise PreventUpdate  # dcc.Location's echo of a write, new choices: the view is what the URL says
    return write_url(search, values, choices)  # a move, by the user or a callback (a chart click, new data)


def in_layout(layout, component_id: str) -> bool:
    """True when ``layout`` holds a component ``component_id``."""
    try:
        layout[component_id]
    except (KeyError, TypeError):
        return False
    return True


def register(app, queries) -> None:
    """Wire the URL to the controls of ``app``'s layout (built before this is called; ``queries`` unused)."""
    layout = app.layout
    pickers = {name: component for name, component in PICKERS.items() if in_layout(layout, component)}
    defaults = {"rule": layout[ids.AP_RULE].value,
                **{name: getattr(layout[component], "value", None) for name, component in pickers.items()}}

    @app.callback(
        output={name: Output(*target, allow_duplicate=name not in ("search", "shown", "notice"))
                for name, target in {**OUTPUTS, **{n: (c, "value") for n, c in pickers.items()}}.items()},
        inputs=dict(search=Input(ids.URL, "search"), key=Input(ids.DATA_KEY, "data"),
                    values={**{name: Input(*target) for name, target in CONTROLS.items()},
                            **{name: Input(component, "value") for name, component in pickers.items()}},
                    options={name: Input(component, "options")
                             for name, component in {**CHOICE_LISTS, **pickers}.items()}),
        state=dict(shown=State(ids.URL_SHOWN, "data")),
        prevent_initial_call=True,
    )
    def _sync_view(search, key, values, options, shown):
        return sync_view(search, shown, key, values, options, defaults)
