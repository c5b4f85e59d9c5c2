"""The shipped examples open readably in the editor."""
from __future__ import annotations

import json
import re

import httpx
from playwright.sync_api import expect

from browser_steps import node
from support import ROOT

ARTIFACTS = ROOT / "test-artifacts"


def _export(page) -> str:
    with page.expect_download() as info:
        page.get_by_test_id("tb-export").click()
    return open(info.value.path(), encoding="utf-8").read()


def _boxes(page) -> dict[str, dict]:
    return page.locator(".react-flow__node").evaluate_all(
        "els => Object.fromEntries(els.map(e => { const r = e.getBoundingClientRect();"
        " return [e.dataset.id, {x: r.x, y: r.y, w: r.width, h: r.height}]; }))")


def _overlaps(boxes: dict[str, dict]) -> list[tuple[str, str]]:
    items = sorted(boxes.items())
    found = []
    for i, (a, p) in enumerate(items):
        for b, q in items[i + 1:]:
            if p["x"] < q["x"] + q["w"] and q["x"] < p["x"] + p["w"] and p["y"] < q["y"] + q["h"] \
                    and q["y"] < p["y"] + p["h"]:
                found.append((a, b))
    return found


def test_web_service_example_imports_readably(page):
    text = (ROOT / "examples" / "web-service.json").read_text(encoding="utf-8")
    page.get_by_test_id("tb-import").click()
    page.get_by_test_id("import-text").fill(text)
    page.get_by_test_id("import-replace").click()
    nodes = json.loads(text)["nodes"]
    expect(page.locator(".react-flow__node")).to_have_count(len(nodes))
    page.wait_for_timeout(600)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "editor-web-service.png"))
    # Its saved layout is kept, only spread where nodes drawn here would overlap.
    assert _overlaps(_boxes(page)) == []
    positions = {n["id"]: n["position"] for n in nodes}
    exported = {n["id"]: n["position"] for n in json.loads(_export(page))["nodes"]}
    moved = {k: (p, exported[k]) for k, p in positions.items() if exported[k]["x"] != p["x"]}
    assert not moved, f"nodes moved sideways (saved, exported): {moved}"
    top = min(p["y"] for p in positions.values())
    assert all(exported[k] == p for k, p in positions.items() if p["y"] == top)  # the first row stays
    for a, p in positions.items():  # rows stay rows, in the same order
        for b, q in positions.items():
            assert (p["y"] == q["y"]) == (exported[a]["y"] == exported[b]["y"])
            assert (p["y"] < q["y"]) == (exported[a]["y"] < exported[b]["y"])
    # The whole graph is shown: far out, a node shows its title instead of unreadable ports.
    if "nbx-far" in (page.locator(".react-flow").first.get_attribute("class") or "").split():
        expect(node(page, nodes[0]["id"]).locator(".nbx-port-name").first).to_be_hidden()
    for _ in range(5):
        page.get_by_role("button", name="Zoom In").click()
    expect(page.locator(".nbx-port-name:visible").first).to_be_visible()
    expect(page.locator(".react-flow").first).not_to_have_class(re.compile(r"\bnbx-far\b"))
    page.wait_for_timeout(300)
    page.screenshot(path=str(ARTIFACTS / "editor-web-service-detail.png"))
    assert _overlaps(_boxes(page)) == []


def test_a_stored_example_opens_spread_and_unchanged(page, server):
    doc = json.loads((ROOT / "examples" / "web-service.json").read_text(encoding="utf-8"))
    doc["name"] = "web-service (stored)"
    res = httpx.post(server + "/api/graphs", json=doc, timeout=30)
    assert res.status_code < 300, res.text
    page.get_by_test_id("tb-open").click()
    page.get_by_test_id("graph-list").locator(".list-group-item", has_text="web-service (stored)").first.click()
    page.get_by_role("button", name=re.compile("Open latest")).click()
    expect(page.locator(".react-flow__node")).to_have_count(len(doc["nodes"]))
    expect(page.get_by_test_id("revision")).to_have_text("rev 1")
    page.wait_for_timeout(600)
    assert _overlaps(_boxes(page)) == []
    # Moving the nodes apart is not an edit: the stored graph is not marked changed.
    expect(page.get_by_test_id("graph-title")).to_contain_text("web-service (stored)")
    expect(page.get_by_test_id("graph-title")).not_to_contain_text("•")
