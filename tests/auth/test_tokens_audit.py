"""Tokens are shown once and stored hashed; sign-in guesses are limited; every change is audited once."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text, update

from authkit import add_user, bearer
from support import graph

PASSWORD = "correct horse"


def _audit(**filters):
    from nebhx.auth.audit import list_audit
    from nebhx.store.db import session_scope
    with session_scope() as s:
        return list_audit(s, **filters)


def test_tokens_are_shown_once_stored_hashed_and_stop_on_expiry_or_revoke(secured):
    from nebhx.store.db import session_scope
    from nebhx.store.models import TokenRow, utcnow
    ada = add_user("ada", "admin")
    made = secured.post("/api/tokens", json={"name": "ci", "expires_in_days": 30}, headers=bearer(ada))
    assert made.status_code == 201 and set(made.json()) == {"id", "token", "expires_at"}
    token = made.json()["token"]
    assert secured.get("/api/graphs", headers=bearer(token)).status_code == 200
    listed = secured.get("/api/tokens", headers=bearer(ada))
    assert made.json()["id"] in {t["id"] for t in listed.json()} and token not in listed.text
    assert token.split("_", 2)[2] not in listed.text
    with session_scope() as s:
        dump = repr(s.execute(text("SELECT * FROM tokens")).all())
    assert token.split("_", 2)[2] not in dump  # only a hash of the secret is kept
    with session_scope() as s:
        s.execute(update(TokenRow).where(TokenRow.id == made.json()["id"])
                  .values(expires_at=utcnow() - timedelta(seconds=1)))
    expired = secured.get("/api/graphs", headers=bearer(token))
    assert expired.status_code == 401 and "expired or revoked" in expired.json()["detail"]
    other = secured.post("/api/tokens", json={"name": "laptop"}, headers=bearer(ada)).json()
    assert other["expires_at"] is None
    assert secured.delete(f"/api/tokens/{other['id']}", headers=bearer(ada)).status_code == 204
    assert secured.get("/api/graphs", headers=bearer(other["token"])).status_code == 401


def test_users_see_and_revoke_only_their_own_tokens(secured):
    ada, vera = add_user("ada", "admin"), add_user("vera", "viewer")
    own = secured.post("/api/tokens", json={"name": "mine"}, headers=bearer(vera)).json()
    assert {t["owner"] for t in secured.get("/api/tokens", headers=bearer(vera)).json()} == {"vera"}
    assert {t["owner"] for t in secured.get("/api/tokens", headers=bearer(ada)).json()} == {"ada", "vera"}
    ada_id = next(t["id"] for t in secured.get("/api/tokens", headers=bearer(ada)).json() if t["owner"] == "ada")
    assert secured.delete(f"/api/tokens/{ada_id}", headers=bearer(vera)).status_code == 403
    assert secured.get("/api/graphs", headers=bearer(ada)).status_code == 200
    assert secured.delete(f"/api/tokens/{own['id']}", headers=bearer(ada)).status_code == 204
    assert secured.get("/api/graphs", headers=bearer(own["token"])).status_code == 401


def test_password_sign_in_for_a_token(secured):
    add_user("olga", "operator")
    made = secured.post("/api/auth/token", json={"username": "olga", "password": PASSWORD, "name": "cli@box"})
    assert made.status_code == 201
    assert secured.get("/api/runs", headers=bearer(made.json()["token"])).status_code == 200


def test_users_are_managed_by_admins(secured):
    ada = add_user("ada", "admin")
    made = secured.post("/api/users", json={"name": "olga", "password": "long enough", "role": "operator"},
                        headers=bearer(ada))
    assert made.status_code == 201 and made.json()["role"] == "operator"
    assert secured.post("/api/users", json={"name": "olga", "password": "long enough", "role": "viewer"},
                        headers=bearer(ada)).status_code == 409
    assert secured.post("/api/users", json={"name": "Bad Name", "password": "long enough", "role": "viewer"},
                        headers=bearer(ada)).status_code == 422
    assert secured.post("/api/users", json={"name": "shorty", "password": "short", "role": "viewer"},
                        headers=bearer(ada)).status_code == 422
    assert secured.put("/api/users/ada", json={"role": "viewer"}, headers=bearer(ada)).status_code == 409
    assert secured.put("/api/users/olga", json={"disabled": True}, headers=bearer(ada)).json()["disabled"] is True
    login = secured.post("/api/auth/login", json={"username": "olga", "password": "long enough"})
    assert login.status_code == 401  # disabled
    assert [u["name"] for u in secured.get("/api/users", headers=bearer(ada)).json()] == ["ada", "olga"]
    assert "long enough" not in repr(_audit())


def test_failed_sign_ins_are_limited_and_each_is_audited(secured):
    add_user("ada", "admin")
    for _ in range(5):
        assert secured.post("/api/auth/login", json={"username": "ada", "password": "guess!!!"}).status_code == 401
    limited = secured.post("/api/auth/login", json={"username": "ada", "password": PASSWORD})
    assert limited.status_code == 429 and 1 <= int(limited.headers["retry-after"]) <= 60
    # The same address with another name, and the token route, are limited too.
    assert secured.post("/api/auth/login", json={"username": "bob", "password": "x"}).status_code == 429
    assert secured.post("/api/auth/token", json={"username": "ada", "password": PASSWORD}).status_code == 429
    rows = _audit(action="auth.login_failed")
    assert [(r["actor"], r["data"]["status"]) for r in reversed(rows)] == \
        [("ada", 401)] * 5 + [("ada", 429), ("bob", 429), ("ada", 429)]
    assert all(r["address"] == "testclient" and r["target"] in ("/api/auth/login", "/api/auth/token") for r in rows)
    assert "guess!!!" not in repr(rows)


def test_each_state_changing_call_is_audited_once_without_bodies(secured):
    ada, olga = add_user("ada", "admin"), add_user("olga", "operator")
    gid = secured.post("/api/graphs", json=graph("audited", [("e", "test.echo", {"text": "hi"})]),
                       headers=bearer(ada)).json()["id"]
    run = secured.post("/api/runs", json={"graph_id": gid}, headers=bearer(olga)).json()
    assert secured.post(f"/api/runs/{run['id']}/cancel", headers=bearer(olga)).status_code == 200
    assert secured.put("/api/secrets/db", json={"value": "hunter2-value"}, headers=bearer(olga)).status_code == 403
    assert secured.put("/api/secrets/db", json={"value": "hunter2-value"}, headers=bearer(ada)).status_code == 204
    secured.post("/api/graphs/validate", json={}, headers=bearer(olga))
    secured.get("/api/runs", headers=bearer(olga))
    rows = secured.get("/api/audit", headers=bearer(ada)).json()
    assert [(r["actor"], r["action"], r["data"]["status"]) for r in reversed(rows)] == [
        ("ada", "graphs.create_graph", 201), ("olga", "runs.create_run", 201), ("olga", "runs.cancel", 200),
        ("olga", "secrets.put_secret", 403), ("ada", "secrets.put_secret", 204)]
    cancel = rows[2]
    assert cancel["target"] == f"/api/runs/{run['id']}/cancel" and cancel["address"] == "testclient"
    assert "hunter2" not in repr(rows)
    by_olga = secured.get("/api/audit", params={"actor": "olga", "action": "runs.cancel"}, headers=bearer(ada))
    assert [r["target"] for r in by_olga.json()] == [cancel["target"]]
    assert secured.get("/api/audit", params={"since": "2999-01-01T00:00:00"}, headers=bearer(ada)).json() == []
    assert len(secured.get("/api/audit", params={"since": rows[-1]["at"]}, headers=bearer(ada)).json()) == 5
    assert len(secured.get("/api/audit", params={"limit": 2}, headers=bearer(ada)).json()) == 2
    for bad in (0, 5001):
        assert secured.get("/api/audit", params={"limit": bad}, headers=bearer(ada)).status_code == 422
