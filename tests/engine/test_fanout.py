"""for_each: one instance per item, each with its own status and outputs, gathered as lists."""
from __future__ import annotations

from support import graph, wire


def test_fan_out_zip_and_gather(stack):
    doc = graph("fan", [
        ("fan", "test.echo", {"text": ["a", "b", "c"]}, {"for_each": "text"}),
        ("again", "core.template", {"values": {"k": 1}}, {"for_each": "template"}),
        ("tagged", "test.where", {"host": "local"}, {"for_each": "tag"}),
        ("join", "test.collect", {"sep": "+"}),
    ], [wire("fan", "text", "again", "template"), wire("again", "text", "tagged", "tag"),
        wire("tagged", "tag", "join", "items")])
    run = stack.run(doc)
    assert run["status"] == "succeeded", run
    fan = run["nodes"]["fan"]
    assert [i["id"] for i in fan["items"]] == ["fan[0]", "fan[1]", "fan[2]"]
    assert [i["status"] for i in fan["items"]] == ["succeeded"] * 3
    assert [i["item"] for i in fan["items"]] == ["a", "b", "c"]
    assert fan["outputs"] == {"text": ["a", "b", "c"]}
    assert run["nodes"]["tagged"]["outputs"]["host"] == ["local"] * 3
    assert run["nodes"]["join"]["outputs"] == {"joined": "a+b+c"}
    with stack.client() as c:
        assert "echo b" in c.get(f"/runs/{run['id']}/nodes/fan[1]/log").text


def test_a_failed_item_fails_its_node_and_names_the_item(stack):
    doc = graph("fan-fail", [("where", "test.where", {"host": ["local", "nowhere"]}, {"for_each": "host"}),
                             ("after", "test.collect", {})], [wire("where", "host", "after", "items")])
    run = stack.run(doc)
    where = run["nodes"]["where"]
    assert run["status"] == "failed"
    assert [i["status"] for i in where["items"]] == ["succeeded", "failed"]
    assert "unknown host 'nowhere'" in where["items"][1]["error"]
    assert where["error"].startswith("1 of 2 items did not succeed: where[1]: unknown host 'nowhere'")
    assert run["nodes"]["after"]["status"] == "skipped"


def test_empty_list_succeeds_with_empty_outputs(stack):
    run = stack.run(graph("fan-empty", [("fan", "test.echo", {"text": []}, {"for_each": "text"}),
                                        ("join", "test.collect")], [wire("fan", "text", "join", "items")]))
    assert run["status"] == "succeeded"
    assert run["nodes"]["join"]["outputs"] == {"joined": ""}


def test_gathered_output_types_are_checked(stack):
    bad = graph("fan-types", [("fan", "test.echo", {"text": ["a"]}, {"for_each": "text"}), ("one", "test.echo")],
                [wire("fan", "text", "one", "text")])
    with stack.client() as c:
        resp = c.post("/graphs/validate", json=bad)
    assert resp.status_code == 422
    assert "fan.text (string[]) does not fit one.text (string)" in resp.text
