"""While the store is unreachable (PostgreSQL restarting), the API answers a retryable 503
naming the store, never a 500."""
from __future__ import annotations

from fastapi.testclient import TestClient

from support import free_port


def test_requests_answer_503_while_the_store_is_unreachable(monkeypatch, tmp_path):
    from nebhx.settings import reset_settings
    monkeypatch.setenv("NEBHX_HOME", str(tmp_path))
    monkeypatch.setenv("NEBHX_DATABASE_URL",
                       f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nowhere?connect_timeout=2")
    reset_settings()
    from nebhx.api.app import create_app
    try:
        with TestClient(create_app(), base_url="http://127.0.0.1:8750", raise_server_exceptions=False) as c:
            for method, path in (("GET", "/api/runs"), ("GET", "/api/graphs"),
                                 ("POST", "/api/runs/x/cancel")):
                resp = c.request(method, path)
                assert resp.status_code == 503, (method, path, resp.status_code, resp.text)
                assert resp.json()["detail"] == "the store is not reachable right now; try again"
                assert resp.headers["retry-after"] == "1"
    finally:
        reset_settings()
