"""The newcomer path, timed: a fresh clone, `./dev up` until the editor answers, then the README's
walkthrough built by hand in the editor (headless Chromium) from the first drop to a green run.

    .venv/bin/python bench/newcomer.py [--keep]

Prints each phase of `./dev up` as its log announces it (creating the venv, installing Python
packages, npm ci, building the editor, the server answering), then the walkthrough's time and how
many hand actions it took (drops, fields typed, wires). A fresh clone means a fresh `.venv` and
`node_modules`: the packages come from the registries, so the first phase depends on the network.
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


def walkthrough_in_browser(url: str) -> tuple[float, int]:
    from playwright.sync_api import sync_playwright

    import walkthrough
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1500, "height": 950}, base_url=url)
        page.goto("/")
        page.get_by_test_id("brick-storage.volume").wait_for()
        start = time.monotonic()
        ids = walkthrough.build(page)
        walkthrough.save_and_run(page, ids)
        took = time.monotonic() - start
        browser.close()
    actions = sum(1 + len(f) + len(c) for _b, _x, _y, f, c in walkthrough.STEPS) + len(walkthrough.WIRES) + 3
    return took, actions


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep", action="store_true", help="keep the clone and its home for a look")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="nebhx-newcomer-"))
    clone, home, port = work / "nebhx", work / "home", _free_port()
    home.mkdir()
    proc, ready, phases = dev_up(clone, home, port)
    try:
        for (t, what), nxt in zip(phases, [p[0] for p in phases[1:]] + [ready]):
            print(f"  {t:7.1f} s  {what}  ({nxt - t:.1f} s)")
        print(f"./dev up on a fresh clone to the editor answering: {ready:.1f} s")
        took, actions = walkthrough_in_browser(f"http://127.0.0.1:{port}")
        print(f"walkthrough, first drop to a green run (browser automation): {took:.1f} s, "
              f"{actions} hand actions (drops, fields, wires, name, save, run)")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        subprocess.run([str(clone / ".venv" / "bin" / "nebhx"), "down"], capture_output=True,
                       env={**os.environ, "NEBHX_HOME": str(home / ".nebhx")})
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
