"""Crafted requests never get a 500, a traceback or a server path: a real app from ``create_app``, Flask's test client.

Callback requests are built from ``app.callback_map`` the way the renderer
builds them. Background callbacks answer a job handle first; the test then polls
with it as the renderer does, so an alert computed inside the job is checked too.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest

from detlens.app.cache import SharedCache
from detlens.app.config import ServeConfig
from detlens.app.errors import BAD_CALLBACK_MESSAGE
from detlens.app.queries import Queries
from detlens.app.server import create_app
from detlens.app.source import DataSource, PreparationStatus, read_status, write_status
from detlens.callbacks.shell import NOT_SERVED
from detlens.layouts import ids
from tests.dash_requests import DISPATCH, call, gate_of, prepared_app, request_body, request_inputs

BAD_VALUES = {"string": "not a value", "huge list": list(range(100_000)), "dict": {"crafted": {"nested": [1]}},
              "null": None}


@pytest.fixture(scope="module")
def served(demo, tmp_path_factory):
    """``(test client, app, dataset key, server paths that must never show)`` of a real app over a fresh cache."""
    cache_dir = tmp_path_factory.mktemp("bad-requests-cache")
    app, key = prepared_app(demo.source, cache_dir)
    secrets = (str(cache_dir), str(Path(demo.source.labels).parent))
    return app.server.test_client(), app, key, secrets


def assert_safe(response, secrets) -> str:
    """No 500, no traceback, no server path; returns the body's text."""
    text = response.get_data(as_text=True)
    assert response.status_code != 500, text[:500]
    assert "Traceback" not in text
    for secret in secrets:
        assert secret not in text
    return text


def argument_cases():
    """``(output, argument index, bad value name)`` for every input and state of every callback.

    Read from the callback map of an app built at collection time (nothing is prepared for it).
    """
    with tempfile.TemporaryDirectory() as tmp:
        source = DataSource(labels=str(Path(tmp) / "labels.json"), predictions=str(Path(tmp) / "predictions.json"))
        app = create_app(ServeConfig(cache_dir=Path(tmp), source=source))
    cases = []
    for output in app.callback_map:
        first = output.split("...")[0].strip(".").split("@")[0]
        for i, dep in enumerate(request_inputs(app, output)):
            cases += [pytest.param(output, i, bad, id=f"{first}<-{dep['id']}.{dep['property']}={bad}")
                      for bad in BAD_VALUES]
        if gate_of(app, output) is not None:  # the request store itself, as a crafted request can send it
            cases += [pytest.param(output, "request", bad, id=f"{first}<-request={bad}")
                      for bad in [*BAD_VALUES, "short list"]]
    return cases


@pytest.mark.parametrize("output, index, bad", argument_cases())
def test_a_wrong_type_for_any_input_is_never_a_500(served, demo, output, index, bad):
    client, app, key, secrets = served
    value = [key, demo.classes] if bad == "short list" else BAD_VALUES[bad]
    response = call(client, request_body(app, key, demo.classes, output, {index: value}))
    text = assert_safe(response, secrets)
    assert response.status_code in (200, 204, 400), text[:300]
    if response.status_code == 400:
        assert text == BAD_CALLBACK_MESSAGE


