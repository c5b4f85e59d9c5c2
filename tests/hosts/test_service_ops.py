"""Issue 21, item 5: pin / unpin a staged release, a service's deploy history, and its log
followed live from its host through the agent (API and CLI), on a real local stack."""
from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest

from support import Stack, free_port, graph, make_env, wait_for

SECRET = "hunter2-very-secret-value"
APP = f'''import http.server, sys
print("starting with password {SECRET}", flush=True)
print("to stderr", file=sys.stderr, flush=True)
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        print("GET", self.path, flush=True)
        self.send_response(200); self.end_headers(); self.wfile.write(b"ok")
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
'''


@pytest.fixture(scope="module")
def ops_stack(tmp_path_factory):
    home = tmp_path_factory.mktemp("service-ops")
    s = Stack(home, make_env(home, NEBHX_SERVICES_CHECK_S="60")).start()
    yield s
    s.run(graph("stop", [("stop", "service.stop", {"host": "local", "service": "opsweb", "remove": True})]))
    s.stop()


def _deploy(s: Stack, tmp, release: str, port: int) -> dict:
    src = tmp / release
    src.mkdir()
    (src / "app.py").write_text(APP)
    run = s.run(graph(f"deploy-{release}", [
        ("stage", "release.stage", {"host": "local", "service": "opsweb", "source": str(src), "release_id": release}),
        ("run", "service.run", {"host": "local", "service": "opsweb", "port": port, "ready_http": "/",
                                "command": "python3 {release}/app.py {port}"})],
        [{"from": {"node": "stage", "port": "path"}, "to": {"node": "run", "port": "release_path"}}]))
    assert run["status"] == "succeeded", {k: n.get("error") for k, n in run["nodes"].items()}
    return run


def _cli(s: Stack, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**s.env, "NEBHX_URL": s.url, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "nebhx.cli.main", *args], env=env, text=True,
                          capture_output=True, timeout=60, check=check)


def test_pin_history_and_log_of_a_service(ops_stack, tmp_path):
    s, port = ops_stack, free_port()
    first, second = _deploy(s, tmp_path, "r1", port), _deploy(s, tmp_path, "r2", port)
    with s.client() as c:
        assert c.put("/secrets/ops-pw", json={"value": SECRET}).status_code == 204
        # pin: the host's agent marks the release, so retention keeps it
        got = c.post("/releases/pin", json={"host": "local", "service": "opsweb", "release": "r1"})
        assert got.status_code == 200, got.text
        assert got.json() == {"release": "r1", "pinned": True}
        assert (s.home / "hosts" / "local" / "services" / "opsweb" / "releases" / "r1" / ".pinned").exists()
        missing = c.post("/releases/pin", json={"host": "local", "service": "opsweb", "release": "r9"})
        assert missing.status_code == 409 and "no staged release 'r9'" in missing.json()["detail"]
        assert c.post("/releases/pin", json={"host": "nohost", "service": "opsweb",
                                             "release": "r1"}).status_code == 404
        # history: newest first, from -> to, and the run that did it
        hist = c.get("/services/local/opsweb/history").json()
        assert [(h["from"], h["to"], h["run"]["id"]) for h in hist][:2] == [
            ("r1", "r2", second["id"]), (None, "r1", first["id"])]
        # rollback, planned first: each host's agent says what would come back, nothing changes
        plan = c.post("/releases/rollback/plan", json={"host": "local", "service": "opsweb"})
        assert plan.status_code == 200, plan.text
        [item] = plan.json()["nodes"]["rollback"]["items"]
        # (service.run put these releases there, not a rollout: the host's agent says so)
        assert item["host"] == "local" and item["fails"], item
        assert "no rollout of opsweb is recorded on host local" in item["effect"]
        # to a chosen release: an instance service.run started goes back from what runs now
        to_r1 = c.post("/releases/rollback/plan", json={"host": "local", "service": "opsweb", "release": "r1"})
        [item] = to_r1.json()["nodes"]["rollback"]["items"]
        assert not item.get("fails") and item["effect"] == "switch -> restart -> ready: back to release r1", item
        assert item["release"] == {"before": "r2", "after": "r1"}
        unknown = c.post("/releases/rollback/plan", json={"host": "h9", "service": "opsweb"})
        assert unknown.status_code == 404 and "no host 'h9'" in unknown.json()["detail"]
        # log: the tail, secrets masked; then only what came since the offsets
        log = c.get("/services/local/opsweb/log").json()
        out = log["streams"]["out"]["text"]
        assert "starting with password ******" in out and SECRET not in out, out
        assert "to stderr" in log["streams"]["err"]["text"]
        offsets = {k: v["offset"] for k, v in log["streams"].items()}
        httpx.get(f"http://127.0.0.1:{port}/followed-{os.getpid()}", timeout=5)
        more = wait_for(lambda: (r := c.get("/services/local/opsweb/log", params=offsets).json())
                        ["streams"]["out"]["text"] and r, 10, what="new log lines")
        assert f"GET /followed-{os.getpid()}" in more["streams"]["out"]["text"]
        assert "starting with" not in more["streams"]["out"]["text"]
        nolog = c.get("/services/local/nosuch/log")
        assert nolog.status_code == 409 and "runs no service 'nosuch'" in nolog.json()["detail"]
    unpinned = _cli(s, "pin", "local", "opsweb", "r1", "--unpin")
    assert "opsweb r1 on local: unpinned" in unpinned.stdout
    assert not (s.home / "hosts" / "local" / "services" / "opsweb" / "releases" / "r1" / ".pinned").exists()
    assert f"r1 -> r2  run {second['id']}" in _cli(s, "history", "local", "opsweb").stdout
    refused = _cli(s, "rollback", "local", "opsweb", "--to", "r9", check=False)
    assert refused.returncode != 0, refused.stdout
    assert "release 'r9' of 'opsweb' is not staged on host local" in refused.stdout + refused.stderr
    assert "staged: r1, r2" in refused.stdout + refused.stderr
    tail = _cli(s, "logs", "local", "opsweb")
    assert "password ******" in tail.stdout and SECRET not in tail.stdout + tail.stderr
    # back to r1 by hand, from the command line: the process runs r1's code; a plain rollback
    # afterwards comes back to r2 (the release left)
    def serving() -> tuple[str | None, str]:
        with s.client() as c:
            [row] = c.get("/releases", params={"service": "opsweb"}).json()
        text = s.home / "hosts/local/supervisor/programs/opsweb.conf"
        return row["active"], text.read_text() if text.exists() else ""
    _cli(s, "rollback", "local", "opsweb", "--to", "r1")  # (exits 1 unless its run succeeded)
    active, section = wait_for(lambda: (x := serving())[0] == "r1" and x, 15, what="r1 reported active")
    assert "releases/r1/app.py" in section, section
    assert httpx.get(f"http://127.0.0.1:{port}/", timeout=5).text == "ok"
    _cli(s, "rollback", "local", "opsweb")
    active, section = wait_for(lambda: (x := serving())[0] == "r2" and x, 15, what="r2 reported active")
    assert "releases/r2/app.py" in section, section
