"""Editing comfort: validation on the canvas, history, clipboard, layout, revisions, theme."""
from __future__ import annotations

import json
import re

from playwright.sync_api import expect

from browser_steps import drop_brick, node, node_ids, save, select, set_param, wire


def test_problems_show_on_the_node_and_a_click_focuses_it(page):
    e = drop_brick(page, "test.echo", 300, 200)
    expect(page.get_by_test_id("problem-count")).to_have_text("1 problem")
    expect(page.get_by_test_id("port-in-text")).to_have_class(re.compile("nbx-port-bad"))
    page.get_by_test_id("problem-count").click()
    page.get_by_test_id("problem").first.click()
    expect(node(page, e).locator("xpath=..")).to_have_class(re.compile("selected"))
    set_param(page, e, "text", "fixed")
    expect(page.get_by_test_id("problem-count")).to_have_text("valid")


def test_undo_redo_copy_paste_delete_and_layout(page):
    a = drop_brick(page, "test.noop", 150, 150)
    b = drop_brick(page, "test.echo", 500, 150)
    wire(page, a, "value", b, "text")
    page.wait_for_timeout(400)  # one history step per still moment
    select(page, b)
    page.keyboard.press("Delete")
    expect(page.locator(".react-flow__node")).to_have_count(1)
    expect(page.locator(".react-flow__edge")).to_have_count(0)
    page.wait_for_timeout(400)
    page.keyboard.press("Control+z")
    expect(page.locator(".react-flow__node")).to_have_count(2)
    expect(page.locator(".react-flow__edge")).to_have_count(1)
    page.keyboard.press("Control+Shift+z")
    expect(page.locator(".react-flow__node")).to_have_count(1)
    page.keyboard.press("Control+z")
    expect(page.locator(".react-flow__node")).to_have_count(2)
    page.keyboard.press("Control+a")
    page.keyboard.press("Control+c")
    page.keyboard.press("Control+v")
    expect(page.locator(".react-flow__node")).to_have_count(4)
    expect(page.locator(".react-flow__edge")).to_have_count(2)
    assert sorted(node_ids(page)) == sorted([a, b, "noop_2", "echo_2"])
    page.get_by_test_id("tb-layout").click()
    page.wait_for_timeout(500)
    page.keyboard.press("?")
    expect(page.get_by_role("dialog")).to_contain_text("Keyboard shortcuts")
    page.keyboard.press("Escape")


def test_revisions_open_read_only_and_palette_reloads(page):
    e = drop_brick(page, "test.echo", 300, 200)
    set_param(page, e, "text", "first")
    save(page)
    set_param(page, e, "text", "second")
    save(page)
    page.get_by_test_id("tb-open").click()
    page.get_by_test_id("graph-list").locator(".list-group-item").first.click()
    page.get_by_test_id("revision-list").get_by_text("revision 1").click()
    expect(page.get_by_test_id("graph-title")).to_contain_text("read-only")
    select(page, e)
    expect(page.get_by_test_id("node-panel").locator("#root_text")).to_have_value("first")
    expect(page.get_by_test_id("node-panel").locator("#root_text")).to_be_disabled()
    page.get_by_test_id("tb-edit-latest").click()
    expect(page.get_by_test_id("revision")).to_have_text("rev 2")



NEW_BRICK = '''
from nebhx import Brick, Context, Ports


class Shout(Brick):
    """Says its text louder."""

    id = "e2e.shout"
    category = "e2e"

    class Inputs(Ports):
        text: str

    class Outputs(Ports):
        text: str

    def run(self, ctx: Context, inputs: Inputs) -> Outputs:
        return self.Outputs(text=inputs.text.upper())
'''


def test_a_brick_added_on_the_server_appears_after_a_palette_reload(page, extra_blocks):
    expect(page.get_by_test_id("brick-e2e.shout")).to_have_count(0)
    (extra_blocks / "shout.py").write_text(NEW_BRICK)
    page.get_by_label("Reload palette").click()
    expect(page.get_by_test_id("toast").filter(has_text="Palette reloaded")).to_be_visible()
    expect(page.get_by_test_id("brick-e2e.shout")).to_be_visible()
    page.get_by_label("Search bricks").fill("louder")
    expect(page.locator(".nbx-brick")).to_have_count(1)
    drop_brick(page, "e2e.shout", 300, 200)


def test_dark_theme_follows_the_system(browser, server):
    context = browser.new_context(color_scheme="dark", base_url=server)
    pg = context.new_page()
    pg.goto("/")
    expect(pg.locator("html")).to_have_attribute("data-bs-theme", "dark")
    context.close()


def test_secret_input_is_stored_write_only_and_exported_as_a_reference(page):
    s = drop_brick(page, "core.share_settings", 300, 150)
    select(page, s)
    page.get_by_role("tab", name="Node").click()
    login = page.get_by_test_id("node-panel").locator("#root_login")
    login.press_sequentially("operator", delay=20)  # typed key by key, as a person does
    expect(login).to_have_value("operator")
    field = page.get_by_test_id("secret-password")
    field.get_by_label("password").fill("hunter2")
    field.get_by_role("button", name="Store").click()
    expect(field).to_contain_text("uses stored secret")
    expect(field.get_by_label("password")).to_have_value("")
    with page.expect_download() as info:
        page.get_by_test_id("tb-export").click()
    text = open(info.value.path(), encoding="utf-8").read()
    assert "hunter2" not in text
    params = next(n for n in json.loads(text)["nodes"] if n["id"] == s)["params"]
    assert params == {"login": "operator", "password": {"$secret": f"untitled.{s}.password"}}
