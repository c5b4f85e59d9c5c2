"""Editor render benchmark: open a 500-node, 700-edge graph in headless Chromium.

Prints the time from "Open" to the first full render of the graph, the frame times while
panning, and the gzipped size of the JavaScript the editor loads at first paint.

The page is the built editor (frontend/dist, `npm run build` first); the API is answered
by the script itself (Playwright routes), so only the browser's work is measured.

    .venv/bin/python bench/editor_render.py [--nodes 500 --edges 700] [--screenshot PATH]
    .venv/bin/python bench/editor_render.py --dist DIR --vs OTHER_DIR [--rounds 3]   # a ratio
"""
from __future__ import annotations

import argparse
import gzip
import json
import mimetypes
import random
import re
import statistics
import sys
import time
from pathlib import Path

from playwright.sync_api import Route, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "frontend" / "dist"
BASE = "http://nebhx.bench"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def merge_brick() -> dict:
    obj = {"type": "object", "additionalProperties": True}
    port = lambda name, d, t: {"name": name, "direction": d, "type": t, "required": False,  # noqa: E731
                               "title": name.title(), "description": ""}
    return {"id": "core.merge", "title": "Merge maps", "category": "core", "icon": "", "docs": "Merge.",
            "parent": None, "host_input": None, "source": "bench",
            "inputs": [port("base", "in", "object"), port("override", "in", "object"),
                       port("more", "in", "object[]")],
            "outputs": [port("result", "out", "object")],
            "inputs_schema": {"type": "object", "properties": {"base": obj, "override": obj,
                                                               "more": {"type": "array", "items": obj}}},
            "outputs_schema": {"type": "object", "properties": {"result": obj}}}


def make_graph(n_nodes: int, n_edges: int, seed: int = 7) -> dict:
    """Layers of core.merge nodes; each edge feeds `base` or `override` from the layer before."""
    rng = random.Random(seed)
    per_layer = 50
    nodes, layers = [], []
    for i in range(n_nodes):
        layer, row = divmod(i, per_layer)
        if layer == len(layers):
            layers.append([])
        nid = f"m{i}"
        layers[layer].append(nid)
        nodes.append({"id": nid, "brick": "core.merge", "params": {},
                      "position": {"x": layer * 320, "y": row * 150}})
    slots = [(nid, port, li) for li, layer in enumerate(layers[1:], 1)
             for port in ("base", "override") for nid in layer]
    slots.sort(key=lambda s: s[1] != "base")  # every node gets a base before any gets an override
    edges = [{"from": {"node": rng.choice(layers[li - 1]), "port": "result"}, "to": {"node": nid, "port": port}}
             for nid, port, li in slots[:n_edges]]
    return {"format": "nebhx/graph@1", "name": f"bench {n_nodes}x{len(edges)}", "description": "",
            "inputs": [], "outputs": [], "nodes": nodes, "edges": edges, "meta": {}}


def set_dist(path: Path) -> None:
    global DIST
    DIST = path


def initial_js_gzip() -> tuple[int, int, dict[str, int]]:
    """(raw, gzipped) bytes of the scripts index.html loads, and the lazy chunks' gzipped sizes."""
    html = (DIST / "index.html").read_text()
    first = set(re.findall(r'(?:src|href)="/?(assets/[^"]+\.js)"', html))
    raw = gz = 0
    lazy = {}
    for f in sorted((DIST / "assets").glob("*.js")):
        rel = f"assets/{f.name}"
        data = f.read_bytes()
        size = len(gzip.compress(data, 9))
        if rel in first:
            raw += len(data)
            gz += size
        else:
            lazy[f.name] = size
    return raw, gz, lazy


