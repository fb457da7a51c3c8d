"""The shape of the package: layers import downward only, no import cycles, small
modules, and no face or tool choosing behaviour by a backend's name."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

import xstore

PACKAGE = Path(__file__).resolve().parent.parent / "xstore"

#: what each layer may import (besides itself); see the README's development section
LAYERS = {
    "base": set(),
    "codecs": {"base"},
    "backends": {"base"},
    "core": {"base", "codecs", "backends"},
    "faces": {"base", "codecs", "backends", "core"},
    "tools": {"base", "codecs", "backends", "core", "faces", "top"},
    "top": {"base", "codecs", "backends", "core", "faces", "tools"},
}
MAX_LINES = 500


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = _modules()


def _layer(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1 or parts[1] == "__main__":
        return "top"
    if parts[1] in ("errors", "names", "model"):
        return "base"
    return parts[1]


def _imports(module: str) -> set[str]:
    """xstore modules that ``module`` imports anywhere (module level or in functions)."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [
                f"{node.module}.{alias.name}"
                if f"{node.module}.{alias.name}" in MODULES
                else node.module
                for alias in node.names
            ]
        else:
            continue
        out.update(name for name in names if name in MODULES and name != module)
    return out


GRAPH = {module: _imports(module) for module in MODULES}


def _cycles() -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in GRAPH[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(GRAPH):
        if module not in index:
            visit(module)
    return found


def test_the_import_graph_was_read() -> None:
    assert "xstore.core.layout" in GRAPH["xstore.core.session"]
    assert "xstore.faces.store" in GRAPH["xstore.faces.api"]


def test_no_import_cycles() -> None:
    assert _cycles() == []


def test_layers_import_downward_only() -> None:
    wrong = [
        f"{module} ({_layer(module)}) imports {target} ({_layer(target)})"
        for module, targets in GRAPH.items()
        for target in targets
        if _layer(target) != _layer(module) and _layer(target) not in LAYERS[_layer(module)]
    ]
    assert wrong == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_modules_stay_small(module: str) -> None:
    lines = MODULES[module].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{module} has {lines} lines; split it by job"


def test_faces_and_tools_never_compare_backend_names() -> None:
    pattern = re.compile(r"""(==|!=)\s*["'](netcdf|zarr|memory)["']|["'](netcdf|zarr)["']\s+if\b""")
    hits = [
        f"{module}: {line.strip()}"
        for module, path in MODULES.items()
        if _layer(module) in ("faces", "tools", "core")
        for line in path.read_text(encoding="utf-8").splitlines()
        if pattern.search(line)
    ]
    assert hits == []


def test_child_processes_import_the_xstore_under_test(tmp_path: Path) -> None:
    """Subprocess-based tests (crashes, damage, the CLI) judge this checkout's code,
    even where another copy of xstore is installed."""
    out = subprocess.run(
        [sys.executable, "-c", "import xstore; print(xstore.__file__)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(out.stdout.strip()).resolve() == Path(xstore.__file__).resolve()


def test_every_module_is_in_the_readme_layout() -> None:
    """The README's Development section lists every module with its job."""
    readme = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")
    layout = readme[readme.index("xstore/__init__.py") :]
    layout = layout[: layout.index("```")]
    missing = [
        str(module.relative_to(PACKAGE))
        for module in sorted(PACKAGE.rglob("*.py"))
        if module.name != "__init__.py" and module.name not in layout
    ]
    assert not missing, f"add these to the README's layout: {missing}"
