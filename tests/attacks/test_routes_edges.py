"""Issue 18, finding 14 (the API's edges): an unknown /api path is a 404 once signed in (it
answered 200 with the editor's HTML), and /api/health says whether the store answers (it
stayed 200 while the store was down)."""
from __future__ import annotations

from fastapi.testclient import TestClient
from apikit import add_user, bearer

from support import free_port


def test_unknown_api_paths_are_404(secured):
    token = bearer(add_user("viewer1", "viewer"))
    for method, path in (("GET", "/api/nope"), ("GET", "/api/runs/x/nope"), ("GET", "/api"),
                         ("POST", "/api/nope"), ("DELETE", "/api/graphs/x/y/z")):
        answer = secured.request(method, path, headers=token)
        assert answer.status_code == 404, (method, path, answer.status_code, answer.text[:100])
        assert answer.headers["content-type"].startswith("application/json") and "/api" in answer.json()["detail"]
    assert secured.delete("/api/runs", headers=token).status_code == 405  # a known path, another method
    assert secured.get("/some/editor/route").status_code == 200  # the editor's own routes still load it
    assert secured.get("/api/nope").status_code == 401  # signed out: like any other /api path


def test_health_reports_the_store(secured, monkeypatch, tmp_path):
    answer = secured.get("/api/health")
    assert answer.status_code == 200 and answer.json()["store"] == "up", answer.text
    from nebhx.settings import reset_settings
    monkeypatch.setenv("NEBHX_DATABASE_URL",
                       f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nowhere?connect_timeout=2")
    reset_settings()
    from nebhx.api.app import create_app
    with TestClient(create_app(), base_url="http://127.0.0.1:8750", raise_server_exceptions=False) as down:
        answer = down.get("/api/health")
    assert answer.status_code == 503, answer.text
    assert answer.json()["ok"] is False and answer.json()["store"] == "down"
    assert answer.headers["retry-after"] == "1"
