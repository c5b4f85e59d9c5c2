"""Shared by the push-to-cluster test and bench/push_to_cluster.py: three labelled hosts,
examples/build-on-push-cluster.json stored with its trigger pointed at a local bare
repository whose post-receive hook (`nebhx trigger install-hook`) calls the webhook, and
what a push does: its run, the versions answering behind HAProxy on h1, the run's parts."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import httpx
from netns import ROOT, Cluster, wait_for

sys.path.insert(0, str(ROOT / "tests" / "build"))
from buildkit import GIT_ENV, app_repo, commit_version  # noqa: E402

EXAMPLE = ROOT / "examples" / "build-on-push-cluster.json"
HOSTS = ("h1", "h2", "h3")
PORT, LB_PORT = 8140, 8141
TRIGGER, SECRET = "push-fleet", "push-fleet-s3cret"
# The run's parts, each from its first node's start to its last node's end.
PARTS = {"build": ("checkout", "tarball"), "stage": ("prepare",), "switch": ("switch",),
         "lb+check": ("lb", "check")}


def fleet(workdir: Path) -> Cluster:
    return Cluster(workdir, hosts=HOSTS, labels={h: {"role": "web"} for h in HOSTS})


def store_graph(cluster: Cluster, bare: Path) -> dict:
    """The example, its defaults set for this fleet, its trigger answering ``bare``."""
    doc = json.loads(EXAMPLE.read_text())
    defaults = {"selector": "role=web", "lb_host": "h1", "lb_bind": "0.0.0.0", "port": PORT, "lb_port": LB_PORT,
                "backends": [f"{cluster.address(h)}:{PORT}" for h in HOSTS]}
    for spec in doc["inputs"]:
        spec["default"] = defaults.get(spec["name"], spec.get("default"))
    doc["meta"]["triggers"][0].update(name=TRIGGER, repository=str(bare), secret=f"{TRIGGER}-hook")
    with cluster.client() as c:
        assert c.put(f"/secrets/{TRIGGER}-hook", json={"value": SECRET}).status_code == 204
        resp = c.post("/graphs", json=doc)
        assert resp.status_code == 201, resp.text
    return resp.json()


def setup_repo(cluster: Cluster, tmp: Path) -> tuple[Path, Path]:
    """A bare repository (v1 on main) with the trigger's hook, and a clone to push from."""
    bare, clone = app_repo(tmp, "v1")
    store_graph(cluster, bare)
    out = subprocess.run([sys.executable, "-m", "nebhx.cli.main", "trigger", "install-hook", str(bare), TRIGGER,
                          "--secret", SECRET, "--url", cluster.api_url], env=cluster.env(),
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    return bare, clone


def push(clone: Path, version: str) -> tuple[str, str, float]:
    """Commit VERSION ``version`` and ``git push``; (commit, the run the hook started, when pushed)."""
    commit = commit_version(clone, version)
    pushed_at = time.time()
    proc = subprocess.run(["git", "push", "origin", "main"], cwd=clone, capture_output=True, text=True,
                          env={**os.environ, **GIT_ENV}, check=True)
    found = re.search(r"nebhx: run (\w+) started for refs/heads/main", proc.stderr + proc.stdout)
    assert found, proc.stderr
    return commit, found.group(1), pushed_at


def through_lb(cluster: Cluster, n: int = 15) -> dict[int, dict]:
    """What HAProxy on h1 answers over ``n`` fresh connections, by backend process id."""
    seen = {}
    for _ in range(n):
        body = httpx.get(f"http://{cluster.address('h1')}:{LB_PORT}/", timeout=5, trust_env=False).json()
        seen[body["pid"]] = body
    return seen


def serving(cluster: Cluster, version: str) -> dict[int, dict] | None:
    """The three backends behind HAProxy, when every one answers ``version``."""
    seen = through_lb(cluster)
    return seen if len(seen) == len(HOSTS) and {b["version"] for b in seen.values()} == {version} else None


def _t(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


def parts(run: dict, pushed_at: float) -> dict[str, float]:
    """trigger (push until the run exists), then each part's span from the nodes' times."""
    nodes = run["nodes"]
    out = {"trigger": _t(run["created_at"]) - pushed_at}
    for part, ids in PARTS.items():
        out[part] = _t(nodes[ids[-1]]["finished_at"]) - _t(nodes[ids[0]]["started_at"])
    return out


def finished(cluster: Cluster, run_id: str, timeout: float = 240) -> dict:
    with cluster.client() as c:
        return wait_for(lambda: (r := c.get(f"/runs/{run_id}").json())["finished_at"] and r,
                        timeout, 0.2, what=f"run {run_id} finished")
