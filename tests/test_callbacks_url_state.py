"""The URL callback (callbacks/url_state.py) called as Dash calls it: a moved control writes the URL, a URL or
the data becoming ready sets the controls, an echo of the URL just written changes nothing."""

from __future__ import annotations

from contextvars import copy_context

import pytest
from dash import no_update
from dash._callback_context import context_value
from dash._utils import AttributeDict
from dash.exceptions import PreventUpdate

from detlens.callbacks.explorer_tab import fill_explorer_choices
from detlens.callbacks.inputs import InvalidInput
from detlens.callbacks.performance_tab import fill_metric_choices
from detlens.callbacks.url_state import CONTROLS, sync_view
from detlens.core.ap_rule import APRule
from detlens.core.explorer import ExplorerFilter
from detlens.core.settings import BUCKETS_DEFAULT, IOU_DEFAULT
from detlens.layouts import ids, shell, view_query

RULE = APRule().code
DEFAULTS = {"rule": RULE}
URL_SEARCH = (ids.URL, "search")
DATA_READY = (ids.DATA_KEY, "data")


@pytest.fixture(scope="module")
def page(demo):
    """``(values, options)``: the controls of a freshly prepared page at its defaults."""
    metric_options, metric = fill_metric_choices(demo.queries, demo.key)
    explorer_metrics, sort_options = fill_explorer_choices(demo.queries, demo.key)
    options = {"classes": [{"label": c, "value": c} for c in demo.classes], "metrics": metric_options,
               "explorer_metrics": explorer_metrics, "sort_columns": sort_options}
    values = {"classes": list(demo.classes), "iou": IOU_DEFAULT, "score": 0, "rule": RULE, "tab": ids.TAB_METRICS,
              "metric": metric, "buckets": BUCKETS_DEFAULT, "edges": "quantile", "filter": ExplorerFilter().to_dict(),
              "sort": "score", "order": "desc", "page": 1}
    return values, options


def sync(trigger, search, shown, key, values, options, defaults=DEFAULTS):
    """``sync_view`` as Dash calls it after ``trigger`` = ``(component id, property)`` changed (or a list of them:
    one call after several changes)."""
    triggers = trigger if isinstance(trigger, list) else [trigger]

    def run():
        context_value.set(AttributeDict(triggered_inputs=[{"prop_id": f"{c}.{p}", "value": None}
                                                          for c, p in triggers]))
        return sync_view(search, shown, key, values, options, defaults)
    return copy_context().run(run)


def changed(out: dict) -> dict:
    return {name: value for name, value in out.items() if value is not no_update}


def test_nothing_happens_before_the_data_are_ready(demo, page):
    values, options = page
    with pytest.raises(PreventUpdate):
        sync(URL_SEARCH, "?iou=0.7", None, None, values, options)
    with pytest.raises(PreventUpdate):  # the dataset key arrived but the metric choices not yet
        sync(DATA_READY, "?iou=0.7", None, demo.key, values, {**options, "metrics": []})


def test_a_link_sets_the_controls_once_the_data_are_ready(demo, page):
    values, options = page
    classes = list(demo.classes[:2])
    link = f"?classes={','.join(classes)}&iou=0.7&score=0.3&rule=voc11&tab=perf&metric=Object+Aspect+Ratio+(P)"
    out = changed(sync(DATA_READY, link, None, demo.key, values, options))
    assert out == {"classes": classes, "iou": 0.7, "score": 0.3, "rule": "voc_11_point:voc:0",
                   "tab": ids.TAB_PERFORMANCE, "metric": "Object Aspect Ratio (P)", "shown": link, "notice": None}


def test_a_link_to_an_explorer_filter_sets_the_filter_and_its_controls(demo, page):
    values, options = page
    link = "?tab=explorer&ex_outcomes=FN&ex_metric=Object+Aspect+Ratio&ex_low=0.2&ex_score_high=0.8&sort=iou&page=2"
    out = changed(sync(URL_SEARCH, link, None, demo.key, values, options))
    flt = ExplorerFilter(outcomes=("FN",), metric="Object Aspect Ratio", low=0.2, score_high=0.8)
    assert ExplorerFilter.from_dict(out.pop("filter")) == flt
    assert out == {"tab": ids.TAB_EXPLORER, "sort": "iou", "page": 2, "filter_outcomes": ["FN"],
                   "filter_metric": "Object Aspect Ratio", "filter_score": [0, 0.8], "shown": link, "notice": None}


