"""Make composite in a real browser: two wired nodes of a graph become one composite node (a new
stored graph), undo brings them back selected and redo the composite; the graph saves and runs green."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from browser_steps import drop_brick, node, node_ids, run, save, select, set_param, wait_status, wire
from support import ROOT

ARTIFACTS = ROOT / "test-artifacts"


def test_two_wired_nodes_made_a_composite_save_and_run_green(page):
    a = drop_brick(page, "test.echo", 150, 150)
    b = drop_brick(page, "test.echo", 450, 250)
    c = drop_brick(page, "test.echo", 800, 150)
    wire(page, a, "text", b, "text")
    wire(page, b, "text", c, "text")
    set_param(page, a, "text", "made composite")
    expect(page.get_by_test_id("problem-count")).to_have_text("valid")
    select(page, a)
    node(page, b).locator(".nbx-node-ids").click(modifiers=["Shift"])
    expect(page.locator(".react-flow__node.selected")).to_have_count(2)

    page.get_by_test_id("tb-composite").click()
    page.get_by_test_id("extract-name").fill("echo pair")
    page.get_by_test_id("extract-submit").click()
    expect(page.get_by_test_id("toast").filter(has_text=re.compile("Composite echo pair saved"))).to_be_visible()
    expect(page.locator(".react-flow__node")).to_have_count(2)
    assert sorted(node_ids(page)) == sorted([c, "echo_pair"])
    expect(node(page, "echo_pair")).to_contain_text(re.compile(r"composite:[^@\s]+@1"))
    expect(node(page, "echo_pair")).not_to_contain_text("unknown brick")
    expect(page.locator(".react-flow__edge")).to_have_count(1)  # echo_pair.text -> c.text

    # One undo brings the two nodes and their wires back; redo makes the composite again.
    page.get_by_test_id("tb-undo").click()
    expect(page.locator(".react-flow__node")).to_have_count(3)
    expect(page.locator(".react-flow__edge")).to_have_count(2)
    expect(page.locator(".react-flow__node.selected")).to_have_count(2)  # selected as they were
    expect(node(page, a).locator("xpath=..")).to_have_class(re.compile("selected"))
    page.get_by_test_id("tb-redo").click()
    expect(page.locator(".react-flow__node")).to_have_count(2)
    expect(page.get_by_test_id("problem-count")).to_have_text("valid")

    save(page)
    run(page)
    wait_status(page, "echo_pair", "succeeded")
    wait_status(page, c, "succeeded")
    expect(page.get_by_test_id("run-status")).to_have_text("succeeded", timeout=60_000)  # a loaded 2-core CI machine
    select(page, c)
    page.get_by_role("tab", name="Run").click()
    expect(page.get_by_test_id("run-node")).to_contain_text("made composite")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "editor-extract-composite.png"))
