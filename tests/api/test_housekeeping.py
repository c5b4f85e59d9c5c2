"""Deletes over HTTP: refused (409, naming the user) while something still uses the thing;
done whole and audited otherwise."""
from __future__ import annotations

from support import graph

YEARLY = {"name": "nightly-ish", "kind": "schedule", "cron": "0 0 1 1 *"}


def _store(api, doc: dict) -> str:
    resp = api.post("/api/graphs", json=doc)
    assert resp.status_code == 201, resp.text
    return resp.json()["id"]


def _audit(api, action: str) -> list[tuple[str, int]]:
    return [(r["target"], r["data"]["status"]) for r in api.get("/api/audit", params={"action": action}).json()]


def test_a_graph_is_not_deleted_while_a_trigger_a_composite_or_a_run_uses_it(api):
    inner = _store(api, graph("inner", [("e", "test.echo", {"text": "x"})]))
    outer = _store(api, graph("outer", [("c", f"composite:{inner}", {})]))
    used = api.delete(f"/api/graphs/{inner}")
    assert used.status_code == 409
    assert used.json()["detail"] == f"graph {inner} is in use: graph {outer} uses it as a composite (node c)"
    scheduled = _store(api, graph("scheduled", [("e", "test.echo", {"text": "x"})], meta={"triggers": [YEARLY]}))
    refused = api.delete(f"/api/graphs/{scheduled}")
    assert refused.status_code == 409 and "its trigger 'nightly-ish' (schedule) starts it" in refused.json()["detail"]
    # No worker here: the run stays running.
    busy = _store(api, graph("busy", [("e", "test.echo", {"text": "x"})]))
    run = api.post("/api/runs", json={"graph_id": busy}).json()["id"]
    refused = api.delete(f"/api/graphs/{busy}")
    assert refused.status_code == 409 and f"its run {run} is still running" in refused.json()["detail"]
    assert api.get(f"/api/runs/{run}").status_code == 200  # nothing half-deleted
    assert api.get(f"/api/graphs/{busy}").status_code == 200
    assert api.post(f"/api/runs/{run}/cancel").status_code == 200
    done = api.delete(f"/api/graphs/{busy}")
    assert done.status_code == 200 and done.json()["runs"] == 1
    assert api.get(f"/api/graphs/{busy}").status_code == 404 and api.get(f"/api/runs/{run}").status_code == 404
    assert api.delete(f"/api/graphs/{outer}").status_code == 200
    assert api.delete(f"/api/graphs/{inner}").status_code == 200  # nothing uses it any more
    assert api.delete(f"/api/graphs/{inner}").status_code == 404
    assert sorted(_audit(api, "graphs.delete_graph")) == sorted([
        (f"/api/graphs/{inner}", 409), (f"/api/graphs/{scheduled}", 409), (f"/api/graphs/{busy}", 409),
        (f"/api/graphs/{busy}", 200), (f"/api/graphs/{outer}", 200), (f"/api/graphs/{inner}", 200),
        (f"/api/graphs/{inner}", 404)])


def test_a_secret_is_not_deleted_while_a_stored_graph_refers_to_it(api):
    assert api.put("/api/secrets/db-pw", json={"value": "s3cret-value"}).status_code == 204
    doc = graph("uses-secret", [{"id": "share", "brick": "core.share_settings", "params": {
        "address": "10.0.0.5", "share": "d", "login": "app", "password": {"$secret": "db-pw"}}}])
    gid = _store(api, doc)
    refused = api.delete("/api/secrets/db-pw")
    assert refused.status_code == 409
    assert refused.json()["detail"] == f"secret db-pw is in use by graph {gid} node share; change those graphs first"
    assert "s3cret-value" not in refused.text
    assert [s["name"] for s in api.get("/api/secrets").json()] == ["db-pw"]
    doc["nodes"][0]["params"]["password"] = {"$secret": "other"}
    assert api.put(f"/api/graphs/{gid}", json=doc).status_code == 200  # only the latest revision counts
    assert api.delete("/api/secrets/db-pw").status_code == 204
    assert api.get("/api/secrets").json() == []
    assert api.delete("/api/secrets/db-pw").status_code == 404
    assert _audit(api, "secrets.delete_secret") == [("/api/secrets/db-pw", 404), ("/api/secrets/db-pw", 204),
                                                    ("/api/secrets/db-pw", 409)]


def test_deleting_a_graph_drops_the_secrets_its_defaults_were_sealed_into(api):
    doc = graph("sealed", [("e", "test.echo", {"text": "x"})],
                inputs=[{"name": "token", "type": "Secret", "default": "plain-default"}])
    gid = _store(api, doc)
    assert [s["name"] for s in api.get("/api/secrets").json()] == [f"graph.{gid}.token"]
    assert api.delete(f"/api/graphs/{gid}").json()["secrets"] == 1
    assert api.get("/api/secrets").json() == []


def test_a_host_is_deleted_with_its_agent_tokens(api):
    joined = api.post("/api/hosts", json={"name": "old-box", "labels": {}})
    assert joined.status_code == 201, joined.text
    token = joined.json()["token"]
    heard = api.post("/api/exec/register", json={"address": "10.9.9.9", "labels": {}, "version": "t"},
                     headers={"Authorization": f"Bearer {token}"})
    assert heard.status_code < 300, heard.text
    assert [h["name"] for h in api.get("/api/hosts").json()] == ["old-box"]
    done = api.delete("/api/hosts/old-box")
    assert done.status_code == 200 and len(done.json()["revoked_tokens"]) == 1
    assert api.get("/api/hosts").json() == []
    again = api.post("/api/exec/register", json={"address": "10.9.9.9", "labels": {}, "version": "t"},
                     headers={"Authorization": f"Bearer {token}"})
    assert again.status_code == 401  # the agent cannot come back with its old token
    assert api.delete("/api/hosts/old-box").status_code == 404
    assert _audit(api, "hosts.delete_host") == [("/api/hosts/old-box", 404), ("/api/hosts/old-box", 200)]