def serve(graph: dict):
    palette = {"bricks": [merge_brick()], "errors": [],
               "type_parents": {"VolumeUrl": "Url", "Url": "string", "Address": "string",
                                "HostRef": "string", "integer": "number"}}
    api = {
        # The editor asks who is signed in first: the open, single-user mode (no login page).
        "/api/auth/me": {"user": "local", "role": "admin", "auth": "open", "csrf": None},
        "/api/bricks": palette,
        "/api/graphs": [{"id": "g1", "name": graph["name"], "latest_revision": 1,
                         "updated_at": "2026-01-01T00:00:00Z"}],
        "/api/graphs/g1": {"id": "g1", "name": graph["name"], "latest_revision": 1,
                           "revisions": [{"number": 1, "created_at": "2026-01-01T00:00:00Z"}]},
        "/api/graphs/g1/revisions/1": graph,
        "/api/graphs/validate": {"ok": True, "problems": []},
        "/api/graphs/problems": {"ok": True, "problems": []},
        "/api/runs": [],
    }

    def handle(route: Route) -> None:
        path = route.request.url[len(BASE):].split("?")[0]
        if path in api:
            return route.fulfill(status=200, content_type="application/json", body=json.dumps(api[path]))
        if path.startswith("/api/"):
            return route.fulfill(status=404, content_type="application/json", body='{"detail":"not found"}')
        f = DIST / path.lstrip("/")
        if not f.is_file():
            f = DIST / "index.html"
        ctype = mimetypes.guess_type(f.name)[0] or "application/octet-stream"
        route.fulfill(status=200, content_type=ctype, body=f.read_bytes())
    return handle


FRAME_PROBE = """() => { window.__frames = new Promise((resolve) => {
  const times = []; let last = performance.now(); let stop = false;
  const tick = (t) => { times.push(t - last); last = t; if (!stop) requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
  window.__stopFrames = () => { stop = true; resolve(times.slice(1)); };
}); }"""


def measure(args, graph: dict) -> dict:
    """One browser, one open of the graph, one pan: the figures of the build in DIST."""
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.on("console", lambda m: m.type in ("error", "warning") and errors.append(m.text))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.route(f"{BASE}/**", serve(graph))
        t0 = time.perf_counter()
        page.goto(f"{BASE}/")
        page.get_by_test_id("brick-core.merge").wait_for()
        boot_ms = (time.perf_counter() - t0) * 1000
        render_ms = open_graph(page, browser, args, graph)
        page.wait_for_timeout(500)  # let the fit-view animation end
        shown = page.evaluate("() => [document.querySelectorAll('.react-flow__node').length,"
                              " document.querySelectorAll('.react-flow__edge').length]")
        times, panned = pan(page)
        if args.screenshot:
            Path(args.screenshot).parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=args.screenshot)
        browser.close()
    return {"boot_ms": boot_ms, "render_ms": render_ms, "shown": shown, "times": sorted(times),
            "panned": panned, "errors": errors}


def open_graph(page, browser, args, graph: dict) -> float:
    """Milliseconds from the click on "Open latest" to the graph drawn (every node shown, wires too)."""
    page.get_by_test_id("tb-open").click()
    page.get_by_test_id("graph-list").get_by_text(graph["name"]).click()
    button = page.get_by_role("button", name=re.compile("Open latest"))
    button.wait_for()
    # Time from the click itself (not from Playwright's checks before it).
    page.evaluate("() => document.addEventListener('click', () => { window.__t0 = performance.now(); },"
                  " { capture: true, once: true })")
    cdp = page.context.new_cdp_session(page) if args.profile else None
    if args.trace:
        browser.start_tracing(page=page, path=args.trace, categories=["devtools.timeline", "blink", "cc"])
    if cdp:
        cdp.send("Profiler.enable")
        cdp.send("Profiler.setSamplingInterval", {"interval": 200})
        cdp.send("Profiler.start")
    button.click()
    render_ms = page.evaluate("""(n) => new Promise((resolve) => {
      const check = () => {
        const shown = document.querySelectorAll('.react-flow__node:not([style*="visibility: hidden"])').length;
        const paths = document.querySelectorAll('.react-flow__edge path').length;
        if (shown >= n && paths > 0) requestAnimationFrame(() => requestAnimationFrame(
          () => resolve(performance.now() - window.__t0)));
        else requestAnimationFrame(check);
      };
      check();
    })""", args.nodes)
    if args.trace:
        browser.stop_tracing()
    if cdp:
        Path(args.profile).write_text(json.dumps(cdp.send("Profiler.stop")["profile"]))
    return render_ms