@pytest.mark.parametrize("output, index, value, expected", [
    # a non-numeric IoU to the IoU label, and to a background callback (its alert comes back from the job)
    ("iou-value.children", 0, "abc", "not a valid threshold"),
    ("iou-value.children", 0, 10**400, "not a valid threshold"),  # beyond a float
    ("min-score-value.children", 0, "high", "not a valid minimum"),
    ("min-score-value.children", 1, "per_class", "not a valid mode"),
    # a minimum-confidence mode that is not one: the thresholds table and background callbacks say so in one line
    ("thresholds-table.children", 5, "F2", "minimum-confidence mode must be one of"),
    (None, "metrics-mode", ["per_class_f1"], "minimum-confidence mode must be one of"),
    (None, "grid-mode", {"mode": "global"}, "minimum-confidence mode must be one of"),
    (None, "metrics", "abc", "IoU threshold must be a number"),
    # malformed Explorer filters to the chips and to the grid (a background callback)
    ("explorer-chips.children", 0, {"outcomes": "TP"}, "filter sent by the page is not valid"),
    ("explorer-chips.children", 0, {"low": "1e999"}, "filter sent by the page is not valid"),
    ("explorer-chips.children", 0, {"score_low": 10**400}, "filter sent by the page is not valid"),
    ("explorer-chips.children", 0, {"unknown": 1}, "filter sent by the page is not valid"),
    ("explorer-chips.children", 0, "TP", "filter sent by the page is not valid"),
    ("explorer-chips.children", 0, {"error_types": ["Oops"]}, "filter sent by the page is not valid"),
    ("explorer-chips.children", 0, {"confusion": ["cat"]}, "filter sent by the page is not valid"),
    ("explorer-chips.children", 0, {"confusion": "cat"}, "filter sent by the page is not valid"),
    (None, "grid-filter", {"error_types": ["Cls", 3]}, "filter sent by the page is not valid"),
    (None, "errors", "abc", "IoU threshold must be a number"),
    (None, "perf-errors", "No such metric", "Unknown metric"),
    (None, "grid-filter", {"classes": [{"a": 1}]}, "filter sent by the page is not valid"),
    (None, "grid-page", "2", "page number must be a whole number"),
    (None, "grid-sort", ["score"], "sort column must be a name"),
    (None, "compare-summary", {"key": "not a key", "a": None, "b": "B"}, "invalid comparison"),
    (None, "compare-summary", {"key": "0" * 24, "a": "A", "b": "other"}, "Run other is not prepared yet"),
    (None, "compare-perf", {"key": "0" * 24, "a": "A", "b": "B", "extra": 1}, "invalid comparison"),
    (None, "compare-grid", {"key": "0" * 24, "a": "A", "b": "other"}, "Run other is not prepared yet"),
], ids=lambda v: repr(v)[:40])
def test_crafted_values_get_a_readable_warning(served, demo, output, index, value, expected):
    client, app, key, secrets = served
    if output is None:  # a background callback: find it by one of its outputs, and the argument by its id
        output, index = background_argument(app, index)
    response = call(client, request_body(app, key, demo.classes, output, {index: value}))
    text = assert_safe(response, secrets)
    assert response.status_code == 200 and expected in text, text[:500]


@pytest.mark.parametrize("bad", BAD_VALUES)
def test_a_crafted_histogram_digest_only_redraws_the_histogram(served, demo, bad):
    client, app, key, secrets = served
    output = next(o for o in app.callback_map if f"{ids.EXPLORER_GRID}." in o)
    body = request_body(app, key, demo.classes, output)
    assert body["state"][0]["id"] == ids.EXPLORER_HISTOGRAM_SHOWN
    body["state"][0]["value"] = BAD_VALUES[bad]
    response = call(client, body)
    assert_safe(response, secrets)
    answer = response.get_json()["response"]
    assert answer[ids.EXPLORER_GRID]["children"] and "figure" in answer[ids.EXPLORER_HISTOGRAM]


BACKGROUND_ARGUMENTS = {"metrics": (ids.MAP_VALUE, ids.IOU), "grid-filter": (ids.EXPLORER_GRID, ids.EXPLORER_FILTER),
                        "grid-page": (ids.EXPLORER_GRID, ids.EXPLORER_PAGES),
                        "grid-sort": (ids.EXPLORER_GRID, ids.EXPLORER_SORT),
                        "compare-summary": (ids.COMPARE_SUMMARY, ids.COMPARE),
                        "compare-perf": (ids.COMPARE_PERF_GRAPH, ids.COMPARE),
                        "compare-grid": (ids.EXPLORER_GRID, ids.COMPARE),
                        "metrics-mode": (ids.MAP_VALUE, ids.MIN_SCORE_MODE),
                        "grid-mode": (ids.EXPLORER_GRID, ids.MIN_SCORE_MODE),
                        "errors": (ids.TIDE_GRAPH, ids.IOU), "perf-errors": (ids.PERF_ERRORS_GRAPH, ids.PERF_METRIC)}


def background_argument(app, name: str) -> tuple[str, int]:
    """The callback output and argument index named in :data:`BACKGROUND_ARGUMENTS`."""
    output_id, input_id = BACKGROUND_ARGUMENTS[name]
    output = next(o for o in app.callback_map if f"{output_id}." in o)
    return output, [d["id"] for d in request_inputs(app, output)].index(input_id)


def thumb_click(app, key, classes, row) -> dict:
    """The request a click on the thumbnail of object ``row`` sends (a pattern-matching input)."""
    output = next(o for o in app.callback_map if f"{ids.EXPLORER_MODAL}." in o)
    thumb = {"type": ids.EXPLORER_THUMB, "row": row}
    body = request_body(app, key, classes, output)
    body["inputs"][0] = [{"id": thumb, "property": "n_clicks", "value": 1}]
    body["changedPropIds"] = [json.dumps(thumb, sort_keys=True, separators=(",", ":")) + ".n_clicks"]
    return body


