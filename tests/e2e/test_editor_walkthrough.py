"""The README's walkthrough, built by hand in the editor, runs green on host `local`."""
from __future__ import annotations

import httpx
from playwright.sync_api import Page

import walkthrough
from support import ROOT

ARTIFACTS = ROOT / "test-artifacts"


def test_the_readme_walkthrough_built_by_hand_runs_green(page: Page, server):
    ids = walkthrough.build(page)
    walkthrough.save_and_run(page, ids, name="walkthrough")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "walkthrough-green.png"))

    app = httpx.get(f"http://127.0.0.1:{walkthrough.PORT}/", timeout=10)
    assert app.status_code == 200 and "hello from my first graph" in app.text
    mail = httpx.get(server + "/api/mail", timeout=10).json()
    assert any(m["subject"] == "hello is live" and m["to"] == ["you@example.org"] for m in mail)