def pan(page) -> tuple[list[float], bool]:
    """Frame times while the empty pane left of the graph is dragged about; and whether the view moved."""
    box = page.locator(".react-flow__pane").bounding_box()
    cx, cy = box["x"] + 40, box["y"] + box["height"] / 2
    transform = "() => document.querySelector('.react-flow__viewport').style.transform"
    before = page.evaluate(transform)
    page.evaluate(FRAME_PROBE)
    page.mouse.move(cx, cy)
    page.mouse.down()
    for i in range(120):
        dx = 150 * (1 if (i // 30) % 2 == 0 else -1)
        page.mouse.move(cx + dx * ((i % 30) / 30), cy + 60 * ((i % 30) / 30), steps=1)
    page.mouse.up()
    times = [t for t in page.evaluate("() => { window.__stopFrames(); return window.__frames; }") if t > 0]
    return times, page.evaluate(transform) != before


def report(m: dict, n_nodes: int, n_edges: int) -> None:
    times = m["times"]
    print(f"graph: {n_nodes} nodes, {n_edges} edges (rendered {m['shown'][0]} nodes, {m['shown'][1]} edges)")
    print(f"editor boot (page load to palette shown): {m['boot_ms']:.0f} ms")
    print(f"time to first full render of the graph: {m['render_ms']:.0f} ms (goal < 1000 ms)")
    if times:
        p95 = times[int(len(times) * 0.95) - 1] if len(times) > 1 else times[0]
        print(f"frame time while panning: median {statistics.median(times):.1f} ms, p95 {p95:.1f} ms,"
              f" max {times[-1]:.1f} ms over {len(times)} frames{'' if m['panned'] else ' (the view did not move!)'}")
    if m["errors"]:
        print("browser console errors/warnings:\n  " + "\n  ".join(m["errors"][:10]))


def compare(args, graph: dict) -> int:
    """Alternate this build and the one in --vs, round by round: on a noisy machine only ratios hold."""
    builds = {"this": Path(args.dist), "vs": Path(args.vs)}
    got: dict[str, list[dict]] = {k: [] for k in builds}
    for r in range(args.rounds):
        for name, dist in builds.items():
            set_dist(dist)
            m = measure(args, graph)
            got[name].append(m)
            print(f"round {r + 1} {name:4s} render {m['render_ms']:6.0f} ms, pan median "
                  f"{statistics.median(m['times']):.1f} ms" + (" (console errors)" if m["errors"] else ""))
    med = {k: statistics.median(x["render_ms"] for x in v) for k, v in got.items()}
    pans = {k: statistics.median(statistics.median(x["times"]) for x in v) for k, v in got.items()}
    print(f"first full render, median of {args.rounds}: {med['this']:.0f} ms ({args.dist}) vs {med['vs']:.0f} ms"
          f" ({args.vs}): ratio {med['this'] / med['vs']:.2f}")
    print(f"panning frame, median: {pans['this']:.1f} ms vs {pans['vs']:.1f} ms")
    return 1 if any(m["errors"] for m in got["this"]) else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nodes", type=int, default=500)
    ap.add_argument("--edges", type=int, default=700)
    ap.add_argument("--screenshot", default="")
    ap.add_argument("--dist", default=str(DIST), help="a built editor to measure (default frontend/dist)")
    ap.add_argument("--vs", default="", help="another build to compare with, alternating runs (prints the ratio)")
    ap.add_argument("--rounds", type=int, default=3, help="runs of each build with --vs")
    ap.add_argument("--trace", default="", help="write a Chrome trace of the render (.json)")
    ap.add_argument("--profile", default="", help="write a CPU profile of the render (.cpuprofile)")
    args = ap.parse_args()
    for d in filter(None, [args.dist, args.vs]):
        if not (Path(d) / "index.html").exists():
            print(f"{d}/index.html is missing: run `npm --prefix frontend run build`", file=sys.stderr)
            return 2
    graph = make_graph(args.nodes, args.edges)
    if args.vs:
        return compare(args, graph)
    set_dist(Path(args.dist))
    m = measure(args, graph)
    report(m, args.nodes, len(graph["edges"]))
    raw, gz, lazy = initial_js_gzip()
    print(f"initial JS bundle: {raw / 1024:.0f} kB raw, {gz / 1024:.1f} kB gzipped (target < 400 kB)")
    print("lazy chunks (gzipped): " + ", ".join(f"{k} {v / 1024:.1f} kB" for k, v in lazy.items()))
    # Fails on what is wrong on any machine (console errors, a render over 2 s, a heavy bundle), not
    # on the 1 s goal, which only a quiet machine can show (compare with --vs there).
    return 0 if m["render_ms"] < 2000 and gz < 400 * 1024 and not m["errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
