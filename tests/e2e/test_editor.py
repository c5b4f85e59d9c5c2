"""The editor in a real browser against the real server, worker and Redis."""
from __future__ import annotations

import json
import re

from playwright.sync_api import expect

from browser_steps import drop_brick, node, run, save, select, set_param, wait_status, wire
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
    first = _export(page)
    doc = json.loads(first)
    assert doc["name"] == "round trip" and len(doc["nodes"]) == 2 and len(doc["edges"]) == 1

    # A broken document shows its errors and leaves the canvas as it was.
    page.get_by_test_id("tb-import").click()
    page.get_by_test_id("import-text").fill('{"format": "nebhx/graph@1", "name": "x", "nodes": [{"id": 1}]}')
    page.get_by_test_id("import-replace").click()
    expect(page.get_by_test_id("import-errors")).to_contain_text("nodes[0].id is not a valid id")
    page.get_by_role("button", name="Cancel").click()
    expect(page.locator(".react-flow__node")).to_have_count(2)

    page.get_by_test_id("tb-new").click()
    expect(page.locator(".react-flow__node")).to_have_count(0)
    page.get_by_test_id("tb-import").click()
    page.get_by_test_id("import-text").fill(first)
    page.get_by_test_id("import-replace").click()
    expect(page.locator(".react-flow__node")).to_have_count(2)
    assert _export(page) == first


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
