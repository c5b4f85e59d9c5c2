"""What a browser may do: sessions with a CSRF token, no foreign Origin or Host, open mode on loopback."""
from __future__ import annotations

from authkit import add_user, bearer
from support import graph

PASSWORD = "correct horse"
DOC = graph("browser", [("e", "test.echo", {"text": "hi"})])


def test_login_sets_a_strict_cookie_and_state_changes_need_its_csrf_token(secured):
    add_user("ada", "admin")
    resp = secured.post("/api/auth/login", json={"username": "ada", "password": PASSWORD})
    assert resp.status_code == 200
    body = resp.json()
    assert {k: body[k] for k in ("user", "role", "auth")} == {"user": "ada", "role": "admin", "auth": "required"}
    cookie = resp.headers["set-cookie"]
    assert cookie.startswith("nebhx_session=nbx_") and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Path=/" in cookie and "Secure" not in cookie  # plain http here
    assert secured.get("/api/auth/me").json() == body
    refused = secured.put("/api/secrets/pw", json={"value": "s3cret"})
    assert refused.status_code == 403
    assert refused.json() == {"detail": "missing or wrong CSRF token (X-CSRF-Token)"}
    wrong = secured.put("/api/secrets/pw", json={"value": "s3cret"}, headers={"X-CSRF-Token": "guess"})
    assert wrong.status_code == 403
    assert secured.get("/api/secrets").json() == []
    ok = secured.put("/api/secrets/pw", json={"value": "s3cret"}, headers={"X-CSRF-Token": body["csrf"]})
    assert ok.status_code == 204
    assert [s["name"] for s in secured.get("/api/secrets").json()] == ["pw"]


def test_logout_ends_the_session(secured):
    add_user("ada", "admin")
    login = secured.post("/api/auth/login", json={"username": "ada", "password": PASSWORD})
    session = secured.cookies.get("nebhx_session")
    resp = secured.post("/api/auth/logout", headers={"X-CSRF-Token": login.json()["csrf"]})
    assert resp.status_code == 204 and 'nebhx_session=""' in resp.headers["set-cookie"]
    assert secured.get("/api/graphs").status_code == 401
    secured.cookies.set("nebhx_session", session)  # a copy of the old cookie is worth nothing
    assert secured.get("/api/graphs").status_code == 401
    assert secured.get("/api/auth/me").json()["user"] is None


def test_wrong_password_is_401_and_a_bearer_needs_no_csrf(secured):
    token = add_user("ada", "admin")
    resp = secured.post("/api/auth/login", json={"username": "ada", "password": "not it at all"})
    assert resp.status_code == 401 and resp.json() == {"detail": "wrong user name or password"}
    assert secured.post("/api/auth/login", json={"username": "nobody", "password": PASSWORD}).status_code == 401
    assert "set-cookie" not in resp.headers
    assert secured.post("/api/graphs", json=DOC, headers=bearer(token)).status_code == 201


def test_cross_origin_text_plain_cancel_is_refused_and_changes_nothing(open_api):
    run = open_api.post("/api/runs", json={"graph": DOC}).json()  # no worker: it stays running
    forged = open_api.post(f"/api/runs/{run['id']}/cancel", content="{}",
                           headers={"content-type": "text/plain", "origin": "http://evil.example"})
    assert forged.status_code == 403 and "evil.example" in forged.json()["detail"]
    # No Origin, but the browser says where it comes from.
    no_origin = open_api.post(f"/api/runs/{run['id']}/cancel", content="{}",
                              headers={"content-type": "text/plain", "sec-fetch-site": "cross-site"})
    assert no_origin.status_code == 403
    # Same origin without the token (a page of ours cannot be made to omit it by accident either).
    same = open_api.post(f"/api/runs/{run['id']}/cancel",
                         headers={"origin": "http://127.0.0.1:8750", "sec-fetch-site": "same-origin"})
    assert same.status_code == 403 and "CSRF" in same.json()["detail"]
    assert open_api.get(f"/api/runs/{run['id']}").json()["status"] == "running"
    csrf = open_api.get("/api/auth/me").json()["csrf"]
    done = open_api.post(f"/api/runs/{run['id']}/cancel", headers={
        "origin": "http://127.0.0.1:8750", "sec-fetch-site": "same-origin", "X-CSRF-Token": csrf})
    assert done.status_code == 200 and done.json()["status"] == "cancelled"


def test_a_foreign_host_name_is_refused(open_api, app_env):
    resp = open_api.get("/api/runs", headers={"host": "rebound.evil.example:8750"})
    assert resp.status_code == 421
    assert "rebound.evil.example" in resp.json()["detail"] and "NEBHX_ALLOWED_HOSTS" in resp.json()["detail"]
    assert open_api.get("/", headers={"host": "rebound.evil.example"}).status_code == 421
    for ok in ("localhost:8750", "127.0.0.1", "[::1]:8750"):
        assert open_api.get("/api/runs", headers={"host": ok}).status_code == 200, ok
    from nebhx.settings import reset_settings
    app_env.setenv("NEBHX_ALLOWED_HOSTS", "nebhx.example.org, ops.example.org")
    reset_settings()
    assert open_api.get("/api/runs", headers={"host": "nebhx.example.org:443"}).status_code == 200
    assert open_api.get("/api/runs", headers={"host": "rebound.evil.example"}).status_code == 421


def test_open_mode_on_loopback_until_a_user_exists(open_api, app_env):
    me = open_api.get("/api/auth/me").json()
    assert {k: me[k] for k in ("user", "role", "auth")} == {"user": "local", "role": "admin", "auth": "open"}
    assert me["csrf"]
    assert open_api.post("/api/graphs", json=DOC).status_code == 201
    # A credential that is wrong is refused even here: it is a mistake worth knowing about.
    bad = open_api.get("/api/graphs", headers=bearer("nbx_abc_def"))
    assert bad.status_code == 401 and "expired or revoked" in bad.json()["detail"]
    add_user("ada", "admin")
    assert open_api.get("/api/auth/me").json() == {"user": None, "role": None, "auth": "required", "csrf": None}
    assert open_api.get("/api/graphs").status_code == 401


def test_no_open_mode_when_bound_beyond_loopback(app_env):
    from fastapi.testclient import TestClient

    from nebhx.api.app import create_app
    from nebhx.settings import reset_settings
    app_env.setenv("NEBHX_HOST", "10.1.2.3")
    reset_settings()
    with TestClient(create_app(), base_url="http://10.1.2.3:8750") as client:
        assert client.get("/api/auth/me").json()["auth"] == "required"
        assert client.get("/api/graphs").status_code == 401
