"""Signing in to the editor of a server that requires it: the login page, who is signed in,
what each role may do, signing out. Real server (auth required), real Chromium."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

import httpx
import pytest
from playwright.sync_api import expect

from support import ROOT, TEST_BLOCKS, free_port, make_env, wait_for

ARTIFACTS_DIR = ROOT / "test-artifacts"

USERS = {"olga": ("operator", "olga-password-1"), "vera": ("viewer", "vera-password-1"),
         "ada": ("admin", "ada-password-12")}


@pytest.fixture(scope="module")
def guarded(tmp_path_factory, editor_built):
    """`nebhx up` with NEBHX_AUTH=required and three users."""
    home = tmp_path_factory.mktemp("e2e-login")
    env = make_env(home, NEBHX_AUTH="required")
    env["NEBHX_BLOCKS_PATH"] = str(TEST_BLOCKS)
    from nebhx.auth.service import create_user
    from nebhx.store.db import session_scope
    with session_scope(f"sqlite:///{home / 'nebhx.db'}") as s:
        for name, (role, password) in USERS.items():
            create_user(s, name=name, password=password, role=role)
    port = free_port()
    log = open(home / "up.log", "ab")
    proc = subprocess.Popen([sys.executable, "-m", "nebhx.cli.main", "up", "--port", str(port)], env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: httpx.get(url + "/api/health").status_code == 200, 60, what="nebhx up")
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


@pytest.fixture
def login_page(browser, guarded):
    context = browser.new_context(viewport={"width": 1400, "height": 900}, base_url=guarded)
    page = context.new_page()
    problems: list[str] = []
    # A refused sign-in is a 401 the browser reports as a failed load: expected, nothing else is.
    page.on("console", lambda m: m.type in ("error", "warning") and "401" not in m.text
            and problems.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    page.goto("/")
    yield page
    context.close()
    assert not problems, "browser console:\n" + "\n".join(problems)


def sign_in(page, name: str, password: str) -> None:
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_login_page_refuses_a_wrong_password_then_signs_in(login_page):
    page = login_page
    expect(page.get_by_test_id("login-page")).to_be_visible()
    sign_in(page, "olga", "not-her-password")
    expect(page.get_by_test_id("login-error")).to_contain_text("wrong user name or password")
    sign_in(page, "olga", USERS["olga"][1])
    expect(page.get_by_test_id("session-user")).to_have_text("olga · operator")
    expect(page.get_by_test_id("brick-test.echo")).to_be_visible()
    # An operator runs, but saving a graph is an admin's.
    expect(page.get_by_test_id("tb-save")).to_be_disabled()
    expect(page.get_by_test_id("tb-save")).to_have_attribute("title", "needs the admin role")
    ARTIFACTS_DIR.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS_DIR / "editor-signed-in-operator.png"))
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_test_id("login-page")).to_be_visible()


def test_a_viewer_cannot_run_and_an_admin_can_save(login_page):
    page = login_page
    sign_in(page, "vera", USERS["vera"][1])
    expect(page.get_by_test_id("session-user")).to_have_text("vera · viewer")
    expect(page.get_by_test_id("tb-run")).to_be_disabled()
    expect(page.get_by_test_id("tb-run")).to_have_attribute("title", "needs the operator role")
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, "ada", USERS["ada"][1])
    expect(page.get_by_test_id("session-user")).to_have_text("ada · admin")
    expect(page.get_by_test_id("tb-save")).to_be_enabled()
