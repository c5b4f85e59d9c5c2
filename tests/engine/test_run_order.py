"""A run lists its nodes in dependency order, whatever order the graph's document or the store
gives: the run panel's node list and a rollout grid's phases (volume, prepare, canary, rest,
commit) read in the order the rollout goes."""
from __future__ import annotations

from support import graph, order, wire


def test_a_run_lists_its_nodes_upstream_first_in_document_order_among_equals(eng):
    hosts = ["h1", "h2", "h3"]
    doc = graph("phases", [("commit", "test.noop"), ("rest", "test.echo", {}, {"for_each": "text"}),
                           ("aside", "test.noop"), ("canary", "test.noop"),
                           ("prepare", "test.echo", {"text": hosts}, {"for_each": "text"})],
                [wire("prepare", "text", "rest", "text"), order("prepare", "canary"), order("canary", "rest"),
                 order("rest", "commit")])
    run_id = eng.start(doc)
    eng.drain()
    run = eng.run(run_id)
    assert list(run["nodes"]) == ["aside", "prepare", "canary", "rest", "commit"]
    assert [i["item"] for i in run["nodes"]["rest"]["items"]] == hosts  # items stay in item order
    assert {n["status"] for n in run["nodes"].values()} == {"succeeded"}
