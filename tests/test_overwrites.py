"""Nothing is overwritten silently: refused outputs, ``--force``, and atomic writes everywhere detlens writes."""

from __future__ import annotations

import ast
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from detlens.app.cache import SharedCache
from detlens.app.source import demo_source
from detlens.core.files import atomic_writer, check_output, write_atomic
from detlens.core.thumbnails import make_thumbnail

ROOT = Path(__file__).resolve().parents[1]
DETLENS = str(Path(sys.executable).parent / "detlens")
LABELS = {"images": [{"id": 1, "file_name": "a.jpg", "width": 100, "height": 80}],
          "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 10, 30, 20], "area": 600,
                           "iscrowd": 0}],
          "categories": [{"id": 1, "name": "thing"}]}
PREDICTIONS = [{"image_id": 1, "category_id": 1, "bbox": [11, 10, 30, 20], "score": 0.9}]


def detlens(*args) -> subprocess.CompletedProcess:
    return subprocess.run([DETLENS, *map(str, args)], capture_output=True, text=True, timeout=300)


def temporary_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.name.endswith(".tmp") or p.name.startswith(".demo-")]


def assert_one_line_error(proc: subprocess.CompletedProcess, *words: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("detlens: error:"), proc.stderr
    for word in words:
        assert word in lines[0]


@pytest.fixture()
def inputs(tmp_path) -> dict[str, Path]:
    """A tiny COCO pair with every other kind of input beside it: names file, frame CSV, images folder."""
    (tmp_path / "labels.json").write_text(json.dumps(LABELS))
    (tmp_path / "predictions.json").write_text(json.dumps(PREDICTIONS))
    (tmp_path / "names.txt").write_text("thing\n")
    (tmp_path / "frame.csv").write_text("file_name,haze\na.jpg,0.5\n")
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "a.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    return {"labels": tmp_path / "labels.json", "predictions": tmp_path / "predictions.json",
            "names": tmp_path / "names.txt", "frame_csv": tmp_path / "frame.csv", "images": tmp_path / "images"}


# ----- atomic writes ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("data, expected", [(b"\x00bytes\xff", b"\x00bytes\xff"), ("text é\n", "text é\n".encode())])
def test_write_atomic_replaces_the_file_and_leaves_no_temporary_file(tmp_path, data, expected):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    assert write_atomic(target, data) == target
    assert target.read_bytes() == expected
    assert sorted(tmp_path.iterdir()) == [target]


def test_written_files_get_the_usual_permissions(tmp_path):
    umask = os.umask(0o022)
    os.umask(umask)
    write_atomic(tmp_path / "out.json", "{}")
    assert stat.S_IMODE((tmp_path / "out.json").stat().st_mode) == 0o666 & ~umask


@pytest.mark.parametrize("mode, first, second", [("wb", b"new part", b" never finished"), ("w", "new part", "!")])
def test_a_writer_interrupted_by_an_exception_leaves_the_old_file_and_no_temporary_file(tmp_path, mode, first,
                                                                                        second):
    target = tmp_path / "result.json"
    target.write_text("old content")
    with pytest.raises(RuntimeError, match="interrupted"):
        with atomic_writer(target, mode) as fh:
            fh.write(first)
            fh.flush()
            assert target.read_text() == "old content"  # readers see the old file while it is written
            raise RuntimeError("interrupted")
    assert target.read_text() == "old content"
    assert sorted(tmp_path.iterdir()) == [target]


def test_a_symbolic_link_at_the_target_is_replaced_not_written_through(tmp_path):
    precious = tmp_path / "precious.txt"
    precious.write_text("keep me")
    link = tmp_path / "out.json"
    link.symlink_to(precious)
    write_atomic(link, "{}")
    assert not link.is_symlink() and link.read_text() == "{}"
    assert precious.read_text() == "keep me"


def test_thumbnails_replace_their_file_atomically(tmp_path):
    target = tmp_path / "thumbs" / "0_128.jpg"
    make_thumbnail(None, target, 128, 40, 30)
    first = target.read_bytes()
    make_thumbnail(None, target, 128, 30, 40)  # another shape: another file
    assert target.read_bytes() != first and target.read_bytes()[:2] == b"\xff\xd8"
    assert temporary_files(tmp_path) == []


WRITE_METHODS = {"write_text", "write_bytes"}


