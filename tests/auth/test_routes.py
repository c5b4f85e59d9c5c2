"""Every route asks for a role: a new route cannot be forgotten, and each role gets what it should."""
from __future__ import annotations

import re

import pytest
from fastapi.routing import iter_route_contexts

from authkit import add_user, bearer
from support import graph

SAFE = {"GET", "HEAD", "OPTIONS"}
READ_ONLY_POSTS = {"/api/graphs/validate", "/api/graphs/problems", "/api/graphs/plan", "/api/templates/canary"}
PUBLIC = {"/api/health", "/api/auth/me", "/api/auth/login", "/api/auth/logout", "/api/auth/token",
          "/api/openapi.json", "/api/docs",
          # A forge's webhook has no session: the body's HMAC with the trigger's secret is its
          # credential (tests/build/test_triggers.py: unsigned or wrongly signed is 401).
          "/api/triggers/{name}",
          # No route there: 401 before sign-in like any other, then 404 or 405 (tests/attacks/test_routes_edges.py).
          "/api/{rest:path}"}
# A viewer manages their own API tokens (nebhx login makes one for any role).
SELF_SERVICE = {("POST", "/api/tokens"), ("DELETE", "/api/tokens/{token_id}")}


def _routes() -> list[tuple[str, str]]:
    from nebhx.api.app import create_app
    from nebhx.settings import reset_settings
    found = sorted({(m, r.path) for r in iter_route_contexts(create_app().routes)
                    for m in (r.methods or ()) if r.path.startswith("/api/") and m != "HEAD"
                    and not r.path.startswith("/api/exec") and r.path not in PUBLIC})
    reset_settings()
    return found


ROUTES = _routes()
CHANGING = [(m, p) for m, p in ROUTES if m not in SAFE and p not in READ_ONLY_POSTS]
READING = [(m, p) for m, p in ROUTES if (m, p) not in CHANGING]


def _url(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)  # the role check runs before the handler looks anything up


def test_the_walk_sees_the_routes_it_guards():
    assert {("POST", "/api/runs/{run_id}/cancel"), ("PUT", "/api/secrets/{name}"), ("POST", "/api/users"),
            ("POST", "/api/bricks/reload"), ("POST", "/api/hosts")} <= set(CHANGING)
    assert ("GET", "/api/runs") in READING and ("POST", "/api/graphs/validate") in READING


@pytest.mark.parametrize(("method", "path"), CHANGING, ids=[f"{m} {p}" for m, p in CHANGING])
def test_every_state_changing_route_refuses_anonymous_and_viewer(secured, method, path):
    assert secured.request(method, _url(path), json={}).status_code == 401
    viewer = add_user("vera", "viewer")
    resp = secured.request(method, _url(path), json={}, headers=bearer(viewer))
    if (method, path) in SELF_SERVICE:
        assert resp.status_code not in (401, 403), resp.text
    else:
        assert resp.status_code == 403, resp.text
        assert "vera is viewer" in resp.json()["detail"]


@pytest.mark.parametrize(("method", "path"), READING, ids=[f"{m} {p}" for m, p in READING])
def test_every_read_needs_a_sign_in(secured, method, path):
    resp = secured.request(method, _url(path), json={})
    assert resp.status_code == 401 and "sign in" in resp.json()["detail"]


def test_public_routes_answer_anonymously(secured):
    assert secured.get("/api/health").status_code == 200
    assert secured.get("/api/auth/me").json() == {"user": None, "role": None, "auth": "required", "csrf": None}


def test_operator_runs_and_cancels_but_cannot_change_graphs_secrets_or_bricks(secured):
    admin, olga = add_user("ada", "admin"), add_user("olga", "operator")
    doc = graph("op-graph", [("e", "test.echo", {"text": "hi"})])
    # A new document would be stored as a graph first: that is an admin's call.
    resp = secured.post("/api/runs", json={"graph": doc}, headers=bearer(olga))
    assert resp.status_code == 403 and "needs admin" in resp.json()["detail"]
    gid = secured.post("/api/graphs", json=doc, headers=bearer(admin)).json()["id"]
    by_id = secured.post("/api/runs", json={"graph_id": gid}, headers=bearer(olga))
    assert by_id.status_code == 201
    # The file unchanged (what `nebhx run file.json` sends) is the stored revision: allowed.
    as_file = secured.post("/api/runs", json={"graph": doc}, headers=bearer(olga))
    assert as_file.status_code == 201 and as_file.json()["graph_id"] == gid
    changed = {**doc, "description": "edited"}
    assert secured.post("/api/runs", json={"graph": changed}, headers=bearer(olga)).status_code == 403
    cancelled = secured.post(f"/api/runs/{by_id.json()['id']}/cancel", headers=bearer(olga))
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert secured.put(f"/api/graphs/{gid}", json=doc, headers=bearer(olga)).status_code == 403
    assert secured.put("/api/secrets/pw", json={"value": "s3cret"}, headers=bearer(olga)).status_code == 403
    assert secured.post("/api/bricks/reload", headers=bearer(olga)).status_code == 403
    assert secured.get("/api/audit", headers=bearer(olga)).status_code == 403
    assert [g["id"] for g in secured.get("/api/graphs", headers=bearer(olga)).json()] == [gid]
    assert secured.get("/api/graphs", headers=bearer(olga)).status_code == 200


def test_a_host_token_is_refused_outside_the_execution_api(secured):
    from nebhx.auth import service
    from nebhx.store.db import session_scope
    add_user("ada", "admin")
    with session_scope() as s:
        token = service.add_host(s, name="web1", labels={}, server="http://x").token
    resp = secured.get("/api/graphs", headers=bearer(token))
    assert resp.status_code == 403 and "execution API" in resp.json()["detail"]
    assert secured.post("/api/runs", json={"graph_id": "g"}, headers=bearer(token)).status_code == 403
