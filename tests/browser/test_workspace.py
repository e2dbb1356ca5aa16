"""A workspace in the browser: ``detlens serve --workspace`` with two datasets, the first with two runs; the run
and dataset pickers switch the page's mAP to each run's value."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from detlens.callbacks.metrics_tab import map_text
from detlens.core.demo import DemoConfig, write_demo
from detlens.core.evaluation import Evaluator
from detlens.core.io import load_dataset
from detlens.layouts import ids
from tests.browser.conftest import screenshot
from tests.cli_server import detlens_serve

LOAD_TIMEOUT_MS = 120_000
UPDATE_TIMEOUT_MS = 60_000
TEXT_IS = "([id, v]) => document.getElementById(id)?.innerText.trim() === v"

WORKSPACE = """
[[datasets]]
name = "shapes"
labels = "shapes/labels.json"
[datasets.runs]
full = "shapes/predictions.json"
half = "shapes/half.json"

[[datasets]]
name = "small shapes"
labels = "small/labels.json"
[datasets.runs]
only = "small/predictions.json"
"""


def write_workspace(root: Path) -> Path:
    """Two demo datasets (no image files) and ``workspace.toml`` naming them: "shapes" with the runs "full" and
    "half" (every other prediction), "small shapes" with one run."""
    shapes = write_demo(root / "shapes", DemoConfig.preset("default", n_images=60), render_images=False)
    write_demo(root / "small", DemoConfig.preset("size", n_images=30), render_images=False)
    predictions = json.loads(shapes.predictions.read_text())
    rows = predictions["annotations"] if isinstance(predictions, dict) else predictions
    half = ({**predictions, "annotations": rows[::2]} if isinstance(predictions, dict) else rows[::2])
    (root / "shapes" / "half.json").write_text(json.dumps(half))
    (root / "workspace.toml").write_text(WORKSPACE)
    return root / "workspace.toml"


def shown_map(root: Path, labels: str, predictions: str) -> str:
    """The mAP at IoU 0.5 the page shows for these files."""
    return map_text(Evaluator(load_dataset(str(root / labels), str(root / predictions))).evaluate(0.5).m_ap)


def pick(page, picker: str, name: str) -> None:
    """Choose ``name`` in the dropdown ``picker``."""
    page.click(f"#{picker}")
    page.get_by_role("option", name=name, exact=True).click()


def test_the_run_and_dataset_pickers_switch_the_map(page, tmp_path):
    workspace = write_workspace(tmp_path / "data")
    root = workspace.parent
    full, half = shown_map(root, "shapes/labels.json", "shapes/predictions.json"), \
        shown_map(root, "shapes/labels.json", "shapes/half.json")
    small = shown_map(root, "small/labels.json", "small/predictions.json")
    assert len({full, half, small}) == 3
    with detlens_serve("--workspace", workspace, "--cache-dir", tmp_path / "cache", "--no-precompute",
                       log=tmp_path / "serve.log", ready_path="") as url:
        page.goto(url)
        page.wait_for_function(TEXT_IS, arg=[ids.MAP_VALUE, full], timeout=LOAD_TIMEOUT_MS)
        assert page.inner_text(f"#{ids.DATASET_PICKER}").strip() == "shapes"
        assert page.inner_text(f"#{ids.RUN_PICKER}").strip() == "full"
        pick(page, ids.RUN_PICKER, "half")
        page.wait_for_function(TEXT_IS, arg=[ids.MAP_VALUE, half], timeout=UPDATE_TIMEOUT_MS)
        screenshot(page, "workspace_run_half")
        pick(page, ids.DATASET_PICKER, "small shapes")
        page.wait_for_function(TEXT_IS, arg=[ids.MAP_VALUE, small], timeout=UPDATE_TIMEOUT_MS)
        assert page.inner_text(f"#{ids.RUN_PICKER}").strip() == "only"
        pick(page, ids.DATASET_PICKER, "shapes")
        page.wait_for_function(TEXT_IS, arg=[ids.MAP_VALUE, full], timeout=UPDATE_TIMEOUT_MS)
        assert page.console_errors == []


@contextlib.contextmanager
def served_workspace(page, tmp_path: Path):
    """``detlens serve --workspace`` over :func:`write_workspace`'s files, the page open on the first run's mAP;
    yields the workspace file."""
    workspace = write_workspace(tmp_path / "data")
    with detlens_serve("--workspace", workspace, "--cache-dir", tmp_path / "cache", "--no-precompute",
                       log=tmp_path / "serve.log", ready_path="") as url:
        page.goto(url)
        page.wait_for_function(TEXT_IS, arg=[ids.MAP_VALUE, shown_map(workspace.parent, "shapes/labels.json",
                                                                       "shapes/predictions.json")],
                               timeout=LOAD_TIMEOUT_MS)
        yield workspace


def test_a_picked_run_stays_picked(page, tmp_path):
    with served_workspace(page, tmp_path) as workspace:
        half = shown_map(workspace.parent, "shapes/labels.json", "shapes/half.json")
        pick(page, ids.RUN_PICKER, "half")
        page.wait_for_function(TEXT_IS, arg=[ids.MAP_VALUE, half], timeout=UPDATE_TIMEOUT_MS)
        page.wait_for_timeout(3000)  # a few status polls later
        assert page.inner_text(f"#{ids.RUN_PICKER}").strip() == "half"
        assert page.inner_text(f"#{ids.MAP_VALUE}").strip() == half


def test_a_run_added_to_the_file_shows_in_the_run_picker(page, tmp_path):
    with served_workspace(page, tmp_path) as workspace:
        root = workspace.parent
        (root / "shapes" / "third.json").write_text((root / "shapes" / "half.json").read_text())
        workspace.write_text(WORKSPACE.replace('half = "shapes/half.json"',
                                               'half = "shapes/half.json"\nthird = "shapes/third.json"'))
        pick(page, ids.RUN_PICKER, "third")  # listed after the next status poll
        page.wait_for_function(TEXT_IS, arg=[ids.MAP_VALUE, shown_map(root, "shapes/labels.json",
                                                                       "shapes/half.json")],
                               timeout=UPDATE_TIMEOUT_MS)
        workspace.write_text("[[datasets]\n")  # now invalid: the page keeps the runs and says why
        page.click(f"#{ids.WORKSPACE_RELOAD}")
        page.wait_for_function("(id) => (document.getElementById(id)?.innerText || '').includes('not valid TOML')",
                               arg=ids.WORKSPACE_ALERT, timeout=UPDATE_TIMEOUT_MS)
        assert str(root) not in page.inner_text(f"#{ids.WORKSPACE_ALERT}")
        screenshot(page, "workspace_reload_error")
        assert page.console_errors == []
