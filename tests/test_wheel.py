"""The wheel ``pip wheel .`` builds: one import package ``detlens`` with the page's assets, nothing else.

The wheel is built once per session (:func:`session_wheel`, shared with
``tests/browser/test_installed_wheel.py``) from a clean copy of the work tree, so a stale ``build/``
folder or egg-info in the repository cannot leak into it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_DIRS = ("app", "core", "callbacks", "layouts")  # detlens.app is app/, ... (pyproject's package-dir)
NOT_SHIPPED = ("tests", "benchmarks", "docs")
# never copied into the build folder: environments, caches, build output
SKIP = {".git", ".venv", "venv", "build", "dist", "__pycache__", ".pytest_cache", ".detlens-cache", "artifacts"}


def project_version() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def _source_files() -> list[Path]:
    """The work tree's files, relative to ROOT: tracked plus untracked-but-not-ignored (git), else a walk."""
    if (ROOT / ".git").exists() and shutil.which("git"):
        out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                             cwd=ROOT, check=True, capture_output=True).stdout.decode()
        return [Path(p) for p in out.split("\0") if p and (ROOT / p).is_file()]
    return [p.relative_to(ROOT) for p in ROOT.rglob("*")
            if p.is_file() and not SKIP.intersection(p.relative_to(ROOT).parts)
            and not any(part.endswith(".egg-info") for part in p.relative_to(ROOT).parts)]


def build_wheel(out_dir: Path) -> Path:
    """Build the wheel from a copy of the work tree in ``out_dir``; returns the wheel's path.

    pip's default build isolation installs the build backend (``setuptools``) from the configured
    package index, as ``pip install -e .`` in the Makefile does.
    """
    src, dist = out_dir / "src", out_dir / "dist"
    for rel in _source_files():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, src / rel)
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", str(dist), str(src)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"pip wheel failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    wheels = list(dist.glob("detlens-*.whl"))
    assert len(wheels) == 1, f"expected one detlens wheel in {dist}, found {wheels}"
    print(f"wheel built in {time.monotonic() - start:.1f} s: {wheels[0].name}", file=sys.stderr)
    return wheels[0]


_BUILT: dict[str, Path] = {}


def session_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built on first use in this test session and reused after."""
    if "wheel" not in _BUILT:
        _BUILT["wheel"] = build_wheel(tmp_path_factory.mktemp("wheel"))
    return _BUILT["wheel"]


@pytest.fixture(scope="module")
def detlens_wheel(tmp_path_factory) -> Path:
    return session_wheel(tmp_path_factory)


def wheel_names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as zf:
        return {n for n in zf.namelist() if not n.endswith("/")}


def test_only_detlens_and_its_dist_info_at_top_level(detlens_wheel):
    top = {name.split("/", 1)[0] for name in wheel_names(detlens_wheel)}
    assert top == {"detlens", f"detlens-{project_version()}.dist-info"}


def test_the_package_holds_only_its_subpackages_and_assets(detlens_wheel):
    inside = {name.split("/")[1] for name in wheel_names(detlens_wheel) if name.startswith("detlens/")}
    assert inside == {*PACKAGE_DIRS, "assets"}


def test_assets_are_package_data(detlens_wheel):
    names = wheel_names(detlens_wheel)
    for required in ("detlens/assets/bootstrap.min.css", "detlens/assets/explorer.css"):
        assert required in names
    assert any(n.startswith("detlens/assets/plotly") and n.endswith(".min.js") for n in names), "no plotly.js bundle"
    on_disk = {f"detlens/assets/{p.name}" for p in (ROOT / "assets").iterdir() if p.is_file()}
    assert on_disk <= names, f"assets missing from the wheel: {sorted(on_disk - names)}"


def test_every_module_is_in_the_wheel(detlens_wheel):
    names = wheel_names(detlens_wheel)
    modules = {f"detlens/{p.relative_to(ROOT).as_posix()}"
               for folder in PACKAGE_DIRS for p in (ROOT / folder).rglob("*.py") if "__pycache__" not in p.parts}
    assert len(modules) > 40
    missing = sorted(modules - names)
    assert not missing, f"modules missing from the wheel (add their package to pyproject's packages): {missing}"


def test_no_tests_benchmarks_or_docs(detlens_wheel):
    leaked = sorted(n for n in wheel_names(detlens_wheel)
                    if any(f"/{d}/" in f"/{n}" for d in NOT_SHIPPED) or n.startswith("detlens/build/"))
    assert not leaked, f"files that must not ship: {leaked}"


def test_console_script_entry_point(detlens_wheel):
    with zipfile.ZipFile(detlens_wheel) as zf:
        entry_points = zf.read(f"detlens-{project_version()}.dist-info/entry_points.txt").decode()
    assert "detlens = detlens.app.cli:main" in entry_points
