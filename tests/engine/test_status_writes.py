"""Every status write goes through engine/transitions.py (the table of allowed changes): no
other module sets a status in an UPDATE, assigns ``.status`` or writes an event with ``emit``.
Read from the source with ``ast``, so a new write site elsewhere fails here by name."""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "backend" / "nebhx"
# transitions.py writes statuses; statements.py holds its prepared statements.
OWNERS = {"engine/transitions.py", "engine/statements.py"}
# New rows get their first status here and are written by transitions.new_nodes/new_run.
FIRST_STATUS = {"engine/fanout.py", "engine/scheduler.py", "engine/composite.py", "engine/claims.py"}


def _writes(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "values":
            if any(k.arg == "status" for k in node.keywords):
                found.append((node.lineno, "an UPDATE setting status"))
        elif isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) == "emit":
            found.append((node.lineno, "emit() of an event"))
        elif isinstance(node, (ast.Assign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Attribute) and t.attr == "status" for t in targets):
                found.append((node.lineno, "an assignment to .status"))
    return found


def test_only_transitions_writes_a_status():
    bad = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel in OWNERS or rel == "engine/events.py":  # events.py defines emit for transitions
            continue
        bad += [f"{rel}:{line}: {what}" for line, what in _writes(ast.parse(path.read_text()))]
    assert not bad, "status writes outside engine/transitions.py:\n" + "\n".join(bad)


def test_new_rows_get_their_first_status_only_in_the_engine():
    bad = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel in OWNERS | FIRST_STATUS or rel.startswith("store/"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and getattr(node.func, "id", "") in {"NodeRow", "RunRow"}
                    and any(k.arg == "status" for k in node.keywords)):
                bad.append(f"{rel}:{node.lineno}")
    assert not bad, f"rows created with a status outside the engine's scheduler: {bad}"
