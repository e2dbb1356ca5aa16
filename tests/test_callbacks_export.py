"""The Explorer's downloads: built in a background job, refused above a row limit with a readable alert."""

from __future__ import annotations

import base64
import io
import json
import zipfile

import pytest

from detlens.callbacks.explorer_detail import download
from detlens.core.explorer import ExplorerFilter
from detlens.core.settings import EXPORT_MAX_ROWS
from detlens.layouts import ids
from tests.dash_context import call_triggered
from tests.dash_requests import DISPATCH, call, prepared_app, request_body


def filtered_count(demo, flt: ExplorerFilter) -> int:
    view = demo.queries.view(demo.key, list(demo.classes), 0.5, 0)
    return len(demo.queries.explorer.filtered(view, flt, "row", False)["rows"])


def export(demo, button: str, flt: ExplorerFilter, max_rows: int = EXPORT_MAX_ROWS):
    clicks = (1, None) if button == ids.EXPLORER_CSV else (None, 1)
    return call_triggered(download, button, 1, demo.queries, *clicks, demo.key, list(demo.classes), 0.5, 0,
                          flt.to_dict(), max_rows)


@pytest.mark.parametrize("button", [ids.EXPLORER_CSV, ids.EXPLORER_COCO])
@pytest.mark.parametrize("flt", [ExplorerFilter(), ExplorerFilter(outcomes=("FN",))], ids=["default", "FN"])
def test_an_export_above_the_row_limit_is_refused_with_a_readable_alert(demo, button, flt):
    count = filtered_count(demo, flt)
    assert count > 1
    sent, note = export(demo, button, flt, max_rows=count - 1)
    assert sent is None
    text = str(note.children)
    assert f"{count:,} objects" in text and f"{count - 1:,}" in text and "narrow" in text


def test_an_export_at_the_row_limit_is_sent(demo):
    count = filtered_count(demo, ExplorerFilter())
    sent, note = export(demo, ids.EXPLORER_CSV, ExplorerFilter(), max_rows=count)
    assert note is None and sent["filename"] == "detlens-objects.csv"
    assert len(sent["content"].strip().splitlines()) == count + 1  # a header and one row per object


def test_the_default_limit_is_the_setting():
    import inspect

    assert inspect.signature(download).parameters["max_rows"].default == EXPORT_MAX_ROWS == 200_000


@pytest.fixture(scope="module")
def served(demo, tmp_path_factory):
    app, key = prepared_app(demo.source, tmp_path_factory.mktemp("export-cache"))
    return app.server.test_client(), app, key


@pytest.mark.parametrize("button, index", [(ids.EXPLORER_CSV, 0), (ids.EXPLORER_COCO, 1)])
def test_the_download_is_built_in_a_background_job(served, demo, button, index):
    client, app, key = served
    output = next(o for o in app.callback_map if f"{ids.EXPLORER_DOWNLOAD}." in o)
    assert app.callback_map[output].get("background"), "the download callback must run as a background job"
    body = request_body(app, key, demo.classes, output, {index: 1})
    first = client.post(DISPATCH, json=body)
    assert first.status_code == 200 and "cacheKey" in first.get_json()  # a job handle, not the file
    response = call(client, body)
    assert response.status_code == 200
    sent = response.get_json()["response"][ids.EXPLORER_DOWNLOAD]["data"]
    if button == ids.EXPLORER_CSV:
        assert sent["filename"] == "detlens-objects.csv" and sent["content"].startswith("kind,row,")
    else:
        archive = zipfile.ZipFile(io.BytesIO(base64.b64decode(sent["content"])))
        assert sorted(archive.namelist()) == ["labels.json", "predictions.json"]
        assert json.loads(archive.read("labels.json"))["annotations"]
