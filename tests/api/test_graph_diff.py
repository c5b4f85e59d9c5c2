"""Diff of revisions over HTTP: what an operator reads before running a changed graph."""
from __future__ import annotations

import copy

from support import graph, wire

V1 = graph("diffed", [
    {"id": "a", "brick": "test.echo", "params": {"text": "one"}, "position": {"x": 0, "y": 0}},
    {"id": "b", "brick": "test.echo", "position": {"x": 100, "y": 0}},
    {"id": "gone", "brick": "test.echo", "params": {"text": "bye"}},
    {"id": "share", "brick": "core.share_settings",
     "params": {"address": "10.0.0.5", "share": "d", "login": "app", "password": {"$secret": "pw-old"}}},
], [wire("a", "text", "b", "text")])


def _v2() -> dict:
    doc = copy.deepcopy(V1)
    nodes = {n["id"]: n for n in doc["nodes"]}
    nodes["a"]["params"]["text"] = "two"
    nodes["a"]["retries"] = 3
    nodes["b"]["position"] = {"x": 500, "y": 9}
    nodes["b"]["trigger"] = "all_done"
    nodes["share"]["params"]["password"] = {"$secret": "pw-new"}
    doc["nodes"] = [n for n in doc["nodes"] if n["id"] != "gone"] + [
        {"id": "c", "brick": "test.echo", "params": {"text": "new"}}]
    doc["edges"].append(wire("b", "text", "c", "text"))
    doc["nodes"][-1].pop("params")
    doc["inputs"] = [{"name": "token", "type": "Secret", "default": "plain-s3cret"}]
    return doc


def test_diff_lists_added_removed_changed_nodes_wires_and_settings(api):
    gid = api.post("/api/graphs", json=V1).json()["id"]
    assert api.put(f"/api/graphs/{gid}", json=_v2()).json()["revision"] == 2
    d = api.get(f"/api/graphs/{gid}/diff").json()  # default: latest against the one before
    assert (d["from"], d["to"], d["same"]) == (1, 2, False)
    assert d["nodes"]["added"] == [{"id": "c", "brick": "test.echo"}]
    assert d["nodes"]["removed"] == [{"id": "gone", "brick": "test.echo"}]
    changed = {n["id"]: {c["field"]: (c["before"], c["after"]) for c in n["changes"]} for n in d["nodes"]["changed"]}
    assert changed["a"] == {"params.text": ("one", "two"), "retries": (0, 3)}
    assert changed["b"] == {"trigger": ("all_success", "all_done")}
    assert changed["share"] == {"params.password": ({"$secret": "pw-old"}, {"$secret": "pw-new"})}
    assert d["nodes"]["moved"] == ["b"]
    assert d["edges"] == {"added": ["b.text -> c.text"], "removed": []}
    # The plain default was sealed on save: the diff names the secret, never its value.
    assert d["inputs"]["added"] == ["token"]
    assert "plain-s3cret" not in str(d)
    back = api.get(f"/api/graphs/{gid}/diff", params={"from": 2, "to": 1}).json()
    assert back["nodes"]["added"] == [{"id": "gone", "brick": "test.echo"}]
    assert api.get(f"/api/graphs/{gid}/diff", params={"from": 1, "to": 1}).json()["same"] is True


def test_diff_of_unknown_graph_or_revision_is_a_clear_404_or_422(api):
    gid = api.post("/api/graphs", json=V1).json()["id"]
    missing = api.get(f"/api/graphs/{gid}/diff", params={"from": 1, "to": 7})
    assert missing.status_code == 404 and "has no revision 7" in missing.json()["detail"]
    assert api.get("/api/graphs/nope/diff").status_code == 404
    bad = api.get(f"/api/graphs/{gid}/diff", params={"from": "x"})
    assert bad.status_code == 422 and "from" in str(bad.json()["detail"])


def test_a_run_shows_what_its_revision_changed_against_the_previous_run(api):
    gid = api.post("/api/graphs", json=V1).json()["id"]
    first = api.post("/api/runs", json={"graph_id": gid}).json()["id"]
    api.put(f"/api/graphs/{gid}", json=_v2())
    api.put(f"/api/graphs/{gid}", json={**_v2(), "description": "only words"})
    second = api.post("/api/runs", json={"graph_id": gid}).json()["id"]
    d = api.get(f"/api/runs/{second}/diff").json()
    # Revision 2 was never run: the run of 3 is compared with the run of 1.
    assert (d["from"], d["to"], d["previous_run"]) == (1, 3, first)
    assert [n["id"] for n in d["nodes"]["added"]] == ["c"]
    assert api.get(f"/api/runs/{first}/diff").json()["previous_run"] is None
    assert api.get("/api/runs/nope/diff").status_code == 404
