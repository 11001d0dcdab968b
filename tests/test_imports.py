"""The convexdual modules import one another one way: the import graph has no cycle.

The graph is read from the source (the AST of every ``convexdual/*.py``): an edge A -> B for every
import of B in A, at the top of the module or inside a function (a lazy import still makes a
cycle: each module then needs the other). Imports under ``if TYPE_CHECKING:`` are not run and
are left out.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = "convexdual"
SOURCE = Path(__file__).resolve().parent.parent / PACKAGE


def module_names() -> set[str]:
    """Every module of the package (``convexdual`` for its ``__init__``)."""
    return {PACKAGE if p.stem == "__init__" else f"{PACKAGE}.{p.stem}" for p in SOURCE.glob("*.py")}


def _type_checking_only(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node of ``tree`` except those under ``if TYPE_CHECKING:``."""
    out: list[ast.AST] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        out.append(node)
        if isinstance(node, ast.If) and _type_checking_only(node):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))
    return out


def imported(module: str, node: ast.AST, modules: set[str]) -> set[str]:
    """The package modules that the import statement ``node`` in ``module`` imports."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names if alias.name in modules}
    if not isinstance(node, ast.ImportFrom):
        return set()
    if node.level:
        package = module if module == PACKAGE else module.rsplit(".", 1)[0]
        for _ in range(node.level - 1):
            package = package.rsplit(".", 1)[0]
        base = f"{package}.{node.module}" if node.module else package
    else:
        base = node.module or ""
    if not (base == PACKAGE or base.startswith(PACKAGE + ".")):
        return set()
    found = {f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in modules}
    if base in modules and (base != PACKAGE or len(found) < len(node.names)):
        found.add(base)  # names taken from the module itself (or from the package's __init__)
    return found


def import_graph() -> dict[str, set[str]]:
    """module -> the package modules it imports (anywhere in its body)."""
    modules = module_names()
    graph: dict[str, set[str]] = {}
    for path in sorted(SOURCE.glob("*.py")):
        name = PACKAGE if path.stem == "__init__" else f"{PACKAGE}.{path.stem}"
        tree = ast.parse(path.read_text(), filename=str(path))
        edges: set[str] = set()
        for node in _runtime_nodes(tree):
            edges |= imported(name, node, modules)
        graph[name] = edges - {name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (as a closed path) per strongly connected component with more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                components.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return [closed_path(graph, comp) for comp in components]


def closed_path(graph: dict[str, set[str]], component: list[str]) -> list[str]:
    """A shortest cycle through the first module of a strongly connected component."""
    start, inside = component[0], set(component)
    paths = {start: [start]}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(graph[v] & inside):
            if w == start:
                return paths[v] + [start]
            if w not in paths:
                paths[w] = paths[v] + [w]
                queue.append(w)
    return component  # not reached: a strongly connected component has a cycle through each member


def test_graph_reads_the_imports() -> None:
    graph = import_graph()
    assert "convexdual.runs" in graph["convexdual.sweep"]  # a top-level relative import
    assert "convexdual.pipeline" in graph["convexdual.trainrun"]  # an import inside a function
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles() -> None:
    found = cycles(import_graph())
    assert not found, "import cycles among convexdual modules:\n" + "\n".join(" -> ".join(c) for c in found)
