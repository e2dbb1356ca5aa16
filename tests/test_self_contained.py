"""The tests stand alone: a clone of the repository is all they read.

The reference sets are checked in under ``tests/data/refdata`` (see its README.md).
These checks fail if a test or benchmark goes back to a folder beside the repository.
"""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.refdata import REFDATA

ROOT = Path(__file__).resolve().parents[1]
SCANNED = ("tests", "benchmarks")
SKIPPED_PARTS = {"artifacts", "out", "__pycache__", ".pytest_cache"}  # run outputs (git-ignored), not sources
BINARY = {".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp", ".pyc"}
OLD_LOCATION = "shared" + "/" + "refdata"  # split so this file does not match itself


def text_files(suffix: str | None = None) -> list[Path]:
    out = []
    for top in SCANNED:
        for p in sorted((ROOT / top).rglob("*")):
            rel = p.relative_to(ROOT)
            if not p.is_file() or SKIPPED_PARTS & set(rel.parts) or p.suffix.lower() in BINARY:
                continue
            if suffix is None or p.suffix == suffix:
                out.append(p)
    return out


def levels_up(line: str) -> int:
    """Folders climbed above the file's own folder by a ``__file__``-based path on one line."""
    k = re.search(r"parents\[(\d+)\]", line)
    up = int(k.group(1)) if k else -1  # Path(__file__).parent is the own folder
    up += len(re.findall(r"\.parent\b", line)) + len(re.findall(r"os\.path\.dirname\(", line))
    up += len(re.findall(r"""["']\.\.["']|\.\./|os\.pardir""", line))
    return up


def test_no_file_mentions_the_old_outside_location():
    hits = [f"{p.relative_to(ROOT)}:{n}" for p in text_files()
            for n, line in enumerate(p.read_text(encoding="utf-8", errors="replace").splitlines(), 1)
            if OLD_LOCATION in line]
    assert not hits, f"{OLD_LOCATION} is outside the repository; use tests/refdata.py REFDATA: {hits}"


def test_paths_built_from_file_stay_inside_the_repository():
    bad = []
    for p in text_files(".py"):
        if p == Path(__file__).resolve():  # its examples below are strings, not paths
            continue
        depth = len(p.relative_to(ROOT).parts) - 1  # tests/x.py: the root is one folder up
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
            if "__file__" in line and levels_up(line) > depth:
                bad.append(f"{p.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not bad, "paths above the repository root:\n" + "\n".join(bad)


def test_levels_up_counts_the_usual_spellings():
    assert levels_up('Path(__file__).resolve().parent / "data"') == 0
    assert levels_up("Path(__file__).resolve().parents[1]") == 1
    assert levels_up('Path(__file__).resolve().parents[2] / "shared"') == 2
    assert levels_up('Path(__file__).parent.parent / ".." / "x"') == 2
    assert levels_up("os.path.join(os.path.dirname(__file__), '../../x')") == 2


def test_refdata_is_inside_the_repository_and_complete():
    assert REFDATA.is_relative_to(ROOT) and REFDATA.is_dir()
    assert (REFDATA / "SOURCES.txt").is_file() and (REFDATA / "README.md").is_file()
    sets = sorted(p.name for p in REFDATA.iterdir() if p.is_dir())
    assert sets == ["cartucho_map", "coco_val2014_100", "padilla_7img", "review_toy", "review_voc100"]
    for name in sets:
        assert list((REFDATA / name).glob("EXPECTED*.json")), name
        assert list((REFDATA / name).glob("LICENSE*")), name


def test_refdata_is_not_git_ignored():
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    files = [str(p.relative_to(ROOT)) for p in sorted(REFDATA.rglob("*")) if p.is_file()]
    proc = subprocess.run(["git", "check-ignore", "--no-index", "--stdin"], cwd=ROOT, input="\n".join(files),
                          capture_output=True, text=True)
    assert proc.stdout.strip() == "", f"git ignores reference files:\n{proc.stdout}"
