"""POST /api/templates/canary: a draft graph, or a 422 naming the field."""
from __future__ import annotations

BODY = {"service": "shop", "source": "/srv/shop-2", "release_id": "2.1", "command": "shop --port {port}",
        "port": 9123, "checks": [{"kind": "http", "url": "http://127.0.0.1:{port}/", "contains": "ok"}]}


def test_canary_draft_validates_and_saves_nothing(api):
    res = api.post("/api/templates/canary", json=BODY)
    assert res.status_code == 200, res.text
    draft = res.json()
    assert draft["graph"]["name"] == "shop-canary" and draft["example"] == "examples/canary-update.json"
    assert api.post("/api/graphs/validate", json=draft["graph"]).status_code == 200
    assert api.get("/api/graphs").json() == []


def test_bad_fields_are_named(api):
    for field, value in (("service", "my shop"), ("port", 70000), ("release_id", ""), ("checks", [{"kind": "ftp"}])):
        res = api.post("/api/templates/canary", json={**BODY, field: value})
        assert res.status_code == 422, (field, res.text)
        assert any(p["path"].startswith(f"/body/{field}") for p in res.json()["detail"]), res.text
    res = api.post("/api/templates/canary", json={k: v for k, v in BODY.items() if k != "command"})
    assert res.status_code == 422 and res.json()["detail"][0]["path"] == "/body/command"
