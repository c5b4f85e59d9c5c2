"""Secrets are write-only: stored sealed, masked in responses, logs and exports."""
from __future__ import annotations

import json

from support import graph, wire


def test_secret_never_comes_back(stack):
    with stack.client() as c:
        assert c.put("/secrets/share-pw", json={"value": "hunter2-very-secret"}).status_code == 204
        assert [s["name"] for s in c.get("/secrets").json()] == ["share-pw"]
        doc = graph("secret-flow", [
            {"id": "share", "brick": "core.share_settings",
             "params": {"address": "files:445", "share": "data", "login": "app", "password": {"$secret": "share-pw"}}},
            ("show", "core.template", {"template": "{{ password }} via {{ unc }}"})],
            [wire("share", "settings", "show", "values")],
            inputs=[{"name": "token", "type": "Secret"}])
        run = stack.run(doc, {"token": "input-secret-42"})
        assert run["status"] == "succeeded"
        everything = json.dumps(run) + c.get(f"/runs/{run['id']}/events").text
        for node in ("share", "show"):
            everything += c.get(f"/runs/{run['id']}/nodes/{node}/log").text
        everything += json.dumps(c.get(f"/graphs/{run['graph_id']}/revisions/latest").json())
    assert "hunter2" not in everything and "input-secret-42" not in everything
    assert run["nodes"]["share"]["outputs"]["mount_options"] == "******"
    assert run["nodes"]["show"]["outputs"]["text"] == "****** via //files/data"
    assert run["inputs"] == {"token": "******"}
    store = (stack.home / "nebhx.db")
    if store.exists():
        assert b"hunter2" not in store.read_bytes()


def test_run_inputs_are_checked(stack):
    doc = graph("inputs", [("a", "test.echo", {"text": {"$input": "who"}})],
                inputs=[{"name": "who", "type": "string"}, {"name": "count", "type": "integer", "required": False}])
    with stack.client() as c:
        resp = c.post("/runs", json={"graph": doc, "inputs": {"count": "many"}})
        assert resp.status_code == 422
        messages = [p["message"] for p in resp.json()["detail"]]
        assert any("'who' (string) is required" in m for m in messages)
        assert any("'count' (integer)" in m for m in messages)
        resp = c.post("/runs", json={"graph": doc, "inputs": {"who": "x", "extra": 1}})
        assert resp.status_code == 422 and "declares no input 'extra'" in resp.text
    run = stack.run(doc, {"who": "operator", "count": "3"})
    assert run["nodes"]["a"]["outputs"] == {"text": "operator"}
