"""The newcomer path, timed: a fresh clone, `./dev up` until the editor answers, then the README's
walkthrough built by hand in the editor (headless Chromium) from the first drop to a green run,
then a canary of the newcomer's own app (not the example app: tests/e2e/shop, its own port,
health path and page) made with New ▾ Canary update of my service, saved, run, approved, green.

    .venv/bin/python bench/newcomer.py [--keep]           # fresh clone and ./dev up, then both
    .venv/bin/python bench/newcomer.py --here [--canary-only]   # `nebhx up` from this checkout

Prints each phase of `./dev up` as its log announces it (creating the venv, installing Python
packages, npm ci, building the editor, the server answering), then each editor path's time and
how many hand actions it took (drops, fields typed, wires, clicks). A fresh clone means a fresh
`.venv` and `node_modules`: the packages come from the registries, so the first phase depends on
the network; `--here` skips it and times the editor paths only.
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "e2e"), str(ROOT / "tests")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _follow(proc: subprocess.Popen, start: float, phases: list[tuple[float, str]], log: Path) -> None:
    """Stamp each `==>` line of ./dev's log with the seconds since the clone started."""
    with open(log, "w", encoding="utf-8") as out:
        for raw in proc.stdout:
            line = raw.decode(errors="replace")
            out.write(line)
            if "==>" in line:
                phases.append((time.monotonic() - start, line.split("==>", 1)[1].strip("\x1b[0m \n")))


def dev_up(clone: Path, home: Path, port: int) -> tuple[subprocess.Popen, float, list[tuple[float, str]]]:
    start = time.monotonic()
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEBHX_", "VIRTUAL_ENV"))}
    env.update(HOME=str(home), NEBHX_HOME=str(home / ".nebhx"), XDG_CONFIG_HOME=str(home / ".config"))
    proc = subprocess.Popen(["./dev", "up", "--port", str(port)], cwd=clone, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    phases: list[tuple[float, str]] = [(0.0, "git clone")]
    threading.Thread(target=_follow, args=(proc, start, phases, home / "dev-up.log"), daemon=True).start()
    url = f"http://127.0.0.1:{port}"
    deadline = start + 1800
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"./dev up exited {proc.returncode}: see {home / 'dev-up.log'}")
        try:
            if httpx.get(url + "/api/health", timeout=2).status_code == 200 and \
                    "<div id=\"root\"" in httpx.get(url + "/", timeout=5).text:
                return proc, time.monotonic() - start, phases
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    sys.exit("./dev up did not answer within 30 minutes")


def _in_browser(url: str, steps) -> float:
    """Seconds `steps(page)` takes on a fresh editor page."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1500, "height": 950}, base_url=url)
        page.goto("/")
        page.get_by_test_id("brick-storage.volume").wait_for()
        start = time.monotonic()
        steps(page)
        took = time.monotonic() - start
        browser.close()
    return took


def walkthrough_in_browser(url: str) -> tuple[float, int]:
    import walkthrough
    took = _in_browser(url, lambda page: walkthrough.save_and_run(page, walkthrough.build(page)))
    actions = sum(1 + len(f) + len(c) for _b, _x, _y, f, c in walkthrough.STEPS) + len(walkthrough.WIRES) + 3
    return took, actions


def canary_in_browser(url: str, work: Path) -> tuple[float, int]:
    """The newcomer's canary of their own app, from opening the New menu to the approved run green."""
    import canary_steps
    source = canary_steps.release(work / "shop-2.0", "2.0")
    service, port = f"shop{os.getpid()}", _free_port()

    sink, _inbox = canary_steps.mail_sink()

    def steps(page) -> None:
        canary_steps.build(page, service=service, source=source, release_id="2.0", port=port)
        canary_steps.save_run_approve(page, {"smtp_port": str(sink.port)})
    try:
        took = _in_browser(url, steps)
    finally:
        sink.stop()
    if httpx.get(f"http://127.0.0.1:{port}/items", timeout=10).json().get("release") != "2.0":
        sys.exit("the canary ran green but the new release does not answer")
    # menu and item, the fields typed, Make; Save; Run and Start; the gate, the Run tab and Approve
    actions = 2 + 4 + len(canary_steps.FIELDS) + 1 + 1 + 2 + 3
    return took, actions


def canary_fields() -> list:
    import canary_steps
    return canary_steps.FIELDS


def up_here(home: Path, port: int) -> subprocess.Popen:
    """`nebhx up` from this checkout (its .venv and built editor), on embedded defaults under `home`."""
    from support import make_env, wait_for
    proc = subprocess.Popen([sys.executable, "-m", "nebhx.cli.main", "up", "--port", str(port)],
                            env=make_env(home), stdout=open(home / "up.log", "wb"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    wait_for(lambda: httpx.get(f"http://127.0.0.1:{port}/api/health").status_code == 200, 120, what="nebhx up")
    return proc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep", action="store_true", help="keep the clone and its home for a look")
    ap.add_argument("--here", action="store_true", help="no fresh clone: nebhx up from this checkout")
    ap.add_argument("--canary-only", action="store_true", help="time the canary of one's own app only")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="nebhx-newcomer-"))
    clone, home, port = work / "nebhx", work / "home", _free_port()
    home.mkdir()
    if args.here:
        proc = up_here(home, port)
    else:
        proc, ready, phases = dev_up(clone, home, port)
    nebhx = (ROOT if args.here else clone) / ".venv" / "bin" / "nebhx"
    try:
        if not args.here:
            for (t, what), nxt in zip(phases, [p[0] for p in phases[1:]] + [ready]):
                print(f"  {t:7.1f} s  {what}  ({nxt - t:.1f} s)")
            print(f"./dev up on a fresh clone to the editor answering: {ready:.1f} s")
        url = f"http://127.0.0.1:{port}"
        if not args.canary_only:
            took, actions = walkthrough_in_browser(url)
            print(f"walkthrough, first drop to a green run (browser automation): {took:.1f} s, "
                  f"{actions} hand actions (drops, fields, wires, name, save, run)")
        took, actions = canary_in_browser(url, work)
        print(f"a canary of one's own app, New menu to the approved run green (browser automation): {took:.1f} s, "
              f"{actions} hand actions (menu, {4 + len(canary_fields())} fields, make, save, run, approve)")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        subprocess.run([str(nebhx), "down"], capture_output=True,
                       env={**os.environ, "NEBHX_HOME": str(home / ".nebhx" if not args.here else home)})
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
