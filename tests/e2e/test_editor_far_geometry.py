"""Far out, a node is drawn from a computed box (frontend/src/lib/nodeBox.ts), not measured:
for every brick the box and its handles must be where the full node has them up close, or
wires would jump when zooming in and nodes opened far out would be spread by the wrong sizes."""
from __future__ import annotations

import json

import httpx
from playwright.sync_api import Page, expect

GEOMETRY = """() => Object.fromEntries([...document.querySelectorAll('.react-flow__node')].map(n => {
  const r = n.getBoundingClientRect(), zoom = r.width / n.offsetWidth;
  const handles = Object.fromEntries([...n.querySelectorAll('.source, .target')].map(h => {
    const b = h.getBoundingClientRect();
    return [(h.classList.contains('source') ? 'out:' : 'in:') + h.dataset.handleid,
            [(b.left + b.width / 2 - r.left) / zoom, (b.top + b.height / 2 - r.top) / zoom]];
  }));
  return [n.dataset.id, {w: n.offsetWidth, h: n.offsetHeight, far: !!n.querySelector('.nbx-node-far'), handles}];
}))"""


def _doc(bricks: list[dict]) -> dict:
    nodes = [{"id": f"n{i}", "brick": b["id"], "params": {}, "position": {"x": (i % 8) * 500, "y": (i // 8) * 500}}
             for i, b in enumerate(bricks)]
    # A node run once per item shows its list port's type as a list, and says so in its ids line.
    each = next(i for i, b in enumerate(bricks) if b["inputs"])
    nodes.append({**nodes[each], "id": "each-one", "for_each": bricks[each]["inputs"][0]["name"],
                  "label": "A node labelled with a rather long title", "position": {"x": 0, "y": -500}})
    return {"format": "nebhx/graph@1", "name": "far-geometry", "edges": [], "nodes": nodes}


def test_far_boxes_and_handles_match_the_full_nodes_for_every_brick(page: Page, server):
    bricks = [b for b in httpx.get(server + "/api/bricks", timeout=30).json()["bricks"]
              if not b["id"].startswith("composite:")]
    doc = _doc(bricks)
    page.get_by_test_id("tb-import").click()
    page.get_by_test_id("import-text").fill(json.dumps(doc))
    page.get_by_test_id("import-replace").click()
    expect(page.locator(".react-flow__node")).to_have_count(len(doc["nodes"]))
    expect(page.locator(".nbx-node-far")).to_have_count(len(doc["nodes"]))  # it opened far out
    page.wait_for_timeout(300)
    far = page.evaluate(GEOMETRY)
    for _ in range(12):  # up close: every node is drawn in full (on screen or not)
        page.get_by_role("button", name="Zoom In").click()
    expect(page.locator(".nbx-node-far")).to_have_count(0)
    page.wait_for_timeout(300)
    near = page.evaluate(GEOMETRY)
    wrong = []
    for nid, n in near.items():
        f = far[nid]
        assert f["far"] and not n["far"]
        brick = next(d["brick"] for d in doc["nodes"] if d["id"] == nid)
        if f["h"] != n["h"] or abs(f["w"] - n["w"]) > 2:
            wrong.append(f"{nid} ({brick}): far {f['w']}x{f['h']}, near {n['w']}x{n['h']}")
        assert f["handles"].keys() == n["handles"].keys(), nid
        for h, (x, y) in n["handles"].items():
            fx, fy = f["handles"][h]
            # The full node's rows land a few hundredths of a pixel lower each (sub-pixel
            # layout); on the longest node (service.run, 30+ ports) that adds up to 0.7 px.
            # A row off by its height or gap (18 px, 2 px) is still far outside 1 px.
            if abs(fy - y) > 1.0 or abs(fx - x) > 2.6:
                wrong.append(f"{nid} ({brick}) handle {h}: far ({fx:.1f}, {fy:.1f}), near ({x:.1f}, {y:.1f})")
    assert wrong == [], "\n".join(wrong)
