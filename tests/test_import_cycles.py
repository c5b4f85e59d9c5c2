"""No import cycle in ``nebhx``, counting every import: those at the top of a module and those
written inside functions (moving a back edge into a function body hides it from a top-level
scan, not from the running program). Imports under ``if TYPE_CHECKING:`` never run and are
left out. Imports are read with ``ast``; the cycles are networkx's strongly connected groups.

``ALLOWED`` lists the edges still cut before the check, each a known back edge waiting to be
removed. It may only shrink: an entry that is gone, or in no cycle any more, fails the test.
Run ``python tests/test_import_cycles.py`` to print the groups with and without the list.
"""
from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

PACKAGE = Path(__file__).resolve().parent.parent / "backend" / "nebhx"

# Known back edges, to be cut (issue 19); never add one. Removing these 4 edges leaves no cycle.
ALLOWED: set[tuple[str, str]] = {
    # The palette lists stored graphs as composite bricks; their checks ask the palette.
    # The scheduler starts composites and fan-outs, which advance their inner nodes through it.
    # A secret in use by a stored graph is refused deletion (graphs.removal), while graphs
    # seal their secret defaults through secrets.service.
    ("nebhx.secrets.service", "nebhx.graphs.removal"),
    # Pairs of modules of one package that call each other.
    ("nebhx.runtime.sources", "nebhx.runtime.images"),
    ("nebhx.runtime.undo", "nebhx.runtime.bluegreen"),
    # The services view reads liveness state; the liveness watcher reads the service records.
    ("nebhx.runtime.services", "nebhx.runtime.liveness"),
}


def _modules(root: Path) -> dict[str, Path]:
    out = {}
    for path in root.rglob("*.py"):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


class _Imports(ast.NodeVisitor):
    """Every imported dotted name in one module, wherever the import statement stands."""

    def __init__(self, module: str, package: bool, known: dict[str, Path]):
        self.module, self.package, self.known = module, package, known
        self.names: list[str] = []

    def visit_If(self, node: ast.If) -> None:
        if _is_type_checking(node.test):
            for child in node.orelse:
                self.visit(child)
        else:
            self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        self.names.extend(alias.name for alias in node.names)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = node.module or ""
        if node.level:  # relative: resolved against this module's package
            pkg = self.module if self.package else self.module.rpartition(".")[0]
            for _ in range(node.level - 1):
                pkg = pkg.rpartition(".")[0]
            base = f"{pkg}.{base}" if base else pkg
        for alias in node.names:
            sub = f"{base}.{alias.name}"
            self.names.append(sub if sub in self.known else base)


def import_graph(root: Path = PACKAGE) -> nx.DiGraph:
    known = _modules(root)
    graph = nx.DiGraph()
    for module, path in known.items():
        graph.add_node(module)
        visitor = _Imports(module, path.name == "__init__.py", known)
        visitor.visit(ast.parse(path.read_text(), str(path)))
        for name in visitor.names:
            while name and name not in known:  # `pkg.mod.func` is an import of `pkg.mod`
                name = name.rpartition(".")[0]
            if name and name != module:
                graph.add_edge(module, name)
    return graph


def cycles(graph: nx.DiGraph) -> list[list[str]]:
    groups = [sorted(c) for c in nx.strongly_connected_components(graph) if len(c) > 1]
    return sorted(groups, key=lambda c: (-len(c), c))


def test_allowed_back_edges_are_still_in_a_cycle():
    graph = import_graph()
    inside = {edge for group in cycles(graph) for edge in graph.subgraph(group).edges()}
    gone = sorted(edge for edge in ALLOWED if edge not in inside)
    assert not gone, f"these edges are cut or in no cycle now: remove them from ALLOWED in {__file__}: {gone}"


def test_no_import_cycle():
    graph = import_graph()
    print(f"\nimport cycles over all imports: {[len(c) for c in cycles(graph)]} modules; "
          f"{len(ALLOWED)} back edges allowed")
    graph.remove_edges_from(ALLOWED)
    left = cycles(graph)
    for group in left:  # name the edges inside each group, so the tie can be found
        inner = sorted(graph.subgraph(group).edges())
        print(f"cycle of {len(group)}: " + ", ".join(f"{a} -> {b}" for a, b in inner))
    assert not left, f"import cycles (modules per group): {[len(c) for c in left]}; see the output"


if __name__ == "__main__":
    full = import_graph()
    print("with every edge:", [len(c) for c in cycles(full)])
    full.remove_edges_from(ALLOWED)
    print(f"without the {len(ALLOWED)} allowed:", [len(c) for c in cycles(full)])
