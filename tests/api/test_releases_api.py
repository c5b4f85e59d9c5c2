"""GET /api/releases reads what agents reported; POST /api/releases/rollback starts a run."""
from __future__ import annotations

from nebhx.hosts.service import heartbeat
from nebhx.store.db import session_scope


def report(host: str, service: str, active: str, phase: str, rolled_back: str | None = None) -> None:
    releases = [{"id": r, "staged_at": i, "active": r == active, "previous": r != active,
                 "prepared": False, "pinned": False, "committed_at": 1.0 if phase == "committed" else None,
                 "rolled_back": r == rolled_back} for i, r in enumerate(("1.0.0", "2.0.0"))]
    row = {"service": service, "instance": None, "program": service, "release": active,
           "config_version": "c1", "address": f"{host}:8110", "state": "RUNNING", "pid": 42,
           "last_probe": {"ok": True, "error": None, "at": "now"}, "releases": releases,
           "rollout": {"phase": phase, "from": {"release": "1.0.0"}, "to": {"release": "2.0.0"},
                       "error": None}}
    with session_scope() as s:
        heartbeat(s, name=host, address=host, labels={}, started=True)
        heartbeat(s, name=host, services=[row])


def test_releases_filter_by_host_and_service_and_show_what_was_rolled_back(api):
    report("h1", "web", "2.0.0", "committed")
    report("h2", "web", "1.0.0", "rolled_back", rolled_back="2.0.0")
    report("h3", "db", "2.0.0", "switched")
    rows = api.get("/api/releases", params={"service": "web"}).json()
    assert [(r["host"], r["active"], r["previous"], r["phase"]) for r in rows] == [
        ("h1", "2.0.0", "1.0.0", "committed"), ("h2", "1.0.0", "2.0.0", "rolled_back")]
    [h2] = api.get("/api/releases", params={"host": "h2"}).json()
    assert h2["health"]["ok"] is True and h2["host_state"] == "up" and h2["config_version"] == "c1"
    assert [r["id"] for r in h2["releases"] if r["rolled_back"]] == ["2.0.0"]
    assert api.get("/api/releases", params={"host": "h9"}).json() == []


def test_rollback_by_hand_starts_a_one_node_run_on_that_host(api):
    report("h1", "web", "2.0.0", "committed")
    resp = api.post("/api/releases/rollback", json={"host": "h9", "service": "web"})
    assert resp.status_code == 404 and "no host 'h9'" in resp.json()["detail"]
    runs = [api.post("/api/releases/rollback", json={"host": "h1", "service": "web",
                                                     "data_policy": "restore_snapshot"}) for _ in range(2)]
    assert [r.status_code for r in runs] == [201, 201], runs[0].text
    first, second = (r.json() for r in runs)
    assert list(first["nodes"]) == ["rollback"] and first["inputs"]["hosts"] == ["h1"]
    assert first["inputs"]["data_policy"] == "restore_snapshot"
    assert (first["graph_id"], first["revision"]) == (second["graph_id"], second["revision"])
    bad = api.post("/api/releases/rollback", json={"host": "h1", "service": "web", "data_policy": "drop"})
    assert bad.status_code == 422


def test_rollback_of_a_whole_run_is_one_batched_run(api):
    """Every host reporting the service, one run, `batch` at a time; only the hosts that run
    switched are rolled back (switched_by), the others left alone."""
    for host in ("h1", "h2", "h3"):
        report(host, "web", "2.0.0", "switched")
    report("h4", "db", "2.0.0", "switched")
    resp = api.post("/api/releases/rollback", json={"run": "r123", "service": "web", "batch": 2})
    assert resp.status_code == 201, resp.text
    run = resp.json()
    assert run["inputs"]["hosts"] == ["h1", "h2", "h3"] and run["inputs"]["switched_by"] == "r123"
    [node] = api.get(f"/api/graphs/{run['graph_id']}/revisions/{run['revision']}").json()["nodes"]
    assert (node["for_each"], node["batch"], node["params"]["switched_by"]) == ("host", 2, {"$input": "switched_by"})
    named = api.post("/api/releases/rollback", json={"hosts": ["h2", "h1"], "service": "web"}).json()
    assert named["inputs"]["hosts"] == ["h2", "h1"] and named["inputs"]["switched_by"] == ""
    assert api.post("/api/releases/rollback", json={"service": "web"}).status_code == 422
    none = api.post("/api/releases/rollback", json={"run": "r123", "service": "mail"})
    assert none.status_code == 404 and "no host reports service 'mail'" in none.json()["detail"]


