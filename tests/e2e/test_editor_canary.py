"""A newcomer's canary of an app that is not the example app (tests/e2e/shop: its own port,
health path and page), made with New ▾ Canary update of my service, run and approved: green, and
the new release answers."""
from __future__ import annotations

import re
import uuid

import httpx
from playwright.sync_api import expect

import canary_steps
from support import ROOT, free_port
from test_editor_examples import _boxes, _overlaps

ARTIFACTS = ROOT / "test-artifacts"


def test_a_canary_of_my_own_app_runs_green(page, server, tmp_path):
    service, port = f"shop{uuid.uuid4().hex[:6]}", free_port()
    source = canary_steps.release(tmp_path / "shop-2.0", "2.0")
    canary_steps.build(page, service=service, source=source, release_id="2.0", port=port)
    expect(page.get_by_test_id("graph-title")).to_contain_text(f"{service}-canary •")
    page.wait_for_timeout(600)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "editor-canary-made.png"))
    assert _overlaps(_boxes(page)) == []
    # Thirteen nodes open far out: each shows its title, whole words on lines inside the node.
    expect(page.locator(".react-flow").first).to_have_class(re.compile(r"\bnbx-far\b"))
    assert canary_steps.titles_fit(page) == []
    sink, inbox = canary_steps.mail_sink()
    try:
        canary_steps.save_run_approve(page, {"smtp_port": str(sink.port)})
    finally:
        sink.stop()
    for node in ("canary", "rest", "commit"):
        expect(page.get_by_test_id(f"node-{node}")).to_have_attribute("data-status", "succeeded")
    expect(page.get_by_test_id("node-rollback")).to_have_attribute("data-status", "skipped")
    (mail,) = [m for m in inbox.messages if f"Subject: {service}: the canary runs" in m.content.decode()]
    assert "local" in mail.content.decode() and "-> 2.0" in mail.content.decode()
    answer = httpx.get(f"http://127.0.0.1:{port}/items", timeout=10).json()
    assert answer == {"release": "2.0", "items": ["apple", "pear"]}
    page.screenshot(path=str(ARTIFACTS / "editor-canary-green.png"))