def test_a_link_to_an_error_cell_or_a_compare_group_sets_the_filter_and_a_click_writes_it(demo, page):
    values, options = page
    label_class = demo.classes[0]
    link = f"?tab=explorer&ex_errors=Loc&ex_cell={label_class},background&ex_change=broken"
    out = changed(sync(URL_SEARCH, link, None, demo.key, values, options))
    flt = ExplorerFilter.from_dict(out["filter"])
    assert (flt.error_types, flt.confusion, flt.compare) == (("Loc",), (label_class, "background"), "broken")
    clicked = {**values, "filter": ExplorerFilter(confusion=(label_class, demo.classes[1])).to_dict()}
    out = changed(sync((ids.EXPLORER_FILTER, "data"), "", None, demo.key, clicked, options))
    assert out["search"] == f"?ex_cell={label_class},{demo.classes[1]}"


def test_a_bad_link_sets_what_it_can_and_names_the_rest(demo, page):
    values, options = page
    out = changed(sync(DATA_READY, "?iou=2&score=0.3&metric=Nope", None, demo.key, values, options))
    assert out["score"] == 0.3 and "iou" not in out and "metric" not in out
    text = str(out["notice"])
    assert "iou: the IoU threshold must be one of the slider's steps" in text and "'Nope' is not a metric" in text


def test_a_moved_control_pushes_its_view_and_the_echo_changes_nothing(demo, page):
    values, options = page
    moved = {**values, "iou": 0.6, "classes": [demo.classes[1], demo.classes[0]]}
    out = changed(sync((ids.IOU, "value"), "", None, demo.key, moved, options))
    search = f"?classes={demo.classes[0]},{demo.classes[1]}&iou=0.6"
    assert out == {"search": search, "shown": search}
    with pytest.raises(PreventUpdate):  # dcc.Location repeats the query string it was given
        sync(URL_SEARCH, search, search, demo.key, moved, options)
    with pytest.raises(PreventUpdate):  # a control set to what the URL already says
        sync((ids.IOU, "value"), search, search, demo.key, moved, options)


def test_back_to_the_plain_page_restores_every_default(demo, page):
    values, options = page
    moved = {**values, "iou": 0.6, "tab": ids.TAB_EXPLORER, "buckets": 4,
             "filter": ExplorerFilter(outcomes=("FN",)).to_dict()}
    out = changed(sync(URL_SEARCH, "", "?iou=0.6&tab=explorer&buckets=4&ex_outcomes=FN", demo.key, moved, options))
    assert out.pop("filter") == view_query.canonical_filter(ExplorerFilter()).to_dict()
    assert out == {"iou": IOU_DEFAULT, "tab": ids.TAB_METRICS, "buckets": BUCKETS_DEFAULT,
                   "filter_outcomes": [g.value for g in view_query.canonical_filter(ExplorerFilter()).outcomes],
                   "filter_metric": None, "filter_score": [0, 1], "shown": "", "notice": None}


def test_new_data_after_a_link_was_applied_write_what_the_controls_show(demo, page):
    # the preparation selects every class when new data arrive: the URL follows (a new history entry)
    values, options = page
    link = f"?classes={demo.classes[0]}"
    out = changed(sync([DATA_READY, (ids.CLASSES, "value")], link, link, demo.key, values, options))
    assert out == {"search": "", "shown": ""}


def test_a_link_to_another_dataset_sets_it_with_its_run_and_the_rest_waits_for_its_data(demo, page):
    values, options = page
    defaults = {**DEFAULTS, "dataset": "coco", "run": "a"}
    options = {**options, "dataset": ["coco", "voc"], "run": ["a"]}
    values = {**values, "dataset": "coco", "run": "a"}
    link = f"?dataset=voc&run=b&iou=0.7&classes={demo.classes[0]}"
    out = changed(sync(URL_SEARCH, link, None, demo.key, values, options, defaults))
    # voc's runs and classes are not known yet: no notice about them, and the link is not applied in full
    assert out == {"dataset": "voc", "run": "b", "iou": 0.7, "notice": None}
    out = changed(sync(DATA_READY, link, None, demo.key, {**values, "dataset": "voc", "run": "b", "iou": 0.7},
                       {**options, "run": ["b", "c"]}, defaults))
    assert out == {"classes": [demo.classes[0]], "shown": link, "notice": None}
    out = changed(sync(URL_SEARCH, "?dataset=voc&iou=0.7", None, demo.key, values, options, defaults))
    assert out == {"dataset": "voc", "iou": 0.7, "shown": "?dataset=voc&iou=0.7", "notice": None}  # nothing waits


def test_a_link_without_a_run_keeps_the_run_shown_for_its_dataset(demo, page):
    values, options = page
    defaults = {**DEFAULTS, "dataset": "coco", "run": "a", "compare": None}
    options = {**options, "dataset": ["coco", "voc"], "run": ["b", "c"], "compare": ["c"]}
    values = {**values, "dataset": "voc", "run": "c", "compare": "c"}
    out = changed(sync(URL_SEARCH, "?dataset=voc", "?dataset=voc&run=c&compare=c", demo.key, values, options,
                       defaults))
    assert out == {"compare": None, "shown": "?dataset=voc", "notice": None}  # run "a" is coco's: "c" stays


