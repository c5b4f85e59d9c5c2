"""The shape of every domain (house style: one folder per domain, routes of a few lines): a route
gets its store session by ``Depends`` (nebhx.store.deps.DbSession) and answers the typed model a
service returns, so no routes module opens ``session_scope`` or turns a dict into a model with
``model_validate``; times in answers are real datetimes, so no routes or service module of a
converted domain builds time strings with ``iso()``."""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "backend" / "nebhx"
# Still to convert, by the helper that owns them: they leave this list when they are done (a
# domain listed here that is already clean fails too, so the list only shrinks).
PENDING: set[str] = set()
# The engine's own iso() calls are the engine's (nebhx/engine); these domains have none left.
NO_ISO = ("auth", "artifacts", "ipam", "triggers", "mail", "releases", "runs", "hosts", "graphs",
          "secrets", "configs", "volumes", "metrics")


def _routes_modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p.name == "routes.py" or p.name.endswith("_routes.py"))


def _offences(path: Path) -> list[str]:
    """Each place the module opens a session itself or validates a dict into a model."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and any(a.name == "session_scope" for a in node.names):
            found.append(f"line {node.lineno}: imports session_scope (take `s: DbSession`)")
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name == "session_scope":
                found.append(f"line {node.lineno}: opens session_scope() (take `s: DbSession`)")
            if name == "model_validate":
                found.append(f"line {node.lineno}: calls model_validate (the service returns the model)")
    return found


def test_routes_take_their_session_by_depends_and_return_what_services_return():
    modules = _routes_modules()
    assert len(modules) >= 15, modules  # the walk found the routes modules at all
    bad = {str(p.relative_to(PACKAGE)): found for p in modules
           if (found := _offences(p)) and p.parent.name not in PENDING}
    assert not bad, f"routes modules that hold a service's work: {bad}"
    done = sorted(d for d in PENDING if not any(_offences(p) for p in modules if p.parent.name == d))
    assert not done, f"{done} follow the rule now: take them out of PENDING"


def test_converted_domains_answer_times_as_datetimes_not_iso_strings():
    built = {}
    for domain in NO_ISO:
        for path in sorted((PACKAGE / domain).glob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            calls = [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Call)
                     and getattr(n.func, "id", getattr(n.func, "attr", "")) == "iso"]
            if calls:
                built[str(path.relative_to(PACKAGE))] = calls
    assert not built, f"iso() strings where a Timestamp field takes the datetime itself: {built}"
