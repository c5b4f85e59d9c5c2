"""What a newcomer meets in the editor (issue 17 items 7 and 8): for_each offered for a list
wire, rollout order wires hinted, new nodes placed clear of others, Fit near enough to see ports,
the shipped examples open without overlaps, and Export carries its composites."""
from __future__ import annotations

import json
import re
import uuid

import httpx
import pytest
from playwright.sync_api import expect

from browser_steps import drop_brick, handle, node, wire
from canary_steps import titles_fit
from support import ROOT
from test_editor_examples import _boxes, _export, _overlaps

EXAMPLES = sorted(p.name for p in (ROOT / "examples").glob("*.json"))


def _import(page, doc, mode="import-replace") -> None:
    page.get_by_test_id("tb-import").click()
    page.get_by_test_id("import-text").fill(json.dumps(doc))
    if mode == "import-replace":
        page.get_by_test_id("import-replace").click()
    else:
        page.get_by_role("button", name="Add to canvas").click()


def _doc(name, nodes, edges=()):
    return {"format": "nebhx/graph@1", "name": name, "nodes": nodes, "edges": list(edges)}


def test_a_list_wire_on_a_port_of_one_value_offers_for_each(page):
    _import(page, _doc("offer", [
        {"id": "sel", "brick": "hosts.select", "params": {"selector": ""}, "position": {"x": 0, "y": 0}},
        {"id": "vol", "brick": "storage.volume", "params": {"name": "d"}, "position": {"x": 400, "y": 0}}]))
    expect(handle(page, "vol", "host", "in")).to_be_visible()
    wire(page, "sel", "hosts", "vol", "host")
    toast = page.get_by_test_id("toast").filter(has_text="for_each")
    expect(toast).to_contain_text("hosts (HostRef[]) does not fit host (HostRef)")
    expect(page.locator(".react-flow__edge")).to_have_count(0)
    toast.get_by_test_id("toast-action").click()
    expect(page.get_by_test_id("each-vol")).to_contain_text("each host")
    expect(page.locator(".react-flow__edge")).to_have_count(1)
    expect(page.get_by_test_id("problem-count")).to_have_text("valid")


def test_a_missing_order_wire_of_the_canary_is_hinted(page):
    doc = json.loads((ROOT / "examples" / "canary-update.json").read_text(encoding="utf-8"))
    doc["edges"] = [e for e in doc["edges"] if (e["from"]["node"], e["to"]["node"]) != ("approve", "rest")]
    _import(page, doc)
    expect(page.get_by_test_id("problem-count")).to_have_text(re.compile(r"^valid\s*· 1 hint$"))
    page.get_by_test_id("problem-count").click()
    expect(page.get_by_test_id("hint")).to_contain_text("rest switches while approval 'approve'")


def test_new_nodes_land_clear_of_others(page):
    first = drop_brick(page, "test.echo", 300, 200)
    second = drop_brick(page, "test.echo", 310, 210)  # on top of the first
    assert _overlaps(_boxes(page)) == []
    assert node(page, second).bounding_box()["y"] > node(page, first).bounding_box()["y"]
    pair = _doc("pair", [{"id": "a", "brick": "test.echo", "params": {"text": "a"}, "position": {"x": 0, "y": 0}},
                         {"id": "b", "brick": "test.echo", "params": {"text": "b"}, "position": {"x": 300, "y": 0}}])
    for _ in range(2):  # Add to canvas twice: the copies do not stack
        _import(page, pair, mode="add")
    expect(page.locator(".react-flow__node")).to_have_count(6)
    page.wait_for_timeout(300)
    assert _overlaps(_boxes(page)) == []


def test_make_composite_puts_its_node_clear_of_others(page):
    echo = lambda i, x, y: {"id": i, "brick": "test.echo", "params": {"text": i}, "position": {"x": x, "y": y}}  # noqa: E731
    # The selection's top-left corner (0, 0) is where the node it leaves out lies.
    _import(page, _doc("corner", [echo("x", 0, 0), echo("a", 0, 400), echo("b", 500, 0)]))
    node(page, "a").locator(".nbx-node-ids").click()
    node(page, "b").locator(".nbx-node-ids").click(modifiers=["Shift"])
    page.get_by_test_id("tb-composite").click()
    page.get_by_test_id("extract-name").fill(f"corner pair {uuid.uuid4().hex[:6]}")
    page.get_by_test_id("extract-submit").click()
    expect(page.locator(".react-flow__node")).to_have_count(2)
    page.wait_for_timeout(300)
    assert _overlaps(_boxes(page)) == []


def test_fit_keeps_ports_for_a_small_graph(page):
    nodes = [{"id": f"e{i}", "brick": "test.echo", "params": {"text": str(i)},
              "position": {"x": (i % 4) * 330, "y": (i // 4) * 260}} for i in range(7)]
    _import(page, _doc("seven", nodes))
    page.get_by_test_id("tb-fit").click()
    page.wait_for_timeout(500)
    expect(page.locator(".react-flow").first).not_to_have_class(re.compile(r"\bnbx-far\b"))
    expect(node(page, "e0").locator(".nbx-port-name").first).to_be_visible()


@pytest.mark.parametrize("example", EXAMPLES)
def test_the_shipped_examples_open_without_overlaps(page, example):
    doc = json.loads((ROOT / "examples" / example).read_text(encoding="utf-8"))
    _import(page, doc)
    expect(page.locator(".react-flow__node")).to_have_count(len(doc["nodes"]))
    page.wait_for_timeout(600)
    assert _overlaps(_boxes(page)) == []
    assert titles_fit(page) == []


def test_export_carries_the_composites_as_the_cli_does(page, server):
    inner = _doc("export inner", [{"id": "hi", "brick": "test.echo", "params": {"text": "hi"},
                                   "position": {"x": 0, "y": 0}}])
    made = httpx.post(server + "/api/graphs", json=inner, timeout=30).json()
    outer = _doc("export outer", [{"id": "up", "brick": f"composite:{made['id']}@1", "params": {},
                                   "position": {"x": 0, "y": 0}}])
    saved = httpx.post(server + "/api/graphs", json=outer, timeout=30).json()
    cli = httpx.get(f"{server}/api/graphs/{saved['id']}/revisions/1", timeout=30).json()
    _import(page, outer)
    expect(node(page, "up")).to_be_visible()
    exported = json.loads(_export(page))
    assert exported["includes"] == cli["includes"] and list(exported["includes"]) == [f"{made['id']}@1"]
