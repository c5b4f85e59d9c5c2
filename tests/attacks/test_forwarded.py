"""Issue 18, finding 8: X-Forwarded-For is trusted only from configured proxies.

uvicorn trusts X-Forwarded-For from any loopback client by default, so a local caller faked
the audited address and escaped the per-address sign-in limit. `nebhx api` now reads
forwarded headers only from NEBHX_TRUSTED_PROXIES (off by default). Tried on the real server
process: wrong passwords under a new user name and a new faked address each time.
"""
from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

from support import free_port, make_env, wait_for


def _serve(tmp_path, **extra: str):
    port = free_port()
    env = make_env(tmp_path, NEBHX_AUTH="required", **extra)
    proc = subprocess.Popen([sys.executable, "-m", "nebhx.cli.main", "api", "--port", str(port), "--no-sweeper"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: proc.poll() is None and httpx.get(url + "/api/health").status_code == 200, 60, what="API up")
    return proc, url


def _guess(url: str, i: int) -> httpx.Response:
    return httpx.post(url + "/api/auth/login", json={"username": f"nobody{i}", "password": "wrong password"},
                      headers={"X-Forwarded-For": f"203.0.113.{i}"}, timeout=30)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("forwarded")
    proc, url = _serve(home)
    yield url, home
    proc.terminate()
    proc.wait(timeout=20)


def test_a_faked_address_does_not_escape_the_sign_in_limit(server):
    answers = [_guess(server[0], i).status_code for i in range(7)]
    assert answers[:5] == [401] * 5 and answers[5:] == [429, 429], answers


def test_the_audit_keeps_the_real_address(server):
    _guess(server[0], 99)
    from nebhx.auth.audit import list_audit
    from nebhx.store.db import session_scope
    with session_scope(f"sqlite:///{server[1] / 'nebhx.db'}") as s:
        rows = list_audit(s, action="auth.login_failed")
    assert rows and {r["address"] for r in rows} == {"127.0.0.1"}, rows


def test_a_configured_proxy_is_believed(tmp_path):
    proc, url = _serve(tmp_path, NEBHX_TRUSTED_PROXIES="127.0.0.1")
    try:
        answers = [_guess(url, i).status_code for i in range(6)]
        assert answers == [401] * 6, answers  # each client address of the proxy counts alone
    finally:
        proc.terminate()
        proc.wait(timeout=20)
