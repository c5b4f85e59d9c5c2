"""A new user's first hour: forms filled by hand, nothing scrolls sideways, work is never lost,
and a failed node stays visible zoomed out."""
from __future__ import annotations

import json

import httpx
from playwright.sync_api import Page, expect

from browser_steps import drop_brick, node, run, save, wait_status
from support import ROOT

ARTIFACTS = ROOT / "test-artifacts"


def _panel(page: Page):
    return page.get_by_test_id("node-panel")


def _code(page: Page, field: str, text: str) -> None:
    """Replace what a code field holds, as if typed (CodeMirror would re-indent typed newlines)."""
    editor = _panel(page).get_by_test_id(f"field-root_{field}").locator(".cm-content")
    editor.click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(text)


def _no_sideways_scroll(page: Page) -> None:
    widths = page.evaluate("""() => [...document.querySelectorAll('html, .nbx-side, .nbx-side *')]
        .filter(e => getComputedStyle(e).overflowX !== 'hidden' && e.scrollWidth > e.clientWidth + 1
                     && !e.closest('.cm-scroller'))
        .map(e => (e.id ? "#" + e.id + " " : "") + e.tagName + '.' + e.className + ' ' + e.scrollWidth + '>' + e.clientWidth)""")
    assert widths == [], "\n".join(widths)
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280


def _export(page: Page) -> dict:
    with page.expect_download() as info:
        page.get_by_test_id("tb-export").click()
    return json.loads(open(info.value.path(), encoding="utf-8").read())


def _fill_render_config(page: Page) -> str:
    render = drop_brick(page, "config.render", 250, 120)
    panel = _panel(page)
    expect(panel.locator("label[for=root_profiles]")).to_have_text("Profiles*")
    expect(panel.locator("label[for=root_cluster]")).to_have_text("Cluster")
    expect(panel).not_to_contain_text("option 1")
    panel.locator("#root_host").fill("web1")
    panel.locator("#root_service").fill("shop")
    panel.locator("#root_profile").fill("web")
    _code(page, "profiles", "web:\n  values: {port: [80")
    expect(panel.get_by_test_id("field-root_profiles")).to_contain_text("keeps its last valid value")
    _code(page, "profiles", "web:\n  parents: [linux]\n  values:\n    port: 8080\nlinux:\n  values: {}\n")
    expect(panel.get_by_test_id("field-root_profiles").locator(".invalid-feedback")).to_have_count(0)
    return render


def test_forms_filled_by_hand_fit_and_work_is_never_lost(page: Page):
    page.set_viewport_size({"width": 1280, "height": 800})
    ARTIFACTS.mkdir(exist_ok=True)
    render = _fill_render_config(page)
    _no_sideways_scroll(page)
    page.screenshot(path=str(ARTIFACTS / "first-hour-render-config.png"))

    svc = drop_brick(page, "service.run", 250, 420)
    panel = _panel(page)
    panel.locator("#root_host").fill("web1")
    panel.locator("#root_service").fill("shop")
    panel.locator("#root_command").fill("shop-server --port {port}")
    env = panel.get_by_test_id("field-root_env")
    env.get_by_role("button", name="+ Add env entry").click()
    env.get_by_label("Env key 1").fill("LOG_LEVEL")
    env.get_by_label("Env value 1").fill("debug")
    env.get_by_role("button", name="+ Add env entry").click()
    env.get_by_label("Env key 2").fill("WORKERS")
    env.get_by_label("Env value 2").fill("4")
    expect(panel.locator("#root_port")).to_have_value("")  # optional: left empty, not set
    _no_sideways_scroll(page)
    page.screenshot(path=str(ARTIFACTS / "first-hour-service-run.png"))

    names = drop_brick(page, "config.profiles", 520, 60)
    _code(page, "names", '- web\n- "db"\n')
    _no_sideways_scroll(page)
    _panel(page).screenshot(path=str(ARTIFACTS / "first-hour-list-panel.png"))
    page.wait_for_timeout(400)

    params = {n["id"]: n["params"] for n in _export(page)["nodes"]}
    assert params[render] == {"host": "web1", "service": "shop", "profile": "web",
                              "profiles": {"web": {"parents": ["linux"], "values": {"port": 8080}},
                                           "linux": {"values": {}}}}
    assert params[svc] == {"host": "web1", "service": "shop", "command": "shop-server --port {port}",
                           "env": {"LOG_LEVEL": "debug", "WORKERS": "4"}}
    assert params[names] == {"names": ["web", "db"]}

    # New with unsaved work asks first; Cancel keeps the graph.
    page.get_by_test_id("tb-new").click()
    dialog = page.get_by_test_id("confirm-leave")
    expect(dialog).to_contain_text("has changes that are not saved")
    page.wait_for_timeout(400)  # the modal's fade-in
    page.screenshot(path=str(ARTIFACTS / "first-hour-confirm-new.png"))
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    expect(page.locator(".react-flow__node")).to_have_count(3)

    # A reload (the browser asks first) offers the unsaved graph back.
    page.on("dialog", lambda d: d.accept())
    page.reload()
    restore = page.get_by_test_id("restore-draft")
    expect(restore).to_contain_text("Restore unsaved graph 'untitled'?")
    page.wait_for_timeout(400)
    page.screenshot(path=str(ARTIFACTS / "first-hour-restore.png"))
    restore.get_by_role("button", name="Restore").click()
    expect(page.locator(".react-flow__node")).to_have_count(3)
    expect(page.get_by_test_id("graph-title")).to_contain_text("•")
    page.wait_for_timeout(400)
    assert {n["id"]: n["params"] for n in _export(page)["nodes"]} == params