@pytest.mark.parametrize("row, status, expected", [
    ("abc", 400, BAD_CALLBACK_MESSAGE),
    (1.5, 400, BAD_CALLBACK_MESSAGE),
    (-1, 400, BAD_CALLBACK_MESSAGE),
    ("9" * 5000, 400, BAD_CALLBACK_MESSAGE),
    (10**9, 200, "no object with this row number"),
])
def test_a_detail_row_that_is_not_an_object_row(served, demo, row, status, expected):
    client, app, key, secrets = served
    response = call(client, thumb_click(app, key, demo.classes, row))
    text = assert_safe(response, secrets)
    assert response.status_code == status and expected in text, text[:300]


def test_a_valid_detail_row_still_opens(served, demo):
    client, app, key, _ = served
    response = call(client, thumb_click(app, key, demo.classes, 0))
    assert response.status_code == 200 and "image id" in response.get_data(as_text=True)


@pytest.mark.parametrize("graph, data", [(ids.TIDE_GRAPH, ["Nope", 1]), (ids.CONFUSION_GRAPH, [["a"], "b"]),
                                         (ids.PERF_ERRORS_GRAPH, ["Cls", "low", 1, 0])])
def test_a_crafted_error_click_is_a_400(served, demo, graph, data):
    client, app, key, secrets = served
    output = next(o for o in app.callback_map
                  if any(d["id"] == graph and d["property"] == "clickData" for d in app.callback_map[o]["inputs"]))
    index = [d["id"] for d in request_inputs(app, output)].index(graph)
    response = call(client, request_body(app, key, demo.classes, output, {index: {"points": [{"customdata": data}]}}))
    text = assert_safe(response, secrets)
    assert response.status_code == 400 and text == BAD_CALLBACK_MESSAGE


@pytest.mark.parametrize("name, data, content_type, status", [
    ("malformed JSON", b'{"output": "iou-value.children", "inputs": [', "application/json", 400),
    ("JSON but not an object", b'["iou-value.children"]', "application/json", 400),
    ("a string", b'"x"', "application/json", 400),
    ("empty object", b"{}", "application/json", 400),
    ("unknown output id", json.dumps({"output": "no-such.children", "outputs": {"id": "no-such",
                                      "property": "children"}, "inputs": [], "changedPropIds": []}).encode(),
     "application/json", 400),
    ("inputs not a list", json.dumps({"output": "iou-value.children", "outputs": {"id": "iou-value",
                                      "property": "children"}, "inputs": "x", "changedPropIds": "x"}).encode(),
     "application/json", 400),
    ("not JSON at all", b"output=x", "application/x-www-form-urlencoded", 415),
    ("a number of 5,000 digits", b'{"output": "iou-value.children", "x": ' + b"9" * 5000 + b"}", "application/json",
     400),
    ("over 1 MB", b'{"x": "' + b"a" * (2**20 + 10) + b'"}', "application/json", 413),
])
def test_malformed_bodies(served, name, data, content_type, status):
    client, _, _, secrets = served
    response = client.post(DISPATCH, data=data, content_type=content_type)
    assert_safe(response, secrets)
    assert response.status_code == status, name


def test_a_failed_callback_is_logged_with_its_traceback(served, caplog):
    client, _, _, _ = served
    with caplog.at_level("ERROR", logger="detlens.server"):
        response = client.post(DISPATCH, json={"output": "no-such.children"})
    assert response.status_code == 400
    assert any(r.exc_info and "no-such.children" in r.getMessage() for r in caplog.records)


def test_a_status_message_with_a_server_path_shows_only_the_file_name(served, demo):
    client, app, key, secrets = served
    cache_dir = secrets[0]
    queries = Queries(SharedCache(cache_dir))
    source_id = demo.source.source_id()  # the served workspace's one run
    before = read_status(queries.cache, source_id)
    write_status(queries.cache, source_id, PreparationStatus(
        "error", 0.0, f"Cannot read the dataset: [Errno 13] Permission denied: '{cache_dir}/demo/labels.json'"))
    try:
        output = next(o for o in app.callback_map if f"{ids.DATA_KEY}." in o and "status-interval" in o)
        response = call(client, request_body(app, key, demo.classes, output))
    finally:
        write_status(queries.cache, source_id, before)
    text = assert_safe(response, secrets)
    assert response.status_code == 200 and "Permission denied: 'labels.json'" in text


@pytest.mark.parametrize("source_id", ["0123456789abcdef01234567", "0123456789abcdef0123", "../../etc/passwd",
                                       "/etc/passwd", "", "a" * 400])
