"""The package's shape: layers import one way, no private name crosses a module, no configuration by environment."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# app/ (composition root) -> callbacks/ -> layouts/ -> core/: a layer imports only the layers after it
LAYERS = ("app", "callbacks", "layouts", "core")


def modules(layer: str) -> list[Path]:
    return sorted(p for p in (ROOT / layer).rglob("*.py") if "__pycache__" not in p.parts)


def imported(path: Path) -> list[tuple[str, list[str]]]:
    """``(module, names)`` of every import statement in ``path`` (relative imports resolved in detlens)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [(a.name, []) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                package = ["detlens", *path.relative_to(ROOT).parent.parts]
                module = ".".join(package[:len(package) - node.level + 1] + ([module] if module else []))
            out.append((module, [a.name for a in node.names]))
    return out


@pytest.mark.parametrize("layer", LAYERS)
def test_layers_import_only_the_layers_below(layer):
    allowed = set(LAYERS[LAYERS.index(layer):])
    wrong = []
    for path in modules(layer):
        for module, _ in imported(path):
            parts = module.split(".")
            if parts[0] in LAYERS:
                wrong.append(f"{path.relative_to(ROOT)} imports {module} without the detlens prefix")
            elif parts[0] == "detlens" and len(parts) > 1 and parts[1] not in allowed:
                wrong.append(f"{path.relative_to(ROOT)} imports {module}")
    assert not wrong, "\n".join(wrong)


def test_core_never_imports_dash():
    wrong = [f"{p.relative_to(ROOT)}: {m}" for p in modules("core") for m, _ in imported(p)
             if m.split(".")[0] in ("dash", "dash_bootstrap_components", "plotly", "flask")]
    assert not wrong, "\n".join(wrong)


def test_no_private_name_is_imported_from_another_module():
    wrong = [f"{p.relative_to(ROOT)}: {m}.{n}" for layer in (*LAYERS, "tests", "benchmarks") for p in modules(layer)
             for m, names in imported(p) if m.startswith(("detlens", "tests")) for n in names
             if n.startswith("_") and not n.startswith("__")]
    assert not wrong, "\n".join(wrong)


def test_configuration_is_read_from_the_environment_only_at_the_edge():
    # the CLI and the WSGI entry read it once and pass a frozen ServeConfig on
    edge = {ROOT / "app" / "config.py", ROOT / "app" / "wsgi.py", ROOT / "app" / "cli.py"}
    wrong = [str(p.relative_to(ROOT)) for layer in LAYERS for p in modules(layer)
             if p not in edge and ("os.environ" in p.read_text() or "getenv(" in p.read_text())]
    assert not wrong, f"environment read outside the edge: {wrong}"
