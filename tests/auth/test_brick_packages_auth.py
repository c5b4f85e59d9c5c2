"""Only admins register brick packages (code every agent will run); each attempt is audited."""
from __future__ import annotations

from authkit import add_user, bearer
from execution.test_brick_packages import package_tar

OCTETS = {"Content-Type": "application/octet-stream"}
PARAMS = {"name": "greetings", "version": "1.0", "format": "tar"}


def test_only_an_admin_registers_a_brick_package(secured):
    from nebhx.auth.audit import list_audit
    from nebhx.store.db import session_scope
    ada, olga = add_user("ada", "admin"), add_user("olga", "operator")
    body = package_tar("hello")
    refused = secured.post("/api/brick-packages", params=PARAMS, content=body, headers={**OCTETS, **bearer(olga)})
    assert refused.status_code == 403, refused.text
    assert secured.get("/api/brick-packages", headers=bearer(olga)).json() == []  # nothing stored
    made = secured.post("/api/brick-packages", params=PARAMS, content=body, headers={**OCTETS, **bearer(ada)})
    assert made.status_code == 201, made.text
    assert [p["version"] for p in secured.get("/api/brick-packages", headers=bearer(olga)).json()] == ["1.0"]
    with session_scope() as s:
        rows = list_audit(s, action="brick_packages.register")
    assert [(r["actor"], r["data"]["status"]) for r in rows] == [("ada", 201), ("olga", 403)]
    assert rows[0]["data"]["sha256"] == made.json()["sha256"]
