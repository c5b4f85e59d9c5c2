"""The editor in a real browser against the real server, worker and Redis."""
from __future__ import annotations

import json
import re

from playwright.sync_api import expect

from browser_steps import discard_changes, drop_brick, node, run, save, select, set_param, wait_status, wire
from support import ROOT

ARTIFACTS = ROOT / "test-artifacts"


def test_build_wire_set_param_save_and_run(page):
    a = drop_brick(page, "test.echo", 200, 150)
    b = drop_brick(page, "test.echo", 550, 250)
    wire(page, a, "text", b, "text")
    expect(page.locator(".react-flow__edge")).to_have_count(1)
    set_param(page, a, "text", "hello from the editor")
    expect(page.get_by_test_id("problem-count")).to_have_text("valid")
    select(page, b)
    expect(page.get_by_test_id("wired-text")).to_contain_text(f"{a} · text")
    save(page)
    expect(page.get_by_test_id("revision")).to_have_text("rev 1")
    run(page)
    wait_status(page, a, "succeeded")
    wait_status(page, b, "succeeded")
    expect(page.get_by_test_id("run-status")).to_have_text("succeeded", timeout=15_000)
    expect(page.get_by_test_id(f"status-{b}")).to_contain_text(re.compile(r"succeeded · \d"))
    select(page, b)
    page.get_by_role("tab", name="Run").click()
    expect(page.get_by_test_id("run-node")).to_contain_text("hello from the editor")
    expect(page.get_by_test_id("run-list").locator(".list-group-item")).to_have_count(1)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "editor-after-run.png"))


def test_incompatible_wire_is_refused_with_its_reason(page):
    src = drop_brick(page, "test.noop", 150, 150)
    dst = drop_brick(page, "core.share_settings", 550, 150)
    wire(page, src, "value", dst, "password")
    expect(page.get_by_test_id("toast")).to_contain_text("value (string) does not fit password (Secret)")
    expect(page.locator(".react-flow__edge")).to_have_count(0)
    wire(page, src, "value", dst, "share")
    expect(page.locator(".react-flow__edge")).to_have_count(1)
    other = drop_brick(page, "test.echo", 150, 400)
    wire(page, other, "text", dst, "share")
    expect(page.get_by_test_id("toast").filter(has_text="input share already has a wire")).to_be_visible()
    expect(page.locator(".react-flow__edge")).to_have_count(1)
    wire(page, other, "__order_out", dst, "__order_in")  # an order-only (control) edge
    expect(page.locator(".react-flow__edge.nbx-control")).to_have_count(1)


def _export(page) -> str:
    with page.expect_download() as info:
        page.get_by_test_id("tb-export").click()
    return open(info.value.path(), encoding="utf-8").read()


def test_export_then_import_gives_identical_json(page):
    a = drop_brick(page, "test.noop", 150, 150)
    b = drop_brick(page, "test.echo", 500, 200)
    wire(page, a, "value", b, "text")
    page.get_by_role("tab", name="Graph").click()
    page.get_by_label("Graph name").fill("round trip")
    page.get_by_role("button", name="Add input").click()
    page.get_by_label("Input name").fill("greeting")
    page.get_by_role("checkbox", name="Required").uncheck()
    page.get_by_label("Input default").fill("hello")
    page.get_by_label("Input description").fill("what to say")
    page.get_by_role("button", name="Add output").click()
    page.get_by_label("Output name").fill("said")
    page.get_by_label("Output node").select_option(b)
    page.get_by_label("Output port").select_option("text")
    first = _export(page)
    doc = json.loads(first)
    assert doc["name"] == "round trip" and len(doc["nodes"]) == 2 and len(doc["edges"]) == 1
    assert doc["inputs"] == [{"name": "greeting", "type": "string", "required": False, "default": "hello",
                              "description": "what to say"}]
    assert doc["outputs"] == [{"name": "said", "from": {"node": b, "port": "text"}}]

    # A broken document shows its errors and leaves the canvas as it was.
    page.get_by_test_id("tb-import").click()
    page.get_by_test_id("import-text").fill('{"format": "nebhx/graph@1", "name": "x", "nodes": [{"id": 1}]}')
    page.get_by_test_id("import-replace").click()
    expect(page.get_by_test_id("import-errors")).to_contain_text("nodes[0].id is not a valid id")
    page.get_by_role("button", name="Cancel").click()
    expect(page.locator(".react-flow__node")).to_have_count(2)

    page.get_by_test_id("tb-new").click()
    discard_changes(page)  # it was never saved: New asks first
    expect(page.locator(".react-flow__node")).to_have_count(0)
    page.get_by_test_id("tb-import").click()
    page.get_by_test_id("import-text").fill(first)
    page.get_by_test_id("import-replace").click()
    expect(page.locator(".react-flow__node")).to_have_count(2)
    assert _export(page) == first
    page.get_by_role("tab", name="Graph").click()
    expect(page.get_by_label("Input default")).to_have_value("hello")
    expect(page.get_by_label("Output node")).to_have_value(b)
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator(".nbx-side").screenshot(path=str(ARTIFACTS / "editor-graph-tab.png"))


