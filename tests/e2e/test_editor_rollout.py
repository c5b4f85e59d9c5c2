"""Rollouts in the editor against a real server whose host `local` carries role=web: Plan on a
select -> split -> for_each graph, a composite saved, reopened, opened and back, and the
releases panel and rollout grid after examples/canary-update.json ran and its gate was approved."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys

import httpx
import pytest
from playwright.sync_api import expect

from browser_steps import node, save, select, wait_status
from support import ROOT, TEST_BLOCKS, free_port, make_env, start_redis, stop_daemons, wait_for

ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="module")
def server(tmp_path_factory, extra_blocks):
    """`nebhx up --label role=web` (this module's own: host `local` is a web host), and a second
    registered web host that has no agent (so it is down)."""
    redis, broker = start_redis()
    home = tmp_path_factory.mktemp("e2e-rollout-home")
    port = free_port()
    env = make_env(home, broker_url=broker)
    env["NEBHX_BLOCKS_PATH"] = os.pathsep.join([str(TEST_BLOCKS), str(extra_blocks)])
    log = open(home / "up.log", "ab")
    proc = subprocess.Popen([sys.executable, "-m", "nebhx.cli.main", "up", "--port", str(port), "--label", "role=web"],
                            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: httpx.get(url + "/api/health").status_code == 200, 60, what="nebhx up")
        wait_for(lambda: any(h["name"] == "local" for h in httpx.get(url + "/api/hosts").json()), 30, what="host local")
        httpx.post(url + "/api/hosts", json={"name": "web2", "labels": {"role": "web"}}).raise_for_status()
        yield url
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        stop_daemons(home)  # the apps, supervisord and HAProxy the examples started hold fixed ports
        redis.terminate()
        redis.wait(timeout=10)


def _doc(name, nodes, edges=(), inputs=()):
    return {"format": "nebhx/graph@1", "name": name, "description": "", "inputs": list(inputs), "outputs": [],
            "nodes": nodes, "edges": list(edges), "meta": {}}


def _import(page, doc) -> None:
    page.get_by_test_id("tb-import").click()
    page.get_by_test_id("import-text").fill(json.dumps(doc))
    page.get_by_test_id("import-replace").click()
    expect(page.locator(".react-flow__node")).to_have_count(len(doc["nodes"]))


def _shot(page, name) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name))


CANARY = _doc("plan canary", [
    {"id": "select", "brick": "hosts.select", "params": {"selector": {"$input": "selector"}}, "position": {"x": 0, "y": 0}},
    {"id": "split", "brick": "hosts.split", "params": {"first": 1}, "position": {"x": 320, "y": 0}},
    {"id": "volume", "brick": "storage.volume", "params": {"name": "plan-data", "driver": "dir"},
     "position": {"x": 640, "y": 0}, "for_each": "host", "batch": 1, "max_failures": 0},
], [{"from": {"node": "select", "port": "hosts"}, "to": {"node": "split", "port": "items"}},
    {"from": {"node": "split", "port": "head"}, "to": {"node": "volume", "port": "host"}}],
   [{"name": "selector", "type": "string", "required": False, "default": "", "description": "hosts"}])


def test_plan_shows_what_a_run_would_do_per_node_and_host(page):
    _import(page, CANARY)
    # The batch settings of the fan-out node; a bad batch shows the problem at once.
    select(page, "volume")
    panel = page.get_by_test_id("node-panel")
    expect(panel.get_by_test_id("batch-settings")).to_be_visible()
    expect(panel.get_by_label("Batch size (count or %)")).to_have_value("1")
    panel.get_by_label("Batch size (count or %)").fill("0%")
    expect(panel.get_by_test_id("setting-problem").first).to_contain_text("percentage over 0%")
    panel.get_by_label("Batch size (count or %)").fill("50%")
    expect(panel.get_by_test_id("setting-problem")).to_have_count(0)
    page.get_by_test_id("tb-plan").click()
    page.get_by_label("selector").fill("role=web")
    page.get_by_test_id("start-plan").click()
    table = page.get_by_test_id("plan-table")
    expect(table.get_by_test_id("plan-node-select")).to_contain_text("would pick 1 host now: local")
    expect(table.get_by_test_id("plan-node-split")).to_contain_text("head: 1 item")
    expect(table.get_by_test_id("plan-item-volume[0]")).to_contain_text("local")
    page.wait_for_timeout(300)
    _shot(page, "editor-plan-dialog.png")
    page.get_by_test_id("plan-dialog").get_by_role("button", name="Close").last.click()
    expect(page.get_by_test_id("plan-select")).to_have_text("no change")
    expect(page.get_by_test_id("plan-volume")).to_be_visible()
    _shot(page, "editor-plan-badges.png")
    # An edit makes the plan stale: its badges go.
    select(page, "split")
    page.get_by_test_id("node-panel").get_by_label("Label").fill("Canary")
    expect(page.get_by_test_id("plan-select")).to_have_count(0)


def test_composite_saved_reopened_opened_and_back(page, server):
    inner = _doc("inner steps", [{"id": "hi", "brick": "test.echo", "params": {"text": "hi"}, "position": {"x": 0, "y": 0}}])
    created = httpx.post(server + "/api/graphs", json=inner).json()
    httpx.put(f"{server}/api/graphs/{created['id']}", json={**inner, "description": "rev 2"}).raise_for_status()
    outer = _doc("outer with composite", [
        {"id": "up", "brick": f"composite:{created['id']}@1", "params": {}, "position": {"x": 0, "y": 0}}])
    _import(page, outer)
    save(page)
    page.get_by_test_id("tb-open").click()
    page.get_by_test_id("graph-list").get_by_text("outer with composite").click()
    page.get_by_role("button", name=re.compile("Open latest")).click()
    expect(node(page, "up")).to_be_visible()
    expect(node(page, "up")).not_to_contain_text("unknown brick")
    select(page, "up")
    expect(page.get_by_test_id("composite-newer")).to_contain_text("Update to revision 2")
    page.get_by_test_id("open-composite").click()
    expect(node(page, "hi")).to_be_visible()
    expect(page.get_by_test_id("breadcrumb")).to_contain_text("inner steps rev 1 (read-only)")
    _shot(page, "editor-composite-opened.png")
    page.get_by_test_id("crumb-0").click()
    expect(node(page, "up")).to_be_visible()
    expect(page.get_by_test_id("breadcrumb")).to_have_count(0)
    # The update pins the newer revision: an edit (unsaved, marked so).
    select(page, "up")
    page.get_by_role("button", name="Update to revision 2").click()
    expect(node(page, "up")).to_contain_text(f"composite:{created['id']}@2")
    expect(page.get_by_test_id("graph-title")).to_contain_text("•")


def test_releases_panel_and_rollout_grid_after_the_canary_update(page):
    doc = json.loads((ROOT / "examples" / "canary-update.json").read_text(encoding="utf-8"))
    _import(page, doc)
    save(page)
    page.get_by_test_id("tb-run").click()
    page.get_by_label("selector").fill("role=web")
    page.get_by_test_id("start-run").click()
    wait_status(page, "approve", "waiting", timeout=120_000)
    node(page, "approve").click()  # zoomed out: the node shows its title only
    page.get_by_role("tab", name="Run").click()
    expect(page.get_by_test_id("rollout-grid")).to_be_visible()
    expect(page.get_by_test_id("grid-local-canary")).to_contain_text("succeeded")
    _shot(page, "editor-rollout-grid-waiting.png")
    page.get_by_test_id("decide-form").get_by_role("button", name="Approve").click()
    expect(page.get_by_test_id("run-status")).to_contain_text("succeeded", timeout=120_000)
    expect(page.get_by_test_id("grid-local-commit")).to_contain_text("succeeded")
    _shot(page, "editor-rollout-grid-done.png")
    page.get_by_test_id("tb-releases").click()
    row = page.get_by_test_id("releases-table").locator("tr", has_text="local")
    expect(row.first).to_contain_text("2.0.0", timeout=30_000)
    page.wait_for_timeout(300)
    _shot(page, "editor-releases.png")
