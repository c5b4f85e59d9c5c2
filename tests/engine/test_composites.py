"""Composite bricks: a stored graph revision used as one node, on both stacks (SQLite + filesystem
broker, PostgreSQL + Redis): outputs downstream, failure and retry of an inner node, nesting,
for_each inside, cancel, pinning, self-containment refused, export/import and plan."""
from __future__ import annotations

import uuid

from support import graph, wire, wait_for


def _name(what: str) -> str:
    return f"{what}-{uuid.uuid4().hex[:6]}"


def save(stack, doc: dict, gid: str | None = None) -> dict:
    with stack.client() as c:
        resp = c.post("/graphs", json=doc) if gid is None else c.put(f"/graphs/{gid}", json=doc)
    assert resp.status_code in (200, 201), resp.text
    return resp.json()


def refused(stack, doc: dict, gid: str | None = None) -> str:
    with stack.client() as c:
        resp = c.post("/graphs", json=doc) if gid is None else c.put(f"/graphs/{gid}", json=doc)
    assert resp.status_code == 422, resp.text
    return resp.text


def greet(stack, text_default: str | None = None) -> dict:
    """An inner graph: text -> echo -> echo (out); tag (default "x") -> echo (tag); a batched fan-out."""
    doc = graph(_name("greet"), [
        ("first", "test.echo", {"text": {"$input": "text"}}),
        ("second", "test.echo"),
        ("tagged", "test.echo", {"text": {"$input": "tag"}}),
        ("many", "test.echo", {"text": ["a", "b", "c"]}, {"for_each": "text", "batch": 2}),
    ], [wire("first", "text", "second", "text")],
        inputs=[{"name": "text", "type": "string", **({"default": text_default} if text_default else {})},
                {"name": "tag", "type": "string", "required": False, "default": "x"}],
        outputs=[{"name": "out", "from": {"node": "second", "port": "text"}},
                 {"name": "tag", "from": {"node": "tagged", "port": "text"}},
                 {"name": "many", "from": {"node": "many", "port": "text"}}],
        description="Says hello twice.", meta={"category": "team"})
    return {**save(stack, doc), "doc": doc}


def test_a_composite_runs_its_inner_graph_and_its_outputs_reach_downstream(stack):
    inner = greet(stack)
    ref = f"composite:{inner['id']}@{inner['revision']}"
    doc = graph(_name("outer"), [("src", "test.echo", {"text": "hello"}), ("update", ref),
                                 ("after", "test.echo"), ("join", "test.collect", {"sep": "+"})],
                [wire("src", "text", "update", "text"), wire("update", "out", "after", "text"),
                 wire("update", "many", "join", "items")])
    run = stack.run(doc)
    assert run["status"] == "succeeded", run
    update = run["nodes"]["update"]
    assert update["status"] == "succeeded" and update["inputs"] == {"text": "hello"}
    assert update["outputs"] == {"out": "hello", "tag": "x", "many": ["a", "b", "c"]}
    assert run["nodes"]["after"]["outputs"] == {"text": "hello"}
    assert run["nodes"]["join"]["outputs"] == {"joined": "a+b+c"}
    children = {c["id"]: c for c in update["children"]}
    assert list(children) == ["update:first", "update:second", "update:tagged", "update:many"]
    assert {c["status"] for c in children.values()} == {"succeeded"}
    assert [i["id"] for i in children["update:many"]["items"]] == ["update:many[0]", "update:many[1]",
                                                                    "update:many[2]"]
    with stack.client() as c:
        assert "echo hello" in c.get(f"/runs/{run['id']}/nodes/update:second/log").text
        palette = {b["id"]: b for b in c.get("/bricks").json()["bricks"]}
    brick = palette[f"composite:{inner['id']}"]
    assert (brick["revision"], brick["category"], brick["title"]) == (1, "team", inner["doc"]["name"])
    assert brick["docs"] == "Says hello twice."
    assert [(p["name"], p["type"], p["required"], p.get("default")) for p in brick["inputs"]] == [
        ("text", "string", True, None), ("tag", "string", False, "x")]
    assert [(p["name"], p["type"]) for p in brick["outputs"]] == [("out", "string"), ("tag", "string"),
                                                                  ("many", "string[]")]


