"""Composites in process (moved from test_composites.py, which keeps what needs real workers):
an inner failure fails the composite and a retry of the inner node resumes it; nesting."""
from __future__ import annotations

from support import graph, order, wire


def test_an_inner_failure_fails_the_composite_and_a_retry_of_the_inner_node_completes_the_run(eng, tmp_path):
    flag = tmp_path / "fixed"
    inner = eng.save(graph("fragile", [("prep", "test.echo", {"text": "p"}),
                                       ("check", "test.fail", {"until_file": {"$input": "flag"}}),
                                       ("done", "test.noop")],
                           [order("prep", "check"), order("check", "done")],
                           inputs=[{"name": "flag", "type": "string"}]))
    run_id = eng.start(graph("uses-fragile", [
        ("update", f"composite:{inner}@1", {"flag": str(flag)}),
        ("rollback", "test.noop", {}, {"trigger": "any_failed"}), ("after", "test.noop")],
        [order("update", "rollback"), order("update", "after")]))
    eng.drain()
    run = eng.run(run_id)
    update = run["nodes"]["update"]
    assert run["status"] == "failed" and update["status"] == "failed"
    assert update["error"] == "failed inner nodes: update:check (asked to fail)"
    assert [(c["id"], c["status"]) for c in update["children"]] == [
        ("update:prep", "succeeded"), ("update:check", "failed"), ("update:done", "skipped")]
    assert run["nodes"]["rollback"]["status"] == "succeeded" and run["nodes"]["after"]["status"] == "skipped"
    first_prep = update["children"][0]["finished_at"]
    flag.write_text("ok")
    eng.retry(run_id, "update:check")
    eng.drain()
    done = eng.run(run_id)
    assert done["status"] == "succeeded", done
    update = done["nodes"]["update"]
    assert update["status"] == "succeeded" and update["error"] is None
    assert [c["status"] for c in update["children"]] == ["succeeded"] * 3
    assert update["children"][0]["finished_at"] == first_prep  # what had succeeded did not run again
    assert done["nodes"]["after"]["status"] == "succeeded"


def test_composites_nest(eng):
    leaf = eng.save(graph("leaf", [("e", "test.echo", {"text": {"$input": "text"}})],
                          inputs=[{"name": "text", "type": "string"}],
                          outputs=[{"name": "out", "from": {"node": "e", "port": "text"}}]))
    mid = eng.save(graph("mid", [("leaf", f"composite:{leaf}@1", {"text": {"$input": "text"}}), ("again", "test.echo")],
                         [wire("leaf", "out", "again", "text")], inputs=[{"name": "text", "type": "string"}],
                         outputs=[{"name": "out", "from": {"node": "again", "port": "text"}}]))
    run_id = eng.start(graph("top", [("top", f"composite:{mid}@1", {"text": "deep"}), ("after", "test.echo")],
                             [wire("top", "out", "after", "text")]))
    eng.drain()
    run = eng.run(run_id)
    assert run["status"] == "succeeded", run
    top = run["nodes"]["top"]
    assert [c["id"] for c in top["children"]] == ["top:leaf", "top:again"]
    assert top["children"][0]["children"][0]["id"] == "top:leaf:e"
    assert top["children"][0]["children"][0]["outputs"] == {"text": "deep"}
    assert run["nodes"]["after"]["outputs"] == {"text": "deep"}


def test_cancel_reaches_the_inner_nodes_and_ends_the_composite(eng):
    inner = eng.save(graph("slow", [("nap", "test.sleep", {"seconds": 30}), ("then", "test.noop")],
                           [order("nap", "then")]))
    run_id = eng.start(graph("uses-slow", [("wrap", f"composite:{inner}@1")]))
    eng.claim("wrap:nap")
    eng.cancel(run_id)
    eng.drain()
    run = eng.run(run_id)
    assert run["status"] == "cancelled" and run["finished_at"]
    assert [(c["id"], c["status"]) for c in run["nodes"]["wrap"]["children"]] == [
        ("wrap:nap", "cancelled"), ("wrap:then", "cancelled")]
