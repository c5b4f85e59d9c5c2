"""A newcomer's canary of their own app, done in the editor: New ▾ Canary update of my service,
a few fields, the graph made from examples/canary-update.json, saved, run, approved, green.

Shared by `test_editor_canary.py` (it must run green) and `bench/newcomer.py` (it times it).
"""
from __future__ import annotations

import shutil
from pathlib import Path

from aiosmtpd.controller import Controller
from playwright.sync_api import Page, expect

from browser_steps import save, wait_status
from support import Inbox, free_port

SHOP = Path(__file__).resolve().parent / "shop"
# What the newcomer types: (test id, text); the service, source, release and port are the caller's.
FIELDS = [("canary-command", "python3 {release}/shop.py --port {port}"), ("canary-ready_http", "/ping"),
          ("canary-check-path-0", "/items"), ("canary-check-contains-0", "apple")]


def release(folder: Path, version: str) -> Path:
    """The shop app as release `version`: a folder the hosts stage from."""
    shutil.copytree(SHOP, folder, ignore=shutil.ignore_patterns("__pycache__"))
    (folder / "VERSION").write_text(version + "\n", encoding="utf-8")
    return folder


def mail_sink() -> tuple[Controller, Inbox]:
    """A real SMTP server of the run's own for the canary's e-mails (the shared 2525 may be anyone's)."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    return controller, inbox


def build(page: Page, *, service: str, source: Path, release_id: str, port: int) -> None:
    """Ask for the canary graph and wait until it is on the canvas, valid."""
    page.get_by_test_id("tb-new-more").click()
    page.get_by_test_id("tb-canary").click()
    fields = [("canary-service", service), ("canary-source", str(source)), ("canary-release_id", release_id),
              ("canary-port", str(port)), *FIELDS]
    for test_id, text in fields:
        page.get_by_test_id(test_id).fill(text)
    page.get_by_test_id("canary-make").click()
    expect(page.get_by_test_id("canary-dialog")).to_be_hidden()
    expect(page.get_by_test_id("node-approve")).to_be_visible()
    expect(page.get_by_test_id("problem-count")).to_have_text("valid")


def save_run_approve(page: Page, inputs: dict[str, str] | None = None) -> None:
    """Save, run with the inputs as made (but `inputs`, typed into the Run dialog), approve the gate
    once the canary passed; green."""
    save(page)
    page.get_by_test_id("tb-run").click()
    for name, text in (inputs or {}).items():
        page.get_by_label(name, exact=True).fill(text)
    page.get_by_test_id("start-run").click()
    wait_status(page, "approve", "waiting", timeout=120_000)
    page.get_by_test_id("node-approve").click()
    page.get_by_role("tab", name="Run").click()
    page.get_by_test_id("decide-form").get_by_role("button", name="Approve").click()
    expect(page.get_by_test_id("run-status")).to_contain_text("succeeded", timeout=120_000)


def titles_fit(page: Page) -> list[str]:
    """Far-view titles broken inside a word, or running out of their node (none when all is well)."""
    return page.evaluate("""() => [...document.querySelectorAll('.nbx-far-title')].flatMap((t) => {
        const box = t.closest('.nbx-far-view').getBoundingClientRect();
        const inside = (r) => r.top >= box.top - 1 && r.bottom <= box.bottom + 1 && r.left >= box.left - 1
            && r.right <= box.right + 1;
        return [...t.querySelectorAll('.nbx-word')].flatMap((w) => {
            const range = document.createRange();
            range.selectNodeContents(w);
            const rects = [...range.getClientRects()];
            const lines = new Set(rects.map((q) => Math.round(q.top)));
            return [...(lines.size > 1 ? [`${t.textContent}: "${w.textContent}" broken`] : []),
                    ...(rects.every(inside) ? [] : [`${t.textContent}: "${w.textContent}" out of its node`])];
        });
    })""")