def test_wires_through_a_composite_are_typed(stack):
    inner = greet(stack)
    ref = f"composite:{inner['id']}@1"
    text = refused(stack, graph(_name("typed"), [("update", ref, {"text": "a"}), ("join", "test.collect")],
                                [wire("update", "out", "join", "items")]))
    assert "update.out (string) does not fit join.items (string[])" in text
    text = refused(stack, graph(_name("missing"), [("update", ref)]))
    assert "required input 'text' is neither wired nor set" in text


def test_cancel_reaches_the_inner_nodes(stack):
    inner = save(stack, graph(_name("slow"), [("nap", "test.sleep", {"seconds": 30})]))
    run = stack.run(graph(_name("uses-slow"), [("wrap", f"composite:{inner['id']}@1")]), wait=False)
    wait_for(lambda: stack.get_run(run["id"])["nodes"]["wrap"].get("children", [{}])[0].get("status") == "running",
             30, 0.1, "inner node running")
    with stack.client() as c:
        assert c.post(f"/runs/{run['id']}/cancel").status_code == 200
    done = stack.wait_run(run["id"])
    assert done["status"] == "cancelled"
    assert done["nodes"]["wrap"]["status"] == "cancelled"
    assert done["nodes"]["wrap"]["children"][0]["status"] == "cancelled"


def test_a_composite_that_would_contain_itself_is_refused_naming_node_and_cycle(stack):
    g = save(stack, graph(_name("selfish"), [("a", "test.noop")]))
    gid = g["id"]
    text = refused(stack, graph("selfish", [("me", f"composite:{gid}@1")]), gid)
    assert f"node 'me' would make graph '{gid}' contain itself: {gid} -> me (composite:{gid}@1)" in text
    h = save(stack, graph(_name("holder"), [("g", f"composite:{gid}@1")]))
    text = refused(stack, graph("selfish", [("h", f"composite:{h['id']}@1")]), gid)
    assert (f"node 'h' would make graph '{gid}' contain itself: {gid} -> h (composite:{h['id']}@1) -> "
            f"g (composite:{gid}@1)") in text
    assert "node 'x' uses composite:nope-000000@1: no graph 'nope-000000'" in refused(
        stack, graph(_name("unknown"), [("x", "composite:nope-000000@1")]))
    assert f"node 'x' uses composite:{gid}@9: graph '{gid}' has no revision 9" in refused(
        stack, graph(_name("unknown"), [("x", f"composite:{gid}@9")]))
    assert "node id 'x:a' is reserved for the inner nodes of composite node 'x'" in refused(
        stack, graph(_name("clash"), [("x", f"composite:{gid}@1"), ("x:a", "test.noop")]))


def test_a_node_stays_on_its_pinned_revision(stack):
    doc = graph(_name("versioned"), [("say", "test.echo", {"text": "v1"})],
                outputs=[{"name": "said", "from": {"node": "say", "port": "text"}}])
    inner = save(stack, doc)
    outer = save(stack, graph(_name("pinned"), [("use", f"composite:{inner['id']}")]))  # as the palette offers it
    with stack.client() as c:
        stored = c.get(f"/graphs/{outer['id']}/revisions/1").json()
        assert stored["nodes"][0]["brick"] == f"composite:{inner['id']}@1"  # pinned when saved
        started = c.post("/runs", json={"graph_id": outer["id"]}).json()
        doc["nodes"][0]["params"]["text"] = "v2"
        assert save(stack, doc, inner["id"])["revision"] == 2
        later = c.post("/runs", json={"graph_id": outer["id"]}).json()
        palette = {b["id"]: b for b in c.get("/bricks").json()["bricks"]}
    assert palette[f"composite:{inner['id']}"]["revision"] == 2  # the palette offers the newest
    for run in (started, later):
        assert stack.wait_run(run["id"])["nodes"]["use"]["outputs"] == {"said": "v1"}


