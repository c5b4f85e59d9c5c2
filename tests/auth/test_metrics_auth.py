"""/metrics (where Prometheus looks) asks for a credential like every read: a viewer's API
token is what a Prometheus scrape job sends (authorization: credentials)."""
from __future__ import annotations

from authkit import add_user, bearer


def test_metrics_need_a_viewers_token(secured):
    for path in ("/metrics", "/api/metrics"):
        resp = secured.get(path)
        assert resp.status_code == 401 and "sign in" in resp.json()["detail"]
    token = add_user("prom", "viewer")
    resp = secured.get("/metrics", headers=bearer(token))
    assert resp.status_code == 200 and "nebhx_runs{status=\"running\"} 0.0" in resp.text
