"""Build on push to three hosts (network namespaces labelled role=web, each with its agent
and supervisord) behind HAProxy on h1: a push to a local bare repository runs the trigger's
hook, the control plane builds the pushed commit into an artifact, every agent stages it
through the execution API, the hosts switch one by one, and the new version answers
behind HAProxy on all three; a second push brings the next version the same way."""
from __future__ import annotations

import json
import sys

import httpx
import pytest
from netns import wait_for
from push_support import HOSTS, PORT, TRIGGER, finished, fleet, push, serving, setup_repo


@pytest.fixture(scope="module")
def hosts(tmp_path_factory):
    c = fleet(tmp_path_factory.mktemp("push"))
    try:
        c.up()
    except BaseException:
        problems = c.down()
        raise AssertionError(f"the cluster did not come up (logs in {c.workdir}): {problems}") \
            from sys.exc_info()[1]
    yield c
    problems = c.down()
    assert not problems, problems


def on_host(cluster, host: str) -> dict:
    """What the app on ``host`` answers directly."""
    return httpx.get(f"http://{cluster.address(host)}:{PORT}/", timeout=5, trust_env=False).json()


def provenance(cluster, host: str) -> dict:
    current = cluster.workdir / "hosts" / host / "services" / "built-web" / "current"
    return json.loads((current / ".nebhx-provenance.json").read_text())


def test_each_push_serves_the_pushed_commit_on_three_hosts_behind_haproxy(hosts, tmp_path):
    bare, clone = setup_repo(hosts, tmp_path)
    for version in ("v2", "v3"):
        commit, run_id, _ = push(clone, version)
        run = finished(hosts, run_id)
        failed = {k: n["error"] for k, n in run["nodes"].items() if n["status"] != "succeeded"}
        assert run["status"] == "succeeded", failed
        seen = wait_for(lambda: serving(hosts, version), 30, 0.3,
                        what=f"{version} answering behind HAProxy on {', '.join(HOSTS)}")
        assert {b["version"] for b in seen.values()} == {version} and len(seen) == 3
        assert run["trigger"]["name"] == TRIGGER and run["trigger"]["commit"] == commit
        assert run["inputs"]["commit"] == commit and run["outputs"]["commit"] == commit
        assert {h: on_host(hosts, h)["version"] for h in HOSTS} == {h: version for h in HOSTS}
        for h in HOSTS:  # every host's release names the commit and build run it came from
            prov = provenance(hosts, h)
            assert (prov["commit"], prov["run"], prov["repository"]) == (commit, run_id, str(bare))
        items = run["nodes"]["switch"]["items"]
        starts, ends = sorted(i["started_at"] for i in items), sorted(i["finished_at"] for i in items)
        assert starts[1] >= ends[0] and starts[2] >= ends[1]  # one host at a time
    with hosts.client() as c:
        built = [r for r in c.get("/runs", params={"limit": 50}).json() if (r.get("trigger") or {}).get("name") == TRIGGER]
    assert len(built) == 2