def file_writes(path: Path) -> list[str]:
    """Calls in ``path`` that write a file other than through :mod:`detlens.core.files`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        modes = [a.value for a in node.args[1:2] + [k.value for k in node.keywords if k.arg == "mode"]
                 if isinstance(a, ast.Constant)]
        if name in WRITE_METHODS:
            found.append(f"{name}()")
        elif name == "open" and isinstance(func, ast.Name) and any(set(str(m)) & set("wax+") for m in modes):
            found.append(f"open(..., {modes[0]!r})")
        elif name in ("save", "to_csv", "to_parquet", "savez", "dump") and node.args and \
                isinstance(node.args[0], (ast.BinOp, ast.Constant, ast.JoinedStr)):
            found.append(f"{name}(<path>)")
    return [f"{path.relative_to(ROOT)}:{w}" for w in found]


def test_detlens_writes_files_only_through_core_files():
    sources = [p for layer in ("app", "callbacks", "layouts", "core") for p in (ROOT / layer).rglob("*.py")
               if p != ROOT / "core" / "files.py" and "__pycache__" not in p.parts]
    assert [w for p in sources for w in file_writes(p)] == []


# ----- --json never over an input ------------------------------------------------------------------------------

@pytest.mark.parametrize("command", ["evaluate", "metrics"])
@pytest.mark.parametrize("target, option", [
    ("labels.json", "--labels"),
    ("predictions.json", "--predictions"),
    ("names.txt", "--names"),
    ("frame.csv", "--frame-csv"),
    ("images/a.jpg", "--images"),           # a file in the images folder
    ("images/result.json", "--images"),     # a new file in the images folder
    ("link-to-labels.json", "--labels"),    # a symbolic link to an input
    ("hardlink-to-labels.json", "--labels"),
])
def test_json_output_never_writes_over_an_input(inputs, command, target, option):
    folder = inputs["labels"].parent
    (folder / "link-to-labels.json").symlink_to(inputs["labels"])
    os.link(inputs["labels"], folder / "hardlink-to-labels.json")
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    proc = detlens(command, "--labels", inputs["labels"], "--predictions", inputs["predictions"],
                   "--names", inputs["names"], "--frame-csv", inputs["frame_csv"], "--images", inputs["images"],
                   "--json", folder / target)
    assert_one_line_error(proc, "--json", option)
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before
    assert temporary_files(folder) == []


@pytest.mark.parametrize("inside", ["ground-truth", "detection-results"])
def test_json_output_never_writes_into_an_input_folder(tmp_path, inside):
    import shutil

    folder = tmp_path / "cartucho"
    shutil.copytree(ROOT / "tests" / "data" / "refdata" / "cartucho_map", folder)
    proc = detlens("evaluate", "--labels", folder / "ground-truth", "--predictions", folder / "detection-results",
                   "--json", folder / inside / "result.json")
    assert_one_line_error(proc, "--json", "is inside the input")
    assert not (folder / inside / "result.json").exists()


@pytest.mark.parametrize("target, words", [("images", "is a folder"), ("missing/result.json", "does not exist")])
def test_json_output_must_be_a_file_in_an_existing_folder(inputs, target, words):
    proc = detlens("evaluate", "--labels", inputs["labels"], "--predictions", inputs["predictions"],
                   "--json", inputs["labels"].parent / target)
    assert_one_line_error(proc, words)


def test_json_output_replaces_an_earlier_result_and_says_so(inputs, tmp_path):
    out = tmp_path / "result.json"
    first = detlens("evaluate", "--labels", inputs["labels"], "--predictions", inputs["predictions"], "--json", out)
    assert first.returncode == 0, first.stderr
    assert "replacing" not in first.stderr
    second = detlens("evaluate", "--labels", inputs["labels"], "--predictions", inputs["predictions"], "--iou", "0.9",
                     "--json", out)
    assert second.returncode == 0, second.stderr
    assert f"note: replacing {out}" in second.stderr
    assert json.loads(out.read_text())["iou_threshold"] == 0.9
    assert temporary_files(tmp_path) == []


@pytest.mark.parametrize("given", ["labels", "images"])
def test_check_output_names_the_input(inputs, given):
    target = inputs[given] if given == "labels" else inputs["images"] / "x.json"
    with pytest.raises(ValueError, match=f"--{given}"):
        check_output(target, {f"--{k.replace('_', '-')}": v for k, v in inputs.items()}, "--json")
    assert check_output(inputs["labels"].parent / "new.json", {"--labels": inputs["labels"]}, "--json") == \
        inputs["labels"].parent / "new.json"


# ----- detlens demo DIR ----------------------------------------------------------------------------------------

def test_demo_refuses_a_folder_that_is_not_empty_and_writes_into_it_with_force(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "labels.json").write_text("my own labels")
    (out / "notes.txt").write_text("my notes")
    refused = detlens("demo", out)
    assert_one_line_error(refused, str(out), "--force")
    assert (out / "labels.json").read_text() == "my own labels" and sorted(p.name for p in out.iterdir()) == \
        ["labels.json", "notes.txt"]
    forced = detlens("demo", out, "--force")
    assert forced.returncode == 0, forced.stderr
    assert json.loads((out / "labels.json").read_text())["info"]["description"] == "detlens synthetic demo"
    assert (out / "notes.txt").read_text() == "my notes"  # other files stay
    assert temporary_files(out) == []


def test_demo_refuses_a_file(tmp_path):
    (tmp_path / "file").write_text("x")
    assert_one_line_error(detlens("demo", tmp_path / "file"), "not a folder")


# ----- the embedded demo in the cache folder ---------------------------------------------------------------------

def test_the_embedded_demo_is_written_once_into_an_absent_or_empty_folder(tmp_path):
    cache = SharedCache(tmp_path / "cache")
    (cache.cache_dir / "demo").mkdir()  # an empty folder counts as absent
    source = demo_source(cache)
    labels = Path(source.labels)
    assert labels.parent == cache.cache_dir / "demo" and (labels.parent / "README.txt").is_file()
    written = {p: p.stat().st_mtime_ns for p in labels.parent.rglob("*")}
    assert demo_source(cache) == source  # found complete: not written again
    assert {p: p.stat().st_mtime_ns for p in labels.parent.rglob("*")} == written
    assert temporary_files(cache.cache_dir) == []


@pytest.mark.parametrize("files", [{"labels.json": "my labels"}, {"notes.txt": "mine", "README.txt": "mine"}])
def test_the_embedded_demo_is_never_written_over_a_users_files(tmp_path, files):
    cache = SharedCache(tmp_path / "cache")
    demo = cache.cache_dir / "demo"
    demo.mkdir()
    for name, text in files.items():
        (demo / name).write_text(text)
    with pytest.raises(ValueError, match="not the embedded demo"):
        demo_source(cache)
    assert {p.name: p.read_text() for p in demo.iterdir()} == files
    assert temporary_files(cache.cache_dir) == []
