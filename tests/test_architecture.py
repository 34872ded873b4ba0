"""The package's shape: an acyclic import graph, a short top level, every package in the contract.

The layer order itself is the import-linter contract in ``pyproject.toml`` (``lint-imports``,
run in CI); these tests check what a layer list cannot say. grimp records imports made inside
functions and under ``TYPE_CHECKING`` like any other (its ``is_lazy`` flag is for PEP 810
``lazy import``, not for these), so the module graph here holds them all; :func:`_import_kinds`
tells them apart with :mod:`ast` to say which kind closes a cycle.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING

import grimp
import pytest

import defibmap

if TYPE_CHECKING:
    from collections.abc import Set as AbstractSet

PACKAGE_DIR = Path(defibmap.__file__).parent
PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
#: Modules directly in defibmap/ (``__init__`` included): more means a sub-package is missing.
MAX_TOP_LEVEL_MODULES = 15

Edges = dict[str, set[str]]


def _cycles(edges: Edges) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
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
    return sorted(found)


def _module_edges(
    graph: grimp.ImportGraph, *, skip: AbstractSet[tuple[str, str]] = frozenset()
) -> Edges:
    """Importer -> imported modules, without a package's imports of its own sub-modules.

    A package's ``__init__`` re-exporting its sub-modules is not a cycle when a sub-module
    imports a sibling through the package; every other edge counts.
    """
    edges: Edges = {}
    for importer in graph.modules:
        edges[importer] = {
            imported
            for imported in graph.find_modules_directly_imported_by(importer)
            if not imported.startswith(importer + ".") and (importer, imported) not in skip
        }
    return edges


def _import_kinds() -> dict[tuple[str, int], str]:
    """Kind of every import statement in defibmap, by (module, line).

    ``"function"`` for an import inside a function (deferred to run time),
    ``"type-checking"`` under ``if TYPE_CHECKING:``, otherwise absent (module level).
    """
    kinds: dict[tuple[str, int], str] = {}
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        _mark(tree, module, None, kinds)
    return kinds


def _mark(node: ast.AST, module: str, kind: str | None, kinds: dict[tuple[str, int], str]) -> None:
    """Record the kind of the imports below ``node`` (inside a function or TYPE_CHECKING)."""
    for child in ast.iter_child_nodes(node):
        child_kind = kind
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
            child_kind = "function"
        elif isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
            child_kind = kind or "type-checking"
        if isinstance(child, ast.Import | ast.ImportFrom) and kind is not None:
            kinds[module, child.lineno] = kind
        _mark(child, module, child_kind, kinds)


def _describe(graph: grimp.ImportGraph, cycle: list[str], kinds: dict[tuple[str, int], str]) -> str:
    """One cycle: its modules, then the imports that close it (deferred ones when there are)."""
    members = set(cycle)
    edges = []
    for importer in cycle:
        for imported in sorted(graph.find_modules_directly_imported_by(importer) & members):
            if imported.startswith(importer + "."):
                continue
            for detail in graph.get_import_details(importer=importer, imported=imported):
                kind = kinds.get((importer, detail["line_number"]), "module level")
                edges.append(
                    (kind, f"  {importer} -> {imported} (l.{detail['line_number']}, {kind})")
                )
    # imports inside functions first: they are the likely culprits
    deferred = [
        line
        for kind, line in sorted(edges, key=lambda e: e[0] != "function")
        if kind != "module level"
    ]
    shown = deferred or [line for _, line in edges]
    return f"cycle among {', '.join(cycle)}; imports in it:\n" + "\n".join(shown)


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    # no cache_dir: grimp would otherwise write .grimp_cache into the working folder
    return grimp.build_graph("defibmap", cache_dir=None)


@pytest.fixture(scope="module")
def kinds() -> dict[tuple[str, int], str]:
    return _import_kinds()


def test_cycle_finder_finds_cycles_and_only_cycles():
    edges: Edges = {
        "a": {"b"},
        "b": {"c"},
        "c": {"a", "d"},
        "d": {"e"},
        "e": set(),
        "x": {"y"},
        "y": {"x"},
    }
    assert _cycles(edges) == [["a", "b", "c"], ["x", "y"]]
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_cycle_finder_sees_a_cycle_closed_by_one_edge():
    chain: Edges = {f"m{i}": {f"m{i + 1}"} for i in range(500)}
    chain["m500"] = set()
    assert _cycles(chain) == []
    chain["m500"] = {"m0"}
    assert _cycles(chain) == [sorted(chain)]


def test_module_edges_skip_only_a_package_importing_its_own_modules():
    tiny = grimp.ImportGraph()
    tiny.add_import(importer="pkg", imported="pkg.a")
    tiny.add_import(importer="pkg.a", imported="pkg")
    tiny.add_import(importer="pkg.b", imported="pkg.c")
    tiny.add_import(importer="pkg.c", imported="pkg.b")
    assert _cycles(_module_edges(tiny)) == [["pkg.b", "pkg.c"]]


def test_import_kinds_tell_deferred_and_type_checking_imports_apart(tmp_path):
    source = (
        "from typing import TYPE_CHECKING\n"
        "import os\n"
        "if TYPE_CHECKING:\n"
        "    import sys\n"
        "def f():\n"
        "    import json\n"
        "    if TYPE_CHECKING:\n"
        "        import re\n"
    )
    kinds: dict[tuple[str, int], str] = {}
    _mark(ast.parse(source), "m", None, kinds)
    assert kinds == {("m", 4): "type-checking", ("m", 6): "function", ("m", 8): "function"}


def test_module_level_imports_are_acyclic(graph, kinds):
    """Importing any defibmap module never needs a module that is still half imported."""
    deferred = {
        (importer, imported)
        for importer in graph.modules
        for imported in graph.find_modules_directly_imported_by(importer)
        if all(
            (importer, detail["line_number"]) in kinds
            for detail in graph.get_import_details(importer=importer, imported=imported)
        )
    }
    cycles = _cycles(_module_edges(graph, skip=deferred))
    assert not cycles, "\n\n".join(_describe(graph, cycle, kinds) for cycle in cycles)


def test_no_deferred_import_closes_a_cycle(graph, kinds):
    """Imports inside functions and under TYPE_CHECKING do not hide a cycle either.

    A function-level import is for a heavy third-party library (osmnx, folium, dask) or a
    rarely used stage; it must not be how two defibmap modules that need each other load.
    """
    cycles = _cycles(_module_edges(graph))
    assert not cycles, "\n\n".join(_describe(graph, cycle, kinds) for cycle in cycles)


def test_top_level_stays_short():
    modules = sorted(path.name for path in PACKAGE_DIR.glob("*.py"))
    assert len(modules) <= MAX_TOP_LEVEL_MODULES, modules


def test_every_package_has_a_layer(graph):
    config = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["tool"]["importlinter"]
    (layers,) = [c for c in config["contracts"] if c["type"] == "layers"]
    assert layers["containers"] == ["defibmap"]
    listed = {
        name.strip().strip("()")
        for layer in layers["layers"]
        for name in layer.replace(":", "|").split("|")
    }
    children = {module.removeprefix("defibmap.") for module in graph.find_children("defibmap")}
    assert children - listed == set(), "give these a layer in [tool.importlinter] layers"
    assert listed - children == set(), "layers name modules that do not exist"
