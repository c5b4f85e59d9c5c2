"""The shipped examples open readably in the editor."""
from __future__ import annotations

import json

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
    expect(page.locator(".react-flow__node")).to_have_count(23)
    page.wait_for_timeout(600)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "editor-web-service.png"))
    # Its saved layout is kept, only spread where nodes drawn here would overlap.
    assert _overlaps(_boxes(page)) == []
    positions = {n["id"]: n["position"] for n in json.loads(text)["nodes"]}
    exported = {n["id"]: n["position"] for n in json.loads(_export(page))["nodes"]}
    assert all(exported[k]["x"] == p["x"] for k, p in positions.items())
    assert exported["volume_a"] == positions["volume_a"]
    assert exported["run_a"]["y"] == exported["stage_a"]["y"] == exported["switch_a"]["y"]  # rows stay rows
    # The whole graph is shown: far out, a node shows its title instead of unreadable ports.
    expect(node(page, "lb").locator(".nbx-port-name").first).to_be_hidden()
    for _ in range(5):
        page.get_by_role("button", name="Zoom In").click()
    expect(node(page, "lb").locator(".nbx-port-name").first).to_be_visible()
    page.wait_for_timeout(300)
    page.screenshot(path=str(ARTIFACTS / "editor-web-service-detail.png"))
    assert _overlaps(_boxes(page)) == []
