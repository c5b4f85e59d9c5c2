"""What a person does in the editor, as small steps for the end-to-end tests."""
from __future__ import annotations

import re

from playwright.sync_api import Locator, Page, expect


def drop_brick(page: Page, brick: str, x: int, y: int) -> str:
    """Drag a brick from the palette to (x, y) of the canvas; returns the new node's id.

    The browser's own drag events carry it (dragstart on the palette item, dragover and drop on
    the canvas), dispatched to the elements rather than by moving the mouse: under load a pressed
    pointer sometimes started the drag on the neighbouring item (Stop service for Run service)."""
    before = set(node_ids(page))
    item = page.get_by_test_id(f"brick-{brick}")
    item.scroll_into_view_if_needed()
    pane = page.locator(".react-flow__pane")
    box = pane.bounding_box()
    at = {"clientX": box["x"] + x, "clientY": box["y"] + y, "bubbles": True, "cancelable": True}
    data = page.evaluate_handle("() => new DataTransfer()")
    item.dispatch_event("dragstart", {"dataTransfer": data, "bubbles": True})
    pane.dispatch_event("dragover", {**at, "dataTransfer": data})
    pane.dispatch_event("drop", {**at, "dataTransfer": data})
    item.dispatch_event("dragend", {"dataTransfer": data, "bubbles": True})
    expect(page.locator(".react-flow__node")).to_have_count(len(before) + 1)
    (new,) = set(node_ids(page)) - before
    expect(node(page, new).locator(".nbx-node-ids code").first).to_have_text(brick)
    return new


def node_ids(page: Page) -> list[str]:
    return page.locator(".react-flow__node").evaluate_all("els => els.map(e => e.dataset.id)")


def node(page: Page, node_id: str) -> Locator:
    return page.get_by_test_id(f"node-{node_id}")


def handle(page: Page, node_id: str, port: str, side: str) -> Locator:
    kind = "source" if side == "out" else "target"
    return node(page, node_id).locator(f'.react-flow__handle.{kind}[data-handleid="{port}"]')


def wire(page: Page, src: str, out: str, dst: str, inp: str) -> None:
    a = handle(page, src, out, "out").bounding_box()
    b = handle(page, dst, inp, "in").bounding_box()
    page.mouse.move(a["x"] + a["width"] / 2, a["y"] + a["height"] / 2)
    page.mouse.down()
    page.mouse.move(b["x"] + b["width"] / 2, b["y"] + b["height"] / 2, steps=12)
    page.mouse.up()


def select(page: Page, node_id: str) -> None:
    node(page, node_id).locator(".nbx-node-ids").click()


def set_param(page: Page, node_id: str, field: str, value: str) -> None:
    select(page, node_id)
    page.get_by_role("tab", name="Node").click()
    box = page.get_by_test_id("node-panel").locator(f"#root_{field}")
    box.fill(value)


def save(page: Page) -> None:
    page.get_by_test_id("tb-save").click()
    expect(page.get_by_test_id("toast").filter(has_text=re.compile("Saved revision")).last).to_be_visible()


def run(page: Page) -> None:
    page.get_by_test_id("tb-run").click()
    expect(page.get_by_test_id("run-status")).to_be_visible()


def wait_status(page: Page, node_id: str, status: str, timeout: float = 30_000) -> None:
    expect(node(page, node_id)).to_have_attribute("data-status", status, timeout=timeout)


def discard_changes(page: Page) -> None:
    """Answer "Discard changes" when New, Open or Import would replace unsaved work."""
    dialog = page.get_by_test_id("confirm-leave")
    dialog.get_by_role("button", name="Discard changes").click()
    expect(dialog).to_be_hidden()
