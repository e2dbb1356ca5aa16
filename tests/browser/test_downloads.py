"""The Explorer's downloads in a real headless Chromium: built by a background job, received as files."""

from __future__ import annotations

import csv
import json
import zipfile

import pytest

from detlens.layouts import ids
from tests.browser.test_dashboard import UPDATE_TIMEOUT_MS, open_dashboard


@pytest.mark.parametrize("button, file_name", [(ids.EXPLORER_CSV, "detlens-objects.csv"),
                                               (ids.EXPLORER_COCO, "detlens-subset-coco.zip")])
def test_a_download_arrives_as_a_file(page, server, button, file_name):
    open_dashboard(page, server)
    page.click(f"#{ids.TABS} .nav-link:has-text('Explorer')")
    page.wait_for_function(f"() => /object/.test(document.getElementById('{ids.EXPLORER_COUNT}').innerText || '')",
                           timeout=UPDATE_TIMEOUT_MS)
    objects = int(page.inner_text(f"#{ids.EXPLORER_COUNT}").split(" object")[0].replace(",", ""))
    with page.expect_download(timeout=UPDATE_TIMEOUT_MS) as download:
        page.click(f"#{button}")
    sent = download.value
    assert sent.suggested_filename == file_name
    if button == ids.EXPLORER_CSV:
        with open(sent.path(), newline="") as fh:
            rows = list(csv.DictReader(fh))
        assert len(rows) == objects and {"file_name", "outcome", "score"} <= set(rows[0])
    else:
        with zipfile.ZipFile(sent.path()) as archive:
            assert sorted(archive.namelist()) == ["labels.json", "predictions.json"]
            assert json.loads(archive.read("labels.json"))["images"]
    assert page.inner_text(f"#{ids.EXPLORER_ALERT}").strip() == ""
    assert page.console_errors == []
