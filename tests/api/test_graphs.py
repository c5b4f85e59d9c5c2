"""Graphs over HTTP: validation errors that name node and port, revisions, exact export."""
from __future__ import annotations

import json

from support import graph, wire

GOOD = graph("web", [
    {"id": "share", "brick": "core.share_settings", "label": "Share ✓",
     "params": {"address": "10.0.0.5", "share": "data", "login": "app", "password": {"$secret": "pw"}},
     "position": {"x": 10.5, "y": -3}},
    {"id": "узел-2", "brick": "core.template", "params": {"template": "{{ unc }}"}, "position": {"x": 300, "y": 0},
     "trigger": "all_done", "retries": 2, "timeout_s": 30},
], [wire("share", "settings", "узел-2", "values")], description="unicode ids survive", meta={"zoom": 1.25})


def test_save_makes_revisions_and_export_is_identical(api):
    created = api.post("/api/graphs", json=GOOD)
    assert created.status_code == 201
    gid = created.json()["id"]
    second = json.loads(json.dumps(GOOD))
    second["nodes"][0]["position"] = {"x": 99, "y": 1}
    assert api.put(f"/api/graphs/{gid}", json=second).json()["revision"] == 2
    info = api.get(f"/api/graphs/{gid}").json()
    assert [r["number"] for r in info["revisions"]] == [1, 2]
    assert api.get(f"/api/graphs/{gid}/revisions/1").json() == GOOD
    assert api.get(f"/api/graphs/{gid}/revisions/latest").json() == second
    assert api.get(f"/api/graphs/{gid}/revisions/3").status_code == 404
    assert [g["id"] for g in api.get("/api/graphs").json()] == [gid]


def test_validation_names_node_port_and_reason(api):
    bad = graph("bad", [("a", "core.template", {"template": 5}), ("b", "core.share_settings"),
                        ("c", "nope.brick"), ("d", "test.echo", {"txt": "x"})],
                [wire("a", "text", "b", "password"), wire("a", "text", "d", "text"), wire("a", "text", "d", "text")])
    resp = api.post("/api/graphs/validate", json=bad)
    assert resp.status_code == 422
    found = {(p["code"], p["node"], p["port"]) for p in resp.json()["detail"]}
    assert ("bad_param", "a", "template") in found
    assert ("incompatible", "b", "password") in found
    assert ("missing_input", "b", "address") in found
    assert ("unknown_brick", "c", None) in found
    assert ("unknown_param", "d", "txt") in found
    assert ("two_wires", "d", "text") in found
    msg = next(p["message"] for p in resp.json()["detail"] if p["code"] == "incompatible")
    assert msg == "a.text (string) does not fit b.password (Secret)"


def test_cycle_is_reported_with_its_nodes(api):
    cyc = graph("cyc", [("a", "test.echo"), ("b", "test.echo"), ("c", "test.echo", {"text": "x"})],
                [wire("a", "text", "b", "text"), wire("b", "text", "a", "text")])
    problems = api.post("/api/graphs/validate", json=cyc).json()["detail"]
    assert [p["message"] for p in problems if p["code"] == "cycle"] == ["the graph has a cycle: a -> b -> a"]


def test_bad_input_is_refused_stores_nothing_and_server_keeps_serving(api):
    cases = [
        (b"{not json", 422, "not valid JSON"),
        (b"\x00garbage" * (5 * 1024 * 1024 // 9), 422, "not valid JSON"),
        (json.dumps({**GOOD, "format": "nebhx/graph@9"}).encode(), 422, "unknown format"),
        (json.dumps([1, 2]).encode(), 422, "dictionary"),
        (json.dumps({**GOOD, "nodes": [{"id": "a b", "brick": "test.noop"}]}).encode(), 422, "pattern"),
    ]
    for body, status, text in cases:
        resp = api.post("/api/graphs", content=body, headers={"content-type": "application/json"})
        assert resp.status_code == status, (body[:30], resp.text[:300])
        assert text in resp.text
    big = b"x" * (17 * 1024 * 1024)
    resp = api.post("/api/graphs", content=big, headers={"content-type": "application/json"})
    assert resp.status_code == 413 and "limit" in resp.text
    assert api.get("/api/graphs").json() == []
    assert api.get("/api/health").json()["ok"] is True


def test_ten_thousand_nodes_validate_and_store(api):
    n = 10_000
    doc = graph("big", [("n0", "test.echo", {"text": "go"})] + [(f"n{i}", "test.echo") for i in range(1, n)],
                [wire(f"n{i-1}", "text", f"n{i}", "text") for i in range(1, n)])
    assert api.post("/api/graphs/validate", json=doc).json() == {"ok": True, "problems": []}
    gid = api.post("/api/graphs", json=doc).json()["id"]
    assert len(api.get(f"/api/graphs/{gid}/revisions/1").json()["nodes"]) == n


def test_published_schema_matches_the_file_and_accepts_examples(api):
    from pathlib import Path

    import jsonschema
    served = api.get("/api/schema/graph").json()
    root = Path(__file__).resolve().parents[2]
    assert json.loads((root / "backend/nebhx/graphs/graph.schema.json").read_text()) == served
    for example in (root / "examples").glob("*.json"):
        jsonschema.validate(json.loads(example.read_text()), served)
    jsonschema.validate(GOOD, served)
