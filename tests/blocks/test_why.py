"""Why a process runs: two real switches of the example app on the local host (supervisord,
a dir volume with a snapshot, a rendered config), each behind an approval, then the chain the
API and `nebhx why` answer checked link by link against the host itself."""
from __future__ import annotations

import hashlib
import http.client
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support import ROOT, Stack, free_port, graph, make_env, order, wait_for, wire

CMD = f"{sys.executable} {{release}}/webapp.py --port {{port}} --config {{config}}/app.json --data {{data}}"
TEMPLATE = '{"greeting": {{ greeting | tojson }}}\n'


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    home = tmp_path_factory.mktemp("why")
    stack = Stack(home, make_env(home, NEBHX_SERVICES_CHECK_S="0.3", NEBHX_AGENT_HEARTBEAT_S="0.3")).start()
    yield stack
    stack.stop()


def release_doc(src: str, version: str, greeting: str, port: int) -> dict:
    profiles = {"web": {"values": {"greeting": greeting}, "templates": {"app.json": TEMPLATE}}}
    return graph("why-web", [
        ("prep", "rollout.prepare", {"host": "local", "service": "web", "source": src, "release_id": version,
                                     "profiles": profiles, "profile": "web"}),
        ("data", "storage.volume", {"host": "local", "name": "web-data"}),
        ("gate", "gate.approval", {"message": f"switch web to {version}?"}),
        ("switch", "rollout.switch", {"host": "local", "service": "web", "command": CMD, "port": port,
                                      "volume": "web-data", "ready_http": "/health", "ready_timeout_s": 20}),
    ], [wire("prep", "release_id", "switch", "release_id"), wire("prep", "config_version", "switch", "config_version"),
        order("data", "gate"), order("prep", "gate"), order("gate", "switch")])


def deploy(stack, doc: dict, comment: str) -> dict:
    run = stack.run(doc, wait=False)
    stack.wait_node(run["id"], "gate", "waiting", timeout=60)
    with stack.client() as c:
        assert c.post(f"/runs/{run['id']}/nodes/gate/approve", json={"comment": comment}).status_code == 200
    done = stack.wait_run(run["id"], timeout=90)
    assert done["status"] == "succeeded", json.dumps(done["nodes"], indent=1)[:3000]
    return done


def get(port: int) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", "/")
    return json.loads(conn.getresponse().read())


def test_why_names_every_link_from_the_process_to_the_approver(local, tmp_path):
    src = tmp_path / "app"
    shutil.copytree(ROOT / "examples" / "app", src, ignore=shutil.ignore_patterns("__pycache__"))
    port = free_port()
    first = deploy(local, release_doc(str(src), "1.0.0", "hello", port), "first one")
    (src / "VERSION").write_text("2.0.0\n")
    second = deploy(local, release_doc(str(src), "2.0.0", "bonjour", port), "canary looked fine")
    switch = second["nodes"]["switch"]["outputs"]
    assert get(port)["greeting"] == "bonjour"
    with local.client() as c:
        w = wait_for(lambda: (r := c.get("/services/local/web/why")).status_code == 200
                     and r.json()["process"]["pid"] == switch["pid"] and r.json()["process"]["state"] == "RUNNING"
                     and r.json(), 30, what="the agent's report")
        assert c.get("/services/local/nope/why").status_code == 404
        assert c.get("/services/nohost/web/why").status_code == 404
    home = Path(local.env["NEBHX_HOME"]) / "hosts" / "local"
    # The process: the one answering on the port, alive.
    os.kill(w["process"]["pid"], 0)
    assert w["process"]["state"] == "RUNNING" and w["process"]["since"]
    # The release: what the host staged, with its source and digest.
    meta = json.loads((home / "services" / "web" / "releases" / "2.0.0" / ".nebhx-release.json").read_text())
    assert (w["release"]["id"], w["release"]["source"], w["release"]["sha256"]) == ("2.0.0", meta["source"], meta["sha256"])
    # The config: the version running, each file's hash equal to the file on the host, explain by layer.
    cfg = w["config"]
    assert cfg["version"] == switch["config_version"] and cfg["matches"] is True
    on_disk = (home / "services" / "web" / "configs" / cfg["version"] / "app.json").read_bytes()
    assert cfg["files"] == {"app.json": hashlib.sha256(on_disk).hexdigest()}
    assert cfg["explain"]["greeting"]["value"] == "bonjour" and cfg["explain"]["greeting"]["layer"].startswith("web")
    assert cfg["prepared_by"]["id"] == second["id"]
    # The data: the volume and the snapshot taken before this switch.
    assert w["data"]["volume"] == "web-data" and w["data"]["snapshot_at_switch"] == switch["snapshot"]
    # The run and graph revision that switched it, who started it, who approved with which comment.
    link = w["switched_by"]
    assert (link["id"], link["node"], link["graph"], link["revision"]) == (
        second["id"], "switch", second["graph_id"], second["revision"])
    assert second["revision"] == first["revision"] + 1 and link["started_by"] == "local"
    assert [(a["node"], a["by"], a["comments"]) for a in w["approvals"]] == [("gate", ["local"], ["canary looked fine"])]
    # What was there before: the release, its process and the run that switched that one.
    assert w["before"]["release"] == "1.0.0" and w["before"]["pid"] == first["nodes"]["switch"]["outputs"]["pid"]
    assert w["before"]["switched_by"]["id"] == first["id"] and w["missing"] is None
    res = subprocess.run([sys.executable, "-m", "nebhx.cli.main", "why", "local", "web"], capture_output=True,
                         text=True, timeout=60, cwd=ROOT, env={**local.env, "NEBHX_URL": local.url, "COLUMNS": "250"})
    assert res.returncode == 0, res.stderr
    assert f"process: pid {switch['pid']} (RUNNING)" in res.stdout
    assert f"switched by: run {second['id']} node switch (rollout.switch)" in res.stdout
    assert "approved at gate by local (canary looked fine)" in res.stdout
    assert f"before: release 1.0.0 (pid {w['before']['pid']}), switched by run {first['id']}" in res.stdout