def test_a_crafted_source_id_is_refused_in_one_line(served, demo, source_id):
    """Only the workspace's runs are served: any other source id (even one the cache might know) is refused."""
    client, app, key, secrets = served
    output = next(o for o in app.callback_map if f"{ids.DATA_KEY}." in o and "status-interval" in o)
    index = [d["id"] for d in request_inputs(app, output)].index(ids.SOURCE)
    response = call(client, request_body(app, key, demo.classes, output, {index: source_id}))
    text = assert_safe(response, secrets)
    assert response.status_code == 200 and NOT_SERVED in text and "Traceback" not in text
    retry = next(o for o in app.callback_map if app.callback_map[o]["inputs"][0]["id"] == ids.PREP_RETRY)
    index = [d["id"] for d in request_inputs(app, retry)].index(ids.SOURCE)
    response = call(client, request_body(app, key, demo.classes, retry, {0: 1, index: source_id}))
    assert_safe(response, secrets)
    assert response.status_code == 204  # nothing started


@pytest.mark.parametrize("url", [
    "/images//etc/passwd",
    "/images//{key}/0/full",
    "/images",
    "/images/",
    "/images/{key}",
    "/images/{key}/0/thumb.jpg?size=" + "9" * 4301,  # beyond Python's int() digit limit
    "/images/{key}/0/thumb.jpg?size=" + "2" * 100_000,
    "/images/{key}/0/thumb.jpg?size=²",                 # a digit to str.isdigit, not to int()
    "/images/{key}/0/thumb.jpg?size=0256",
    "/images/{key}/-1/full",
    "/images/%2Fetc%2Fpasswd",
])
def test_every_other_image_request_is_404(served, url):
    client, _, key, secrets = served
    response = client.get(url.format(key=key))
    assert_safe(response, secrets)
    assert response.status_code == 404, url
    assert b"<!DOCTYPE html>" not in response.data  # not Dash's index page


def test_the_page_itself_still_serves(served):
    client, _, key, _ = served
    assert client.get("/").status_code == 200
    assert client.get(f"/images/{key}/0/thumb.jpg?size=128").status_code == 200


CRAFTED_LINKS = [
    ("?iou=abc", "iou: is not a number"),
    ("?iou=1e999&score=-1", "score: the minimum confidence must be one of the slider"),
    ("?classes=%3Cscript%3Ealert(1)%3C/script%3E", "classes: '<script>alert(1)</script>' is not a class"),
    ("?tab=../../etc/passwd", "tab: '../../etc/passwd' is not a tab"),
    ("?metric=" + "M" * 100_000, "metric: 'MMMM"),
    ("?page=" + "9" * 5000, "page: must be a whole number"),
    ("?ex_low=nan&ex_metric=x", "ex_metric: 'x' is not an Explorer metric"),
    ("?%ZZ%00=%FF", "is not a setting of this page"),
    ("?" + "&".join(f"p{i}=1" for i in range(5000)), "'p0' is not a setting"),
]


def url_request(app, key, demo, search) -> dict:
    """The request the page sends when its URL's query string is ``search`` and the data are ready."""
    output = next(o for o in app.callback_map if f"{ids.URL_NOTICE}." in o)
    deps = [(d["id"], d["property"]) for d in request_inputs(app, output)]
    classes = [{"label": c, "value": c} for c in demo.classes]
    metrics = [{"label": m, "value": m} for m in demo.queries.summary(key)["metrics"]]
    return request_body(app, key, demo.classes, output, {
        deps.index((ids.URL, "search")): search, deps.index((ids.CLASSES, "options")): classes,
        deps.index((ids.PERF_METRIC, "options")): metrics, deps.index((ids.EXPLORER_SORT, "options")): ["score"]})


@pytest.mark.parametrize("search, expected", CRAFTED_LINKS, ids=lambda v: repr(v)[:40])
def test_a_crafted_link_gets_a_notice_naming_the_parameter(served, demo, search, expected):
    client, app, key, secrets = served
    response = call(client, url_request(app, key, demo, search))
    text = assert_safe(response, secrets)
    assert response.status_code == 200, text[:500]
    notice = json.dumps(json.loads(text)["response"][ids.URL_NOTICE]["children"], ensure_ascii=False)
    assert expected in notice, notice[:500]


@pytest.mark.parametrize("search", [link for link, _ in CRAFTED_LINKS])
def test_the_page_itself_serves_any_crafted_link(served, search):
    client, _, _, secrets = served
    response = client.get("/" + search)
    assert_safe(response, secrets)
    assert response.status_code == 200
