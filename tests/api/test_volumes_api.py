"""GET /api/volumes reads what agents reported; deleting or pruning a snapshot starts a run
of a storage brick on the volume's host."""
from __future__ import annotations

from nebhx.hosts.service import heartbeat
from nebhx.store.db import session_scope


def report(host: str, *volumes: dict) -> None:
    with session_scope() as s:
        heartbeat(s, name=host, address=host, labels={}, started=True)
        heartbeat(s, name=host, volumes=list(volumes))


def volume(host: str, name: str, *snaps: tuple[str, str | None]) -> dict:
    return {"name": name, "driver": "overlay", "path": f"/srv/{name}", "url": f"overlay://{host}/srv/{name}",
            "used": 4096, "capacity": None, "retention": {"keep_last": 3, "keep_days": None},
            "snapshots": [{"id": sid, "created_at": 1.0 + i, "kind": "pre-rollout", "size": 8192,
                           "release": rel, "path": f"/srv/.layers/{name}/layers/{i}"}
                          for i, (sid, rel) in enumerate(snaps)]}


def test_volumes_per_host_with_snapshots_their_size_and_release(api):
    report("h1", volume("h1", "pg", ("s1", "1.0.0"), ("s2", "2.0.0")), volume("h1", "logs"))
    report("h2", volume("h2", "pg"))
    rows = api.get("/api/volumes").json()
    assert [(r["host"], r["name"]) for r in rows] == [("h1", "logs"), ("h1", "pg"), ("h2", "pg")]
    [pg] = api.get("/api/volumes", params={"host": "h1", "volume": "pg"}).json()
    assert pg["host_state"] == "up" and pg["retention"] == {"keep_last": 3, "keep_days": None}
    assert [(s["id"], s["size"], s["release"]) for s in pg["snapshots"]] == [("s1", 8192, "1.0.0"),
                                                                            ("s2", 8192, "2.0.0")]
    assert len(api.get("/api/volumes", params={"volume": "overlay://h2/srv/pg"}).json()) == 1


def test_delete_and_prune_start_one_node_runs_on_the_volumes_host(api):
    report("h1", volume("h1", "pg", ("s1", None)))
    url = "overlay://h1/srv/pg"
    resp = api.post("/api/volumes/snapshots/delete", json={"host": "h1", "volume_url": url, "snapshot": "s1"})
    assert resp.status_code == 201, resp.text
    run = resp.json()
    assert list(run["nodes"]) == ["storage"] and run["inputs"] == {"host": "h1", "volume_url": url, "snapshot": "s1"}
    prune = api.post("/api/volumes/prune", json={"host": "h1", "volume_url": url, "keep_last": 1})
    assert prune.status_code == 201, prune.text
    assert prune.json()["inputs"] == {"host": "h1", "volume_url": url, "keep_last": 1}
    assert api.post("/api/volumes/prune", json={"host": "h1", "volume_url": url}).status_code == 201

    missing = api.post("/api/volumes/snapshots/delete", json={"host": "h9", "volume_url": "dir://h9/x", "snapshot": "s"})
    assert missing.status_code == 404 and "no host 'h9'" in missing.json()["detail"]
    elsewhere = api.post("/api/volumes/snapshots/delete", json={"host": "h1", "volume_url": "dir://h2/x", "snapshot": "s"})
    assert elsewhere.status_code == 422 and "is a volume of host 'h2', not of 'h1'" in elsewhere.text
    bad = api.post("/api/volumes/snapshots/delete", json={"host": "h1", "volume_url": url, "snapshot": "../x"})
    assert bad.status_code == 422 and "/body/snapshot" in bad.text
    assert api.post("/api/volumes/prune", json={"host": "h1", "volume_url": url, "keep_last": -1}).status_code == 422


def test_an_agent_reports_its_volumes_through_the_execution_api(api):
    from nebhx.auth.tokens import issue
    with session_scope() as s:
        token = {"Authorization": f"Bearer {issue(s, kind='host', owner='h1')[1]}"}
    assert api.post("/api/exec/register", json={}, headers=token).status_code == 204
    beat = {"services": [], "volumes": [volume("h1", "pg", ("s1", "r1"))]}
    assert api.post("/api/exec/heartbeat", json=beat, headers=token).status_code == 204
    assert api.post("/api/exec/heartbeat", json={"services": None}, headers=token).status_code == 204
    [row] = api.get("/api/volumes").json()  # a beat without a report keeps the last one
    assert (row["host"], row["name"], [s["id"] for s in row["snapshots"]]) == ("h1", "pg", ["s1"])
