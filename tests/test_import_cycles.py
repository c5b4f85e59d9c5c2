"""No import cycle in ``nebhx``, counting every import: those at the top of a module and those
written inside functions (moving a back edge into a function body hides it from a top-level
scan, not from the running program). Imports under ``if TYPE_CHECKING:`` never run and are
left out. Imports are read with ``ast``; the cycles are networkx's strongly connected groups.

Run ``python tests/test_import_cycles.py`` to print the groups.
"""
from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

PACKAGE = Path(__file__).resolve().parent.parent / "backend" / "nebhx"

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


def test_no_import_cycle():
    graph = import_graph()
    left = cycles(graph)
    for group in left:  # name the edges inside each group, so the tie can be found
        inner = sorted(graph.subgraph(group).edges())
        print(f"cycle of {len(group)}: " + ", ".join(f"{a} -> {b}" for a, b in inner))
    assert not left, f"import cycles (modules per group): {[len(c) for c in left]}; see the output"


if __name__ == "__main__":
    full = import_graph()
    print("import cycles (modules per group):", [len(c) for c in cycles(full)])