def test_the_rollback_graph_is_nebhx_s_own_not_a_user_graph(api):
    """Issue 17, item 8: `nebhx rollback` stored a user graph `nebhx-rollback` that showed in
    the editor's Open dialog and palette. Its runs are listed; the graph is in neither."""
    report("h1", "web", "2.0.0", "committed")
    run = api.post("/api/releases/rollback", json={"host": "h1", "service": "web"}).json()
    assert "nebhx-rollback" not in [g["name"] for g in api.get("/api/graphs").json()]
    composites = [b["id"] for b in api.post("/api/bricks/reload").json()["bricks"] if b["id"].startswith("composite:")]
    assert not [c for c in composites if run["graph_id"] in c], composites
    [row] = [r for r in api.get("/api/runs").json() if r["id"] == run["id"]]
    assert row["graph_name"] == "nebhx-rollback"
    assert api.get(f"/api/graphs/{run['graph_id']}").json()["name"] == "nebhx-rollback"
    doc = api.get(f"/api/graphs/{run['graph_id']}/revisions/{run['revision']}").json()
    changed = api.put(f"/api/graphs/{run['graph_id']}", json={**doc, "description": "mine now"})
    assert changed.status_code == 404 and "nebhx's own" in changed.json()["detail"]
    mine = api.post("/api/graphs", json={**doc, "description": "a user's graph of that name"})
    assert mine.status_code == 201 and mine.json()["id"] != run["graph_id"]
    again = api.post("/api/releases/rollback", json={"host": "h1", "service": "web"}).json()
    assert again["graph_id"] == run["graph_id"]  # the user's graph of that name is not taken
    composites = [b["id"] for b in api.post("/api/bricks/reload").json()["bricks"] if b["id"].startswith("composite:")]
    assert [c for c in composites if mine.json()["id"] in c]  # (a user's graph is offered)


def test_a_late_older_look_does_not_replace_a_newer_one(api):
    """The agent reports right after a node and on its own schedule: two looks may cross on
    their way, and the view keeps the later look; each row says when it was looked at."""
    def beat(state: str, at: str) -> None:
        with session_scope() as s:
            heartbeat(s, name="h1", services=[{"service": "web", "instance": None, "program": "web",
                                                "state": state, "pid": 7 if state == "RUNNING" else None,
                                                "checked_at": at}])
    with session_scope() as s:
        heartbeat(s, name="h1", address="h1", labels={}, started=True)
    beat("RUNNING", "2026-12-07T14:00:02.000000+00:00")
    beat("STOPPED", "2026-12-07T14:00:01.000000+00:00")  # looked at mid-switch, arrived last
    [row] = api.get("/api/services").json()
    # The agent's time, answered as a time (isoformat: no zero microseconds).
    assert (row["state"], row["pid"], row["seen_at"]) == ("RUNNING", 7, "2026-12-07T14:00:02+00:00")
    [rel] = api.get("/api/releases").json()
    assert rel["seen_at"] == "2026-12-07T14:00:02+00:00"
    beat("STOPPED", "2026-12-07T14:00:03.000000+00:00")
    assert api.get("/api/services").json()[0]["state"] == "STOPPED"


def test_rollback_to_a_chosen_release_names_it_or_refuses_naming_the_host(api):
    """Issue 21, item 5: any earlier release still staged (by id, sha256 or commit prefix; a
    pinned one too) is a target; one gone from a host (retention) or running now is refused."""
    releases = [{"id": "1.0.0", "sha256": "ab" * 32, "pinned": True}, {"id": "2.0.0", "sha256": "cd" * 32},
                {"id": "3.0.0", "sha256": "ef" * 32, "commit": "0123456789abcdef" * 2 + "01234567", "active": True}]
    rows = {"h1": releases, "h2": releases[1:]}  # retention removed 1.0.0 from h2
    with session_scope() as s:
        for host, staged in rows.items():
            heartbeat(s, name=host, address=host, labels={}, started=True)
            heartbeat(s, name=host, services=[{"service": "web", "instance": None, "program": "web",
                                               "release": "3.0.0", "releases": staged}])
    body = {"hosts": ["h1"], "service": "web"}
    for given in ("1.0.0", "abababab", "sha256:" + "ab" * 32):
        run = api.post("/api/releases/rollback", json={**body, "release": given})
        assert run.status_code == 201, run.text
        assert run.json()["inputs"]["release_id"] == "1.0.0"
    gone = api.post("/api/releases/rollback", json={"hosts": ["h1", "h2"], "service": "web", "release": "1.0.0"})
    assert gone.status_code == 409 and gone.json()["detail"] == (
        "release '1.0.0' of 'web' is not staged on host h2 (removed by retention, or never staged there; "
        "staged: 2.0.0, 3.0.0)")
    now = api.post("/api/releases/rollback", json={**body, "release": "01234567"})
    assert now.status_code == 409 and "release '3.0.0' is what 'web' runs on host h1 now" in now.json()["detail"]
    plan = api.post("/api/releases/rollback/plan", json={**body, "release": "9.9.9"})
    assert plan.status_code == 409 and "'9.9.9' of 'web' is not staged on host h1" in plan.json()["detail"]
    assert api.post("/api/releases/rollback", json={**body, "release": "../x"}).status_code == 422
    assert api.post("/api/releases/rollback", json=body).json()["inputs"]["release_id"] == ""  # the previous one
