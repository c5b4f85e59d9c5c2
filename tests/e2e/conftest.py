"""End-to-end fixtures: the real server (API + scheduler + worker) on Redis, and headless Chromium.

The browser fails a test on any console error or warning.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from support import ROOT, TEST_BLOCKS, free_port, make_env, start_redis, stop_daemons, wait_for

CHROMIUM = os.environ.get("NEBHX_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
DIST = ROOT / "frontend" / "dist"


def _build_editor() -> None:
    if (DIST / "index.html").exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("frontend/dist is missing and npm is not installed: build the editor first")
    subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=ROOT / "frontend", check=True)
    subprocess.run([npm, "run", "build"], cwd=ROOT / "frontend", check=True)


@pytest.fixture(scope="session")
def editor_built() -> Path:
    _build_editor()
    return DIST


@pytest.fixture(scope="session")
def extra_blocks(tmp_path_factory) -> Path:
    """A brick folder the server reads on palette reload: tests add bricks to it while it runs."""
    return tmp_path_factory.mktemp("e2e-blocks")


@pytest.fixture(scope="session")
def server(tmp_path_factory, extra_blocks):
    """`nebhx up` with a private Redis as broker; yields the base URL."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    _build_editor()
    redis, broker = start_redis()
    home = tmp_path_factory.mktemp("e2e-home")
    port = free_port()
    # A mail sink of its own: `nebhx up` stops when its sink's port is taken, and 2525 (the
    # default) may be any other server's on a shared machine.
    env = make_env(home, broker_url=broker, NEBHX_MAIL_SINK=f"127.0.0.1:{free_port()}")
    env["NEBHX_BLOCKS_PATH"] = os.pathsep.join([str(TEST_BLOCKS), str(extra_blocks)])
    log = open(home / "up.log", "ab")
    proc = subprocess.Popen([sys.executable, "-m", "nebhx.cli.main", "up", "--port", str(port)], env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: httpx.get(url + "/api/health").status_code == 200, 60, what="nebhx up")
        yield url
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        stop_daemons(home)  # the apps, supervisord and HAProxy the examples started hold fixed ports
        redis.terminate()
        redis.wait(timeout=10)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _network_changed(text: str) -> bool:
    """Chromium drops its requests in flight when this machine's interfaces change: the other
    lanes make namespaces, bridges and veths. The editor asks for a lost chunk again
    (src/lib/retryImport.ts); the dropped request's console line is this machine's, not the app's."""
    return "net::ERR_NETWORK_CHANGED" in text


@pytest.fixture
def page(browser, server, tmp_path):
    """A fresh editor page; the test fails on any console error or warning."""
    context = browser.new_context(viewport={"width": 1500, "height": 950}, accept_downloads=True,
                                  base_url=server)
    pg = context.new_page()
    problems: list[str] = []
    pg.on("console", lambda m: m.type in ("error", "warning") and not _network_changed(m.text)
          and problems.append(f"{m.type}: {m.text} ({m.location.get('url')})"))
    pg.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    pg.goto("/")
    pg.get_by_test_id("brick-test.echo").wait_for()
    yield pg
    context.close()
    assert not problems, "browser console:\n" + "\n".join(problems)