@pytest.mark.parametrize("triggers, shown, expected", [
    ([(ids.URL, "search")], None, "read"),  # a link opened, back or forward
    ([(ids.IOU, "value")], None, "read"),  # while a link is being applied, its view wins
    ([(ids.URL, "search")], "?run=a", "none"),  # dcc.Location repeating what was written
    ([(ids.EXPLORER_METRIC, "options"), (ids.EXPLORER_SORT, "options")], "?run=a", "none"),  # choices refilled
    ([(ids.DATASET_PICKER, "options"), (ids.RUN_PICKER, "options")], "?run=a", "none"),  # the pickers polled
    ([(ids.IOU, "value")], "?run=a", "write"),
    ([(ids.CLASSES, "value")], "?run=a", "write"),
    ([(ids.PERF_METRIC, "value")], "?run=a", "write"),
    ([(ids.DATA_KEY, "data"), (ids.CLASSES, "options"), (ids.CLASSES, "value")], "?run=a", "write"),  # new data
    ([(ids.DATASET_PICKER, "value"), (ids.DATASET_PICKER, "options"), (ids.RUN_PICKER, "options"),
      (ids.RUN_PICKER, "value"), (ids.DATA_KEY, "data")], "?run=a", "write"),  # a pick, merged with its data
    ([(ids.EXPLORER_FILTER, "data"), (ids.TABS, "active_tab"), (ids.EXPLORER_PAGES, "active_page")], "?run=a",
     "write"),  # a chart click opening the Explorer
])
def test_a_move_writes_the_url_and_a_link_reads_it(demo, page, triggers, shown, expected):
    values, options = page
    defaults = {**DEFAULTS, "dataset": "coco", "run": "a"}
    options = {**options, "dataset": ["coco", "voc"], "run": ["a"]}
    moved = {**values, "iou": 0.6, "run": "a", "dataset": "coco"}
    if expected == "none":
        with pytest.raises(PreventUpdate):
            sync(triggers, "?run=a", shown, demo.key, moved, options, defaults)
        return
    out = changed(sync(triggers, "?run=a", shown, demo.key, moved, options, defaults))
    assert out == ({"iou": IOU_DEFAULT, "shown": "?run=a", "notice": None} if expected == "read"
                   else {"search": "?iou=0.6", "shown": "?iou=0.6"})


def test_a_dataset_picked_by_the_user_starts_its_classes_and_metric_afresh(demo, page):
    values, options = page
    defaults = {**DEFAULTS, "dataset": "coco"}
    options = {**options, "dataset": ["coco", "voc"]}
    moved = {**values, "dataset": "voc", "classes": [demo.classes[0]], "iou": 0.6}
    out = changed(sync((ids.DATASET_PICKER, "value"), f"?classes={demo.classes[0]}&iou=0.6",
                       f"?classes={demo.classes[0]}&iou=0.6", demo.key, moved, options, defaults))
    assert out == {"search": "?iou=0.6&dataset=voc", "shown": "?iou=0.6&dataset=voc"}


def test_a_moved_picker_is_written_to_the_url(demo, page):
    values, options = page
    defaults = {**DEFAULTS, "score_mode": "global"}
    out = changed(sync((ids.MIN_SCORE_MODE, "value"), "", None, demo.key, {**values, "score_mode": "per_class_f1"},
                       {**options, "score_mode": [{"label": "x", "value": "global"},
                                                  {"label": "y", "value": "per_class_f1"}]}, defaults))
    assert out == {"search": "?score_mode=per_class_f1", "shown": "?score_mode=per_class_f1"}


@pytest.mark.parametrize("bad_filter", ["TP", {"outcomes": "TP"}, {"unknown": 1}])
def test_a_crafted_filter_store_is_refused(demo, page, bad_filter):
    values, options = page
    with pytest.raises(InvalidInput):
        sync((ids.EXPLORER_FILTER, "data"), "", None, demo.key, {**values, "filter": bad_filter}, options)


def test_the_page_opens_at_the_view_the_plain_url_means():
    layout = shell.build("0" * 20, rule=APRule("voc_all_point", "voc"))
    plain = view_query.defaults(view_query.Choices(rule=layout[ids.AP_RULE].value))
    for name, (component, prop) in CONTROLS.items():
        if name not in ("classes", "metric", "filter"):  # filled once the data are ready
            assert getattr(layout[component], prop) == plain[name], name
    assert ExplorerFilter.from_dict(layout[ids.EXPLORER_FILTER].data) == ExplorerFilter()
    assert plain["rule"] == "voc_all_point:voc:0"