def test_failed_node_shows_its_error_and_can_be_retried(page, tmp_path):
    until = tmp_path / "go"
    f = drop_brick(page, "test.fail", 250, 200)
    set_param(page, f, "message", "disk is full")
    set_param(page, f, "until_file", str(until))
    save(page)
    run(page)
    wait_status(page, f, "failed")
    expect(page.get_by_test_id(f"error-{f}")).to_contain_text("disk is full")
    expect(page.get_by_test_id("run-status")).to_have_text("failed")
    select(page, f)
    page.get_by_role("tab", name="Run").click()
    expect(page.get_by_test_id("run-node-error")).to_contain_text("disk is full")
    until.write_text("ok")
    page.get_by_role("button", name="Retry node").click()
    wait_status(page, f, "succeeded")
    expect(page.get_by_test_id("run-status")).to_have_text("succeeded", timeout=15_000)
    expect(node(page, f).locator(".nbx-node-error")).to_have_count(0)


def test_run_form_for_graph_inputs_and_cancel(page):
    e = drop_brick(page, "test.echo", 200, 150)
    s = drop_brick(page, "test.sleep", 200, 400)
    set_param(page, s, "seconds", "30")
    page.get_by_role("tab", name="Graph").click()
    page.get_by_role("button", name="Add input").click()
    page.get_by_label("Input name").fill("greeting")
    select(page, e)
    page.get_by_role("tab", name="Node").click()
    page.get_by_label("Bind an input to a graph input").select_option(label="text ← greeting")
    expect(page.get_by_test_id("wired-text")).to_contain_text('graph input "greeting"')
    expect(page.get_by_test_id("problem-count")).to_have_text("valid")
    page.get_by_test_id("tb-run").click()
    page.get_by_label("greeting").fill("hi there")
    page.get_by_test_id("start-run").click()
    wait_status(page, e, "succeeded")
    wait_status(page, s, "running")
    expect(page.get_by_test_id("run-status")).to_have_text("running")
    page.get_by_role("button", name="Cancel run").click()
    expect(page.get_by_test_id("run-status")).to_have_text("cancelled", timeout=20_000)
    wait_status(page, s, "cancelled", timeout=20_000)
    select(page, e)
    page.get_by_role("tab", name="Run").click()
    expect(page.get_by_test_id("run-node")).to_contain_text("hi there")


