"""The convexdual modules import one another one way: the import graph has no cycle, and every
import goes down the layers of the pipeline (:data:`LAYERS`).

The graph is read from the source (the AST of every module of the package and its subpackages): an edge A -> B for every
import of B in A, at the top of the module or inside a function (a lazy import still makes a
cycle: each module then needs the other). Imports under ``if TYPE_CHECKING:`` are not run and
are left out.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = "convexdual"
SOURCE = Path(__file__).resolve().parent.parent / PACKAGE


def module_name(path: Path) -> str:
    """``convexdual/cli/solve.py`` -> ``convexdual.cli.solve``; a package's ``__init__`` is the package."""
    parts = (PACKAGE, *path.relative_to(SOURCE).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def source_files() -> list[Path]:
    return sorted(SOURCE.rglob("*.py"))


def module_names() -> set[str]:
    """Every module of the package and its subpackages."""
    return {module_name(p) for p in source_files()}


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


def imported(module: str, node: ast.AST, modules: set[str], is_package: bool = False) -> set[str]:
    """The package modules that the import statement ``node`` in ``module`` imports
    (``is_package``: ``module`` is a package's ``__init__``)."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names if alias.name in modules}
    if not isinstance(node, ast.ImportFrom):
        return set()
    if node.level:
        package = module if is_package else module.rsplit(".", 1)[0]
        for _ in range(node.level - 1):
            package = package.rsplit(".", 1)[0]
        base = f"{package}.{node.module}" if node.module else package
    else:
        base = node.module or ""
    if not (base == PACKAGE or base.startswith(PACKAGE + ".")):
        return set()
    found = {f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in modules}
    if base in modules and (not _is_package(base) or len(found) < len(node.names)):
        found.add(base)  # names taken from the module itself (or from the package's __init__)
    return found


def _is_package(module: str) -> bool:
    return (SOURCE.joinpath(*module.split(".")[1:]) / "__init__.py").exists()


def import_graph() -> dict[str, set[str]]:
    """module -> the package modules it imports (anywhere in its body)."""
    modules = module_names()
    graph: dict[str, set[str]] = {}
    for path in source_files():
        name = module_name(path)
        tree = ast.parse(path.read_text(), filename=str(path))
        edges: set[str] = set()
        for node in _runtime_nodes(tree):
            edges |= imported(name, node, modules, path.stem == "__init__")
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


# The pipeline from the bottom up: a module imports only modules of its own layer or of layers
# below it. A new module joins the layer of the step it implements.
LAYERS: tuple[tuple[str, ...], ...] = (
    # foundations: errors, registries of problems and solvers, small helpers, result files
    ("convexdual", "errors", "linalg", "measure", "oracle_kernels", "problems", "solvers", "results"),
    ("config",),
    # data and the numerical core: patterns -> program -> dual -> optimum -> optimal set -> widths
    ("data", "patterns", "program", "dual", "oracle", "refine", "optimum", "optimal_set", "widths", "vector",
     "three_layer", "network", "training"),
    # one solve per architecture, its result and JSON, the certificate of a given network
    ("solve_cache", "report", "two_layer_solve", "vector_solve", "three_layer_solve", "certify", "certify_weights"),
    ("variants", "pipeline"),
    # analyses of a solved instance
    ("uniqueness", "paths"),
    # run folders: sweeps, launchers, training runs
    ("runs", "launch", "sweep", "trainrun"),
    # what draws: figures and the benchmark
    ("bench", "figures", "figures.*"),
    ("cli", "cli.*", "__main__"),
)


def layer_of(module: str) -> int:
    """The index in :data:`LAYERS` of a module (``convexdual.figures.draw`` matches ``figures.*``)."""
    short = module.removeprefix(PACKAGE + ".") if module != PACKAGE else PACKAGE
    for k, layer in enumerate(LAYERS):
        for entry in layer:
            if short == entry or (entry.endswith(".*") and short.startswith(entry[:-1])):
                return k
    raise AssertionError(f"{module} is in no layer of tests/test_imports.py LAYERS")


def test_every_module_has_a_layer() -> None:
    for module in module_names():
        layer_of(module)


def test_imports_go_down_the_layers() -> None:
    graph = import_graph()
    upward = [f"{a} (layer {layer_of(a)}) imports {b} (layer {layer_of(b)})"
              for a, targets in sorted(graph.items()) for b in sorted(targets) if layer_of(b) > layer_of(a)]
    assert not upward, "imports up the layers:\n" + "\n".join(upward)
    assert layer_of("convexdual.figures.draw") == layer_of("convexdual.figures") > layer_of("convexdual.pipeline")