def test_export_carries_composites_and_imports_back(stack):
    leaf = save(stack, graph(_name("x-leaf"), [("e", "test.echo", {"text": {"$input": "text"}})],
                             inputs=[{"name": "text", "type": "string"}],
                             outputs=[{"name": "out", "from": {"node": "e", "port": "text"}}]))
    mid = save(stack, graph(_name("x-mid"), [("leaf", f"composite:{leaf['id']}@1", {"text": "round"})],
                            outputs=[{"name": "out", "from": {"node": "leaf", "port": "out"}}]))
    outer = save(stack, graph(_name("x-outer"), [("m", f"composite:{mid['id']}@1")],
                              outputs=[{"name": "out", "from": {"node": "m", "port": "out"}}]))
    with stack.client() as c:
        export = c.get(f"/graphs/{outer['id']}/revisions/latest").json()
        assert sorted(export["includes"]) == sorted([f"{leaf['id']}@1", f"{mid['id']}@1"])
        known = len(c.get("/graphs").json())
        export["name"] = _name("x-imported")
        imported = c.post("/graphs", json=export).json()
        assert len(c.get("/graphs").json()) == known + 1  # the included graphs were already here
        assert c.get(f"/graphs/{imported['id']}/revisions/1").json() == export  # the same references
        missing = {**export, "name": _name("x-missing"), "includes": {f"{mid['id']}@1": export["includes"][
            f"{mid['id']}@1"]}}
        missing["nodes"] = [{**missing["nodes"][0], "brick": "composite:gone-000000@1"}]
        resp = c.post("/graphs", json=missing)
        assert resp.status_code == 422 and "node 'm' uses composite:gone-000000@1: no graph 'gone-000000'" in resp.text
        run = c.post("/runs", json={"graph_id": imported["id"]}).json()
    assert stack.wait_run(run["id"])["outputs"] == {"out": "round"}


def test_plan_shows_the_inner_nodes(stack):
    inner = greet(stack)
    doc = graph(_name("planned"), [("update", f"composite:{inner['id']}@1", {"text": "hi"}), ("after", "test.echo")],
                [wire("update", "out", "after", "text")])
    with stack.client() as c:
        resp = c.post("/graphs/plan", json={"graph": doc})
    assert resp.status_code == 200, resp.text
    update = resp.json()["nodes"]["update"]
    assert set(update["children"]) == {"update:first", "update:second", "update:tagged", "update:many"}
    assert update["children"]["update:first"]["inputs"] == {"text": "hi"}
    assert update["children"]["update:tagged"]["inputs"] == {"text": "x"}
    assert [i["id"] for i in update["children"]["update:many"]["items"]] == [
        "update:many[0]", "update:many[1]", "update:many[2]"]
    assert update["effect"].startswith(f"runs graph {inner['doc']['name']!r} revision 1")


def test_an_export_imports_into_another_store_under_new_ids(tmp_path):
    """Two stores (two servers): the included graphs are stored anew and the references follow."""
    from nebhx.graphs import service
    from nebhx.store.db import session_scope
    here, there = (f"sqlite:///{tmp_path / name}.db" for name in ("here", "there"))
    leaf_doc = graph("t-leaf", [("t", "core.template", {"template": {"$input": "text"}})],
                     inputs=[{"name": "text", "type": "string"}],
                     outputs=[{"name": "out", "from": {"node": "t", "port": "text"}}])
    with session_scope(here) as s:
        leaf = service.create_graph(s, doc=leaf_doc)
        mid = service.create_graph(s, doc=graph("t-mid", [("leaf", f"composite:{leaf.id}@1", {"text": "x"})],
                                                outputs=[{"name": "out", "from": {"node": "leaf", "port": "out"}}]))
        outer = service.create_graph(s, doc=graph("t-outer", [("m", f"composite:{mid.id}@1")]))
        export = service.export_revision(s, graph_id=outer.id)
    with session_scope(there) as s:
        imported = service.create_graph(s, doc=export)
        back = service.export_revision(s, graph_id=imported.id)
        names = {g.name: g.id for g in service.list_graphs(s)}
    assert set(names) == {"t-leaf", "t-mid", "t-outer"} and names["t-leaf"] != leaf.id
    assert back["nodes"][0]["brick"] == f"composite:{names['t-mid']}@1"
    assert back["includes"][f"{names['t-mid']}@1"]["nodes"][0]["brick"] == f"composite:{names['t-leaf']}@1"
    assert back["includes"][f"{names['t-leaf']}@1"] == leaf_doc