def test_for_each_node_runs_once_per_item_and_lists_its_items(page):
    e = drop_brick(page, "test.echo", 250, 200)
    select(page, e)
    page.get_by_role("tab", name="Node").click()
    page.get_by_test_id("node-panel").locator("summary", has_text="Execution").click()
    page.get_by_label("Run once per item of").select_option("text")
    page.get_by_label("text items").fill('["a", "b", "c"]')
    expect(page.get_by_test_id(f"each-{e}")).to_contain_text("each text")
    expect(page.get_by_test_id("port-in-text")).to_contain_text("string[]")
    expect(page.get_by_test_id("problem-count")).to_have_text("valid")
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator(".nbx-side").screenshot(path=str(ARTIFACTS / "editor-for-each-panel.png"))
    save(page)
    run(page)
    wait_status(page, e, "succeeded")
    expect(page.get_by_test_id(f"items-{e}")).to_have_text("3/3")
    expect(page.get_by_test_id("run-status")).to_have_text("succeeded", timeout=15_000)
    select(page, e)
    page.get_by_role("tab", name="Run").click()
    items = page.get_by_test_id("run-item")
    expect(items).to_have_count(3)
    for i, text in enumerate("abc"):
        expect(items.nth(i)).to_contain_text(text)
        expect(items.nth(i)).to_contain_text("succeeded")
    expect(page.get_by_test_id("run-items-progress")).to_have_text("3/3 done")
    # The parent gathers its items' outputs as lists.
    expect(page.get_by_test_id("run-node")).to_contain_text('"text": [')
    items.nth(1).click()
    detail = page.get_by_test_id("run-item-detail")
    expect(detail).to_contain_text(f"{e}[1]")
    expect(detail).to_contain_text('"text": "b"')
    expect(page.get_by_test_id("run-item-log")).to_contain_text("echo b")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "editor-for-each.png"))


def _approval_graph(page):
    """noop -> approval gate -> echo (the gate's `by`), and a rollback echo that runs when the gate fails."""
    n = drop_brick(page, "test.noop", 60, 80)
    g = drop_brick(page, "gate.approval", 330, 60)
    ok = drop_brick(page, "test.echo", 640, 60)
    rb = drop_brick(page, "test.echo", 640, 420)
    wire(page, n, "__order_out", g, "__order_in")
    wire(page, g, "by", ok, "text")
    wire(page, g, "__order_out", rb, "__order_in")
    expect(page.locator(".react-flow__edge")).to_have_count(3)
    set_param(page, g, "message", "Ship release 42?")
    set_param(page, rb, "text", "rolling back")
    select(page, rb)
    page.get_by_test_id("node-panel").locator("summary", has_text="Execution").click()
    page.get_by_label("Trigger rule").select_option("any_failed")
    page.get_by_label("Retries").fill("1")
    page.get_by_label("Timeout (s)").fill("60")
    expect(page.get_by_test_id("problem-count")).to_have_text("valid")
    save(page)
    return g, ok, rb


def test_approval_gate_is_approved_or_rejected_from_the_editor(page):
    g, ok, rb = _approval_graph(page)
    doc = json.loads(_export(page))
    rollback = next(x for x in doc["nodes"] if x["id"] == rb)
    assert {k: rollback.get(k) for k in ("trigger", "retries", "timeout_s")} == \
        {"trigger": "any_failed", "retries": 1, "timeout_s": 60}

    run(page)
    wait_status(page, g, "waiting")
    expect(page.get_by_test_id(f"wait-{g}")).to_have_text("Ship release 42?")
    select(page, g)
    page.get_by_role("tab", name="Run").click()
    expect(page.get_by_test_id("run-node-wait")).to_have_text("Ship release 42?")
    expect(page.get_by_label("Approver name")).to_have_count(0)  # the approver is the signed-in user
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "editor-approval-waiting.png"))
    page.get_by_role("button", name="Approve").click()
    wait_status(page, ok, "succeeded")
    wait_status(page, rb, "skipped")
    expect(page.get_by_test_id("run-status")).to_have_text("succeeded", timeout=15_000)
    select(page, g)
    expect(page.get_by_test_id("run-node-decision")).to_contain_text("Approved by local")

    run(page)  # a second run: rejected this time, so the rollback branch runs
    wait_status(page, g, "waiting")
    select(page, g)
    page.get_by_role("tab", name="Run").click()
    page.get_by_label("Approval comment").fill("not on a Friday")
    page.get_by_role("button", name="Reject").click()
    wait_status(page, rb, "succeeded")
    wait_status(page, ok, "skipped")
    expect(page.get_by_test_id(f"error-{g}")).to_contain_text("rejected by local: not on a Friday")
    expect(page.get_by_test_id("run-node-error")).to_contain_text("rejected by local: not on a Friday")
    expect(page.get_by_test_id("run-node-decision")).to_contain_text("Rejected by local")
    expect(page.get_by_test_id("run-list").locator(".list-group-item")).to_have_count(2)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "editor-approval-rejected.png"))
