"""Issue 18, finding 13: event streams are limited per user and in total, with a clear 429.

100 streams from one viewer cost 0.75 of a core and slowed every other request. Tried on the
real server process (a test client cannot hold streams open) with small limits:
NEBHX_MAX_STREAMS_PER_USER=2 and NEBHX_MAX_STREAMS=3.
"""
from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

from support import free_port, graph, make_env, wait_for


def _token(home, name: str, role: str) -> str:
    from nebhx.auth import service
    from nebhx.store.db import session_scope
    with session_scope(f"sqlite:///{home / 'nebhx.db'}") as s:
        service.create_user(s, name=name, password="correct horse", role=role)
        return service.create_token(s, owner=name, name="t").token


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("streams")
    port = free_port()
    env = make_env(home, NEBHX_AUTH="required", NEBHX_MAX_STREAMS_PER_USER="2", NEBHX_MAX_STREAMS="3")
    proc = subprocess.Popen([sys.executable, "-m", "nebhx.cli.main", "api", "--port", str(port), "--no-sweeper"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: proc.poll() is None and httpx.get(url + "/api/health").status_code == 200, 60, what="API up")
        admin = {"Authorization": f"Bearer {_token(home, 'ada', 'admin')}"}
        gid = httpx.post(url + "/api/graphs", json=graph("s", [("n", "test.noop")]), headers=admin).json()["id"]
        run = httpx.post(url + "/api/runs", json={"graph_id": gid}, headers=admin).json()  # no worker: it stays open
        yield url, run["id"], {n: {"Authorization": f"Bearer {_token(home, n, 'viewer')}"} for n in ("vic", "val")}
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _open(client: httpx.Client, url: str, run_id: str, headers: dict):
    """A stream held open (its first line read), or the refusal."""
    response = client.send(client.build_request("GET", f"{url}/api/runs/{run_id}/events", headers=headers),
                           stream=True)
    if response.status_code == 200:
        response.lines = response.iter_lines()  # kept: a dropped iterator closes the stream
        assert next(response.lines).startswith("retry:")
    return response


def test_streams_are_limited_per_user_and_in_total(server):
    url, run_id, users = server
    with httpx.Client(timeout=30) as client:
        first, second = (_open(client, url, run_id, users["vic"]) for _ in range(2))
        assert first.status_code == second.status_code == 200
        third = _open(client, url, run_id, users["vic"])
        assert third.status_code == 429 and "vic" in third.read().decode(), third.status_code
        assert third.headers["retry-after"]
        other = _open(client, url, run_id, users["val"])
        assert other.status_code == 200
        full = _open(client, url, run_id, users["val"])
        assert full.status_code == 429 and "in all" in full.read().decode()
        first.close()  # a closed stream gives its place back

        def reopened():
            response = _open(client, url, run_id, users["val"])
            if response.status_code != 200:
                response.close()
            return response.status_code == 200 and response
        again = wait_for(reopened, 15, interval=0.5, what="a place freed")
        for stream in (second, other, again):
            stream.close()
