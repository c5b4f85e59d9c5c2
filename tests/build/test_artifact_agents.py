"""An agent with only a host token stages a build artifact: it downloads it through the
execution API, checks its sha256 and keeps its provenance; a corrupted or unknown artifact
fails the node and stages nothing."""
from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest

from buildkit import app_repo
from support import FAST, TEST_BLOCKS, Stack, create_pg_database, graph, make_env, start_redis, wait_for, wire


@pytest.fixture(scope="module")
def plane(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("artifacts")
    redis_proc, broker = start_redis()
    db, drop = create_pg_database()
    stack = Stack(tmp, make_env(tmp, db, broker)).start()
    from nebhx.auth.tokens import issue
    from nebhx.store.db import session_scope
    with session_scope(db) as s:
        stack.token = issue(s, kind="host", owner="h1")[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEBHX_")}
    env.update(FAST, NEBHX_HOME=str(tmp / "agent"), NEBHX_HOST_HOME=str(tmp / "host-h1"),
               NEBHX_BLOCKS_PATH=str(TEST_BLOCKS), XDG_CONFIG_HOME=str(tmp / "agent-config"))
    stack.procs["agent"] = subprocess.Popen(
        [sys.executable, "-m", "nebhx.cli.main", "agent", "--host", "h1", "--server", stack.url, "--token", stack.token],
        env=env, stdout=open(tmp / "agent.log", "ab"), stderr=subprocess.STDOUT, start_new_session=True)
    wait_for(lambda: any(h["name"] == "h1" and h["state"] == "up" for h in stack.client().get("/hosts").json()),
             30, what="h1 up")
    bare, _ = app_repo(tmp)
    built = stack.run(graph("build-only", [("co", "build.checkout", {"repository": str(bare)}),
                                           ("tar", "build.tarball", {"name": "webapp", "root": "examples/app"})],
                            [wire("co", "workdir", "tar", "workdir")]))
    assert built["status"] == "succeeded", built
    stack.artifact = built["nodes"]["tar"]["outputs"]
    stack.commit = built["nodes"]["co"]["outputs"]["commit"]
    yield stack
    stack.stop()
    drop()
    redis_proc.terminate()


def stage(plane, service: str, source: str) -> dict:
    return plane.run(graph(f"stage-{service}", [("st", "release.stage", {"host": "h1", "service": service,
                                                                       "source": source})]))


def test_an_agent_stages_an_artifact_through_the_execution_api(plane):
    run = stage(plane, "app", plane.artifact["source"])
    assert run["status"] == "succeeded", run["nodes"]["st"]["error"]
    path = plane.home / "host-h1" / "services" / "app" / "releases" / run["nodes"]["st"]["outputs"]["release"]
    assert (path / "webapp.py").is_file() and (path / "VERSION").read_text() == "v1\n"
    import json
    prov = json.loads((path / ".nebhx-provenance.json").read_text())
    assert prov["commit"] == plane.commit and prov["sha256"] == plane.artifact["sha256"]
    with plane.client() as c:
        log = c.get(f"/runs/{run['id']}/nodes/st/log").text
    assert "verified" in log


def test_the_host_token_reaches_artifacts_only_through_the_execution_api(plane):
    sha = plane.artifact["sha256"]
    token = {"Authorization": f"Bearer {plane.token}"}
    assert httpx.get(f"{plane.url}/api/exec/artifacts/{sha}", headers=token).status_code == 200
    assert httpx.get(f"{plane.url}/api/exec/artifacts/{sha}").status_code == 401
    assert httpx.get(f"{plane.url}/api/artifacts/{sha}", headers=token).status_code == 403


def test_an_unknown_or_corrupted_artifact_stages_nothing(plane):
    sha = plane.artifact["sha256"]
    unknown = stage(plane, "ghost", f"artifact:other.tar.gz@sha256:{sha}")
    assert unknown["status"] == "failed"
    assert "no artifact other.tar.gz@sha256" in unknown["nodes"]["st"]["error"]
    assert "stored as webapp.tar.gz" in unknown["nodes"]["st"]["error"]
    blob = plane.home / "artifacts" / "sha256" / sha[:2] / sha
    os.chmod(blob, 0o644)
    blob.write_bytes(b"not the tarball that was built")
    corrupted = stage(plane, "tampered", plane.artifact["source"])
    assert corrupted["status"] == "failed"
    assert f"sha256 mismatch for artifact webapp.tar.gz: expected {sha}" in corrupted["nodes"]["st"]["error"]
    for service in ("ghost", "tampered"):
        releases = plane.home / "host-h1" / "services" / service / "releases"
        assert not releases.exists() or not list(releases.iterdir())