def test_selecting_is_not_an_edit_and_a_failed_node_shows_zoomed_out(page: Page):
    doc = {"format": "nebhx/graph@1", "name": "first-hour-far", "nodes": [
        {"id": f"e{i}", "brick": "test.echo", "params": {"text": str(i)},
         "position": {"x": (i % 6) * 420, "y": (i // 6) * 320}} for i in range(22)
    ] + [{"id": "boom", "brick": "test.fail", "params": {"message": "boom"}, "position": {"x": 6 * 420, "y": 0}}],
        "edges": []}
    page.get_by_test_id("tb-import").click()
    page.get_by_test_id("import-text").fill(json.dumps(doc))
    page.get_by_test_id("import-replace").click()
    expect(page.locator(".react-flow__node")).to_have_count(23)
    save(page)
    expect(page.get_by_test_id("graph-title")).not_to_contain_text("•")
    page.get_by_test_id("tb-fit").click()
    page.wait_for_timeout(400)
    node(page, "e3").click()
    expect(page.get_by_test_id("node-panel")).to_be_visible()
    page.wait_for_timeout(500)
    expect(page.get_by_test_id("graph-title")).not_to_contain_text("•")
    expect(page.get_by_test_id("tb-undo")).to_be_disabled()
    run(page)
    wait_status(page, "boom", "failed")
    page.get_by_test_id("tb-fit").click()
    page.wait_for_timeout(500)
    far = node(page, "boom").get_by_test_id("far-view")
    expect(far).to_be_visible()
    assert page.evaluate("getComputedStyle(document.querySelector('[data-testid=node-boom] .nbx-far-view'))"
                         ".backgroundColor") == "rgb(220, 53, 69)"
    on_screen = ("e => parseFloat(getComputedStyle(e.querySelector('.nbx-far-title')).fontSize)"
                 " * e.getBoundingClientRect().width / e.offsetWidth")
    size = far.evaluate(on_screen)
    assert size >= 12, f"the title is {size:.1f} px on screen"
    assert node(page, "e3").get_by_test_id("far-view").evaluate(on_screen) >= 9  # a short node: less room
    page.screenshot(path=str(ARTIFACTS / "first-hour-failed-zoomed-out.png"))


def test_no_brick_form_scrolls_sideways_at_1280(page: Page, server):
    bricks = [b for b in httpx.get(server + "/api/bricks", timeout=30).json()["bricks"]
              if not b["id"].startswith("composite:")]
    doc = {"format": "nebhx/graph@1", "name": "every-brick", "edges": [], "nodes": [
        {"id": f"n{i}", "brick": b["id"], "params": {}, "position": {"x": (i % 8) * 400, "y": (i // 8) * 700}}
        for i, b in enumerate(bricks)]}
    page.set_viewport_size({"width": 1280, "height": 800})
    page.get_by_test_id("tb-import").click()
    page.get_by_test_id("import-text").fill(json.dumps(doc))
    page.get_by_test_id("import-replace").click()
    expect(page.locator(".react-flow__node")).to_have_count(len(bricks))
    page.wait_for_timeout(500)
    for i, b in enumerate(bricks):
        node(page, f"n{i}").dispatch_event("click")  # selects it, wherever it is on the canvas
        expect(page.get_by_test_id("node-panel")).to_contain_text(f"node n{i}")
        page.wait_for_timeout(150)  # lazy fields
        try:
            _no_sideways_scroll(page)
        except AssertionError as e:
            raise AssertionError(f"{b['id']}: {e}") from None
        expect(page.get_by_test_id("node-panel")).not_to_contain_text("option 1")
