"""Day two in the editor: an approval's link opens the run at its gate; the compare view colours
the canvas (added, changed, removed as ghosts) and shows the selected node's parameter diff;
the run's page says what its revision changed against the previous run."""
from __future__ import annotations

import re

import httpx
from playwright.sync_api import expect

from browser_steps import node
from support import graph, wait_for, wire

V1 = graph("e2e-compare", [
    {"id": "a", "brick": "test.echo", "params": {"text": "one"}, "position": {"x": 0, "y": 0}},
    {"id": "b", "brick": "test.echo", "position": {"x": 420, "y": 0}},
    {"id": "gone", "brick": "test.echo", "params": {"text": "bye"}, "position": {"x": 0, "y": 300}},
], [wire("a", "text", "b", "text")])
V2 = graph("e2e-compare", [
    {"id": "a", "brick": "test.echo", "params": {"text": "two"}, "position": {"x": 0, "y": 0}},
    {"id": "b", "brick": "test.echo", "position": {"x": 420, "y": 0}},
    {"id": "c", "brick": "test.echo", "params": {"text": "new"}, "position": {"x": 420, "y": 300}},
], [wire("a", "text", "b", "text")])


def _runs(server: str) -> tuple[str, str]:
    with httpx.Client(base_url=server + "/api", timeout=30) as c:
        gid = c.post("/graphs", json=V1).json()["id"]
        first = c.post("/runs", json={"graph_id": gid, "revision": 1}).json()["id"]
        assert c.put(f"/graphs/{gid}", json=V2).json()["revision"] == 2
        second = c.post("/runs", json={"graph_id": gid, "revision": 2}).json()["id"]
        for run_id in (first, second):
            wait_for(lambda: c.get(f"/runs/{run_id}").json()["finished_at"], 60, what="run done")
    return first, second


def test_a_link_opens_the_run_and_the_compare_view_colours_the_canvas(page, server):
    first, second = _runs(server)
    page.goto(f"/#/runs/{second}/nodes/a")
    expect(page.get_by_test_id("run-panel")).to_contain_text(f"Run {second[:8]}")
    wrapper = lambda nid: node(page, nid).locator("xpath=..")  # noqa: E731
    expect(wrapper("a")).to_have_class(re.compile("selected"))
    changes = page.get_by_test_id("run-changes")
    expect(changes).to_contain_text(f"Changes since run {first[:8]} (revision 1 → 2)")
    expect(changes).to_contain_text("+ node c (test.echo)")
    page.get_by_role("tab", name="Compare").click()
    page.get_by_test_id("compare-panel").get_by_role("button", name="Compare").click()
    expect(wrapper("a")).to_have_class(re.compile("nbx-diff-node-changed"))
    expect(wrapper("c")).to_have_class(re.compile("nbx-diff-node-added"))
    expect(wrapper("b")).not_to_have_class(re.compile("nbx-diff-node"))
    ghost = page.locator('.react-flow__node[data-id="ghost:gone"]')
    expect(ghost).to_have_class(re.compile("nbx-diff-node-removed"))
    expect(page.get_by_test_id("compare-node")).to_have_text('Node aparams.text: "one" → "two"')
    page.get_by_test_id("compare-panel").get_by_role("button", name="Stop").click()
    expect(ghost).to_have_count(0)
    expect(wrapper("a")).not_to_have_class(re.compile("nbx-diff-node"))
