"""The README's walkthrough, done by hand in the editor: a volume, a release, a config, a
service, a check and an e-mail, wired, saved and run on host `local`.

Shared by `test_editor_walkthrough.py` (it must run green) and `bench/newcomer.py` (it times it).
"""
from __future__ import annotations

from playwright.sync_api import Page, expect

from browser_steps import drop_brick, run, save, wait_status, wire

PORT = 8120  # not one the examples use (8100-8103, 8110)
PROFILES = """hello:
  values:
    greeting: hello from my first graph
    color: teal
    instance: one
  templates:
    app.json: '{"greeting": {{ greeting | tojson }}, "instance": {{ instance | tojson }}, "color": {{ color | tojson }}}'
"""
COMMAND = "python3 {release}/webapp.py --host 0.0.0.0 --port {port} --config {config}/app.json --data {data}"
# (brick, x, y, {field: text}, {field: yaml for a code field}): what the README tells a person to fill
STEPS = [
    ("storage.volume", 20, 20, {"host": "local", "name": "hello-data"}, {}),
    ("release.stage", 20, 150, {"host": "local", "service": "hello", "source": "examples/app"}, {}),
    ("release.switch", 260, 20, {"host": "local", "service": "hello"}, {}),
    ("config.render", 20, 370, {"host": "local", "service": "hello", "profile": "hello"}, {"profiles": PROFILES}),
    ("service.run", 260, 130, {"host": "local", "service": "hello", "command": COMMAND, "port": str(PORT),
                               "ready_http": "/health"}, {}),
    ("core.url", 500, 20, {"path": "/"}, {}),
    ("check.http", 500, 130, {"host": "local", "contains": "hello from my first graph"}, {}),
    ("notify.email", 260, 440, {"sender": "nebhx@example.org", "subject": "hello is live"},
     {"to": "- you@example.org\n"}),
]
WIRES = [  # (from step, port, to step, port); None ports: an order-only wire
    (1, "release", 2, "release"), (2, "path", 4, "release_path"), (3, "path", 4, "config_path"),
    (0, "path", 4, "data_path"), (4, "address", 5, "address"), (5, "url", 6, "url"),
    (6, "__order_out", 7, "__order_in"),
]


def _code(page: Page, field: str, text: str) -> None:
    editor = page.get_by_test_id("node-panel").get_by_test_id(f"field-root_{field}").locator(".cm-content")
    editor.click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(text)


def build(page: Page) -> list[str]:
    """Drop, fill and wire the walkthrough's bricks; returns the node ids in STEPS order."""
    for _ in range(2):  # zoomed out a little (0.69), the eight nodes fit side by side
        page.locator(".react-flow__controls-zoomout").click()
    ids = []
    for brick, x, y, fields, code in STEPS:
        ids.append(drop_brick(page, brick, x, y))  # a dropped node is selected: its form shows
        panel = page.get_by_test_id("node-panel")
        for field, value in fields.items():
            panel.locator(f"#root_{field}").fill(value)
        for field, value in code.items():
            _code(page, field, value)
    for a, out, b, inp in WIRES:
        wire(page, ids[a], out, ids[b], inp)
    expect(page.locator(".react-flow__edge")).to_have_count(len(WIRES))
    expect(page.get_by_test_id("problem-count")).to_have_text("valid")
    return ids


def save_and_run(page: Page, ids: list[str], name: str = "hello") -> None:
    page.get_by_role("tab", name="Graph").click()
    page.get_by_label("Graph name").fill(name)
    save(page)
    run(page)
    for node_id in ids:
        wait_status(page, node_id, "succeeded", timeout=90_000)
    expect(page.get_by_test_id("run-status")).to_have_text("succeeded", timeout=15_000)
