"""An agent with only a host token stages an image built on the control plane: it downloads
the image archive through the execution API, checks its sha256 and the digest inside it,
loads it into its own podman store and keeps the build's provenance; it then runs it."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import httpx
import pytest

from imagekit import image_repo, remove_containers
from support import FAST, TEST_BLOCKS, Stack, create_pg_database, free_port, graph, make_env, start_redis, wait_for, wire

pytestmark = pytest.mark.usefixtures("podman_ready")


@pytest.fixture(scope="module")
def plane(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("image-agent")
    redis_proc, broker = start_redis()
    db, drop = create_pg_database()
    stack = Stack(tmp, make_env(tmp, db, broker)).start()
    from nebhx.auth.tokens import issue
    from nebhx.store.db import session_scope
    with session_scope(db) as s:
        token = issue(s, kind="host", owner="h1")[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEBHX_")}
    env.update(FAST, NEBHX_HOME=str(tmp / "agent"), NEBHX_HOST_HOME=str(tmp / "host-h1"),
               NEBHX_BLOCKS_PATH=str(TEST_BLOCKS), XDG_CONFIG_HOME=str(tmp / "agent-config"))
    stack.procs["agent"] = subprocess.Popen(
        [sys.executable, "-m", "nebhx.cli.main", "agent", "--host", "h1", "--server", stack.url, "--token", token],
        env=env, stdout=open(tmp / "agent.log", "ab"), stderr=subprocess.STDOUT, start_new_session=True)
    wait_for(lambda: any(h["name"] == "h1" and h["state"] == "up" for h in stack.client().get("/hosts").json()),
             30, what="h1 up")
    yield stack
    from nebhx.runtime.supervisor import Supervisor
    Supervisor(tmp / "host-h1" / "supervisor").shutdown()
    stack.stop()
    remove_containers(tmp)
    drop()
    redis_proc.terminate()


def test_an_agent_fetches_an_image_through_the_execution_api_and_runs_it(plane, tmp_path):
    bare, _ = image_repo(tmp_path, "v7")
    port, data = free_port(), plane.home / "host-h1" / "volumes" / "web"
    data.mkdir(parents=True)
    run = plane.run(graph("image-to-agent", [
        ("co", "build.checkout", {"repository": str(bare)}),
        ("img", "build.image", {"name": "agentweb"}),
        ("st", "release.stage", {"host": "h1", "service": "web"}),
        ("sw", "release.switch", {"host": "h1", "service": "web"}),
        ("run", "service.run", {"host": "h1", "service": "web", "command": "{port}", "port": port,
                                "runtime": "podman", "data_path": str(data), "data_mount": "/www/data",
                                "ready_http": "/health", "advertise_host": "127.0.0.1"}),
    ], [wire("co", "workdir", "img", "workdir"), wire("img", "image", "st", "source"),
        wire("img", "archive_sha256", "st", "sha256"), wire("st", "release", "sw", "release"),
        {"from": {"node": "sw"}, "to": {"node": "run"}}]), timeout=180)
    assert run["status"] == "succeeded", {n: v["error"] for n, v in run["nodes"].items() if v["error"]}
    assert httpx.get(f"http://127.0.0.1:{port}/VERSION", timeout=5).text.strip() == "v7"
    release = plane.home / "host-h1" / "services" / "web" / "releases" / run["nodes"]["st"]["outputs"]["release"]
    prov = json.loads((release / ".nebhx-provenance.json").read_text())
    image = run["nodes"]["img"]["outputs"]
    assert prov["image"] == image["image"] and prov["sha256"] == image["archive_sha256"]
    assert prov["commit"] == run["nodes"]["co"]["outputs"]["commit"] and prov["artifact"] == "agentweb.oci.tar"
    with plane.client() as c:
        log = c.get(f"/runs/{run['id']}/nodes/st/log").text
    assert "image archive agentweb.oci.tar verified" in log and "podman load" in log
