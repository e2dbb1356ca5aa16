"""The real app answers a background callback whose results are cached in the web process, in the first
response with the job's handles (app/jobs.py, app/inline_answers.py), and starts a job for one that computes:
the same answers either way."""

from __future__ import annotations

import psutil
import pytest

from detlens.app.cache import SharedCache
from detlens.app.queries import Queries
from detlens.app.source import DataSource
from detlens.core.demo import DemoConfig, write_demo
from detlens.layouts import ids
from tests.dash_requests import DISPATCH, call, poll, prepared_app, request_body, request_inputs


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("inline")
    paths = write_demo(root / "demo", DemoConfig.preset("default", n_images=40), render_images=False)
    app, key = prepared_app(DataSource(str(paths.labels), str(paths.predictions)), root / "cache")
    output = next(o for o in app.callback_map if o.startswith("..") and f"{ids.MAP_VALUE}.children" in o)
    classes = Queries(SharedCache(root / "cache")).summary(key)["classes"]
    return app, key, output, classes


def started_jobs(client, body) -> int:
    """Processes started by the request that asks for ``body``'s callback (before its answer is polled)."""
    me = psutil.Process()
    before = {c.pid for c in me.children(recursive=True)}
    assert client.post(DISPATCH, json=body).status_code == 200
    return len({c.pid for c in me.children(recursive=True)} - before)


def polled(client, body, first: dict) -> dict:
    """The answer to the renderer's poll with the handles of ``first`` (a first response)."""
    return poll(client, body, first).get_json()


def test_a_cached_view_is_answered_without_a_job_and_a_new_one_gets_one(served):
    app, key, output, classes = served
    client = app.server.test_client()
    iou = next(i for i, d in enumerate(request_inputs(app, output)) if d["id"] == ids.IOU)
    opening = request_body(app, key, classes, output)  # prepared with the dataset: cached
    assert started_jobs(client, opening) == 0
    assert call(client, opening).get_json()["response"][ids.MAP_VALUE]["children"] != "–"
    new = request_body(app, key, classes, output, {iou: 0.63})  # a threshold nobody asked for yet
    assert started_jobs(client, new) == 1
    computed = call(client, new).get_json()["response"]
    assert started_jobs(client, new) == 0  # now cached: answered here
    assert call(client, new).get_json()["response"] == computed


def test_an_answer_given_here_comes_with_the_handles_and_equals_the_polled_one(served):
    app, key, output, classes = served
    client = app.server.test_client()
    iou = next(i for i, d in enumerate(request_inputs(app, output)) if d["id"] == ids.IOU)
    body = request_body(app, key, classes, output, {iou: 0.71})
    first = client.post(DISPATCH, json=body)
    assert first.status_code == 200 and "response" not in first.get_json()  # a job computes it: handles only
    computed = polled(client, body, first.get_json())
    again = client.post(DISPATCH, json=body)
    doc = again.get_json()
    assert {"cacheKey", "job", "response"} <= doc.keys()  # handles and answer in one response
    assert {k: v for k, v in doc.items() if k not in ("cacheKey", "job")} == computed  # as the poll answers
    assert polled(client, body, doc) == computed  # the handles stay good for a poll
    assert again.headers["X-Content-Type-Options"] == "nosniff"  # the server's headers, once
    assert again.headers.getlist("Content-Security-Policy") == first.headers.getlist("Content-Security-Policy")
    assert len(again.headers.getlist("Content-Security-Policy")) == 1


def test_a_failing_first_poll_leaves_the_handles_for_the_page_to_poll(served, monkeypatch):
    app, key, output, classes = served
    client = app.server.test_client()
    iou = next(i for i, d in enumerate(request_inputs(app, output)) if d["id"] == ids.IOU)
    body = request_body(app, key, classes, output, {iou: 0.73})
    computed = call(client, body).get_json()["response"]  # computed in a job, then cached

    dispatch, calls = app.server.full_dispatch_request, []

    def nested_fails():  # the request's own dispatch runs; the first poll's, nested in it, raises
        calls.append(1)
        if len(calls) > 1:
            raise RuntimeError("first poll")
        return dispatch()
    monkeypatch.setattr(app.server, "full_dispatch_request", nested_fails)
    first = client.post(DISPATCH, json=body)
    monkeypatch.undo()
    assert len(calls) == 2  # the first poll was tried
    assert first.status_code == 200 and "response" not in first.get_json()  # handles only: the page polls
    assert polled(client, body, first.get_json())["response"] == computed
