"""The package's shape, read from its source: no private attribute of another library is read
or written, no module imports another's private names, the modules import each other without
a cycle, and the server's modules live in gfd_kg/web/ (the build's beside them in gfd_kg/)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "gfd_kg"
MODULES = sorted(p for p in PACKAGE.rglob("*.py") if p.stat().st_size)


def _name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _imported(path: Path, node: ast.ImportFrom) -> str:
    """The absolute name of the module a ``from ... import`` names."""
    if not node.level:
        return node.module or ""
    package = _name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    base = package[: len(package) - node.level + 1]
    return ".".join([*base, node.module] if node.module else base)


def _defined_private_names() -> set[str]:
    """The private names the package defines itself: its functions, classes and variables,
    and the attributes it assigns (``self._entries = ...``)."""
    names = set()
    for path in MODULES:
        for node in ast.walk(_tree(path)):
            if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                names.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) and \
                    isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
                names.add(node.attr)
    return {n for n in names if _private(n)}


OURS = _defined_private_names()


@pytest.mark.parametrize("path", MODULES, ids=lambda p: _name(p))
def test_no_private_name_of_another_module_is_used(path):
    """A private attribute the package does not define itself is another library's
    (``loop._thread_id``, ``asyncio.tasks._leave_task``); a private name imported from any
    module, the package's own included, is that module's business."""
    found = []
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.ImportFrom):
            found += [f"line {node.lineno}: from {_imported(path, node)} import {a.name}"
                      for a in node.names if _private(a.name)]
        elif isinstance(node, ast.Attribute) and _private(node.attr) and node.attr not in OURS:
            found.append(f"line {node.lineno}: {ast.unparse(node)}")
    assert not found, f"{path.relative_to(PACKAGE.parent)}: " + "; ".join(found)


def _imports() -> dict[str, set[str]]:
    """Each module's imports of the package's modules, at any depth of its code."""
    graph: dict[str, set[str]] = {}
    known = {_name(p) for p in MODULES} | {_name(p) for p in PACKAGE.rglob("__init__.py")}
    for path in MODULES:
        edges = graph.setdefault(_name(path), set())
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.ImportFrom):
                target = _imported(path, node)
                for alias in node.names:
                    full = f"{target}.{alias.name}"
                    if full in known:
                        edges.add(full)
                    elif target in known:
                        edges.add(target)
            elif isinstance(node, ast.Import):
                edges.update(a.name for a in node.names if a.name in known)
        edges.discard(_name(path))
    return graph


def test_the_modules_import_each_other_without_a_cycle():
    graph = _imports()
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            cycle = [*path[path.index(module):], module]
            pytest.fail("an import cycle: " + " -> ".join(cycle))
        if module in done:
            return
        for other in sorted(graph.get(module, ())):
            visit(other, [*path, module])
        done.add(module)

    for module in sorted(graph):
        visit(module, [])


def test_the_server_is_a_subpackage_the_build_does_not_import():
    graph = _imports()
    web = {m for m in graph if m.startswith("gfd_kg.web")}
    assert {"gfd_kg.web.app", "gfd_kg.web.sparql", "gfd_kg.web.server", "gfd_kg.web.site",
            "gfd_kg.web.store", "gfd_kg.web.runner"} <= web
    build_side = {m for m in graph if m not in web and m != "gfd_kg.cli"}
    leaks = sorted(f"{m} -> {o}" for m in build_side for o in graph[m] if o in web)
    assert not leaks, f"the build imports the server: {leaks}"
    flat = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert not {"serve.py", "protocol.py", "supervisor.py", "store.py"} & set(flat), flat
