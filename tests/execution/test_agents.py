"""Agents through the execution API: no database URL and no key on the host, a token
scoped to one host, only the node's own secrets, the framework's host runtime."""
from __future__ import annotations

import contextlib
import json
import os
import threading
from pathlib import Path

import httpx
import pytest

from support import TEST_BLOCKS, FAST, Stack, create_pg_database, graph, make_env, start_redis, wait_for

CANARY = "s3cr3t-canary-4711"


def issue_host_token(stack: Stack, host: str) -> str:
    from nebhx.auth.tokens import issue
    from nebhx.store.db import session_scope
    with session_scope(stack.env["NEBHX_DATABASE_URL"]) as s:
        return issue(s, kind="host", owner=host)[1]


def agent_env(stack: Stack, host: str, tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEBHX_")}
    env.update(FAST, NEBHX_HOME=str(tmp / f"agent-{host}"), NEBHX_HOST_HOME=str(tmp / f"host-{host}"),
               NEBHX_BLOCKS_PATH=str(TEST_BLOCKS), XDG_CONFIG_HOME=str(tmp / f"config-{host}"))
    return env


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """API + control worker on PostgreSQL and Redis; agents h1 and h2 join with tokens only."""
    tmp = tmp_path_factory.mktemp("exec")
    redis_proc, broker = start_redis()
    db, drop = create_pg_database()
    stack = Stack(tmp, make_env(tmp, db, broker)).start()
    stack.tokens = {h: issue_host_token(stack, h) for h in ("h1", "h2", "h3")}
    stack.tmp = tmp
    yield stack
    stack.stop()
    drop()
    redis_proc.terminate()


def start_agent(stack: Stack, host: str):
    import subprocess
    import sys
    env = agent_env(stack, host, stack.tmp)
    log = open(stack.tmp / f"agent-{host}.log", "ab")
    proc = subprocess.Popen([sys.executable, "-m", "nebhx.cli.main", "agent", "--host", host,
                             "--server", stack.url, "--token", stack.tokens[host]],
                            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    stack.procs[f"agent-{host}"] = proc
    wait_for(lambda: any(h["name"] == host and h["state"] == "up" for h in stack.client().get("/hosts").json()),
             30, what=f"{host} registered")
    return proc


def put_secret(stack: Stack, name: str, value: str) -> None:
    with stack.client() as c:
        assert c.put(f"/secrets/{name}", json={"value": value}).status_code == 204


def test_an_agent_with_no_database_url_and_no_key_runs_its_nodes(cluster):
    agent = start_agent(cluster, "h1")
    put_secret(cluster, "canary", CANARY)
    run = cluster.run(graph("on-h1", [("e", "test.host_echo", {"host": "h1", "secret": {"$secret": "canary"}})]))
    assert run["status"] == "succeeded", run
    node = run["nodes"]["e"]
    assert node["host"] == "h1" and node["outputs"]["host"] == "h1"
    assert node["outputs"]["echoed"] == "got ******"  # the agent echoed it; the server masked it
    assert node["outputs"]["token"] == "******"  # a Secret output, sealed by the control plane
    environ = Path(f"/proc/{agent.pid}/environ").read_bytes().split(b"\0")
    names = {e.split(b"=", 1)[0].decode() for e in environ if e}
    assert not names & {"NEBHX_DATABASE_URL", "NEBHX_SECRET_KEY", "NEBHX_SECRET_KEY_FILE"}
    assert not list((cluster.tmp / "config-h1").rglob("*key*"))  # it never looked for a key either
    for home in ("agent-h1", "host-h1"):  # nor made itself a store (settings fall back to SQLite)
        assert not list((cluster.tmp / home).rglob("*.db")), home
    with cluster.client() as c:
        log = c.get(f"/runs/{run['id']}/nodes/e/log").text
    assert "working with ******" in log and CANARY not in log
    from nebhx.store.db import session_scope
    from nebhx.store.models import NodeRow
    with session_scope(cluster.env["NEBHX_DATABASE_URL"]) as s:
        row = s.get(NodeRow, (run["id"], "e"))
        assert set(row.outputs["token"]) == {"$enc"} and CANARY not in str(row.outputs) + row.log


def exec_call(stack: Stack, token: str | None, path: str, body: dict) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(f"{stack.url}/api/exec{path}", json=body, headers=headers, timeout=10)


@contextlib.contextmanager
def beating(stack: Stack, host: str, worker: str = "t1"):
    """As an agent process does: /alive every 0.3 s, so what it claims as ``worker`` is not
    taken for lost when a loaded machine makes the test outlive the 3 s lease."""
    stop = threading.Event()

    def beat() -> None:
        while True:
            with contextlib.suppress(httpx.HTTPError):
                exec_call(stack, stack.tokens[host], "/alive", {"worker": worker})
            if stop.wait(0.3):
                return
    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        yield {"worker": worker}
    finally:
        stop.set()
        thread.join()


def test_a_host_token_reaches_only_its_own_nodes(cluster):
    # h2 registers (so nodes route to it) but runs no worker: its node waits, queued.
    assert exec_call(cluster, cluster.tokens["h2"], "/register", {"labels": {}}).status_code == 204
    put_secret(cluster, "h2-only", "for-h2-alone")
    run = cluster.run(graph("on-h2", [("e", "test.host_echo", {"host": "h2", "secret": {"$secret": "h2-only"}})]),
                      wait=False)
    node = cluster.wait_node(run["id"], "e", "queued")["nodes"]["e"]
    ref = {"run_id": run["id"], "node_id": "e", "attempt": node["attempt"]}
    for path, extra in (("/claim", {}), ("/renew", {"log": "x"}),
                        ("/finish", {"outcome": {"status": "succeeded", "outputs": {}}})):
        resp = exec_call(cluster, cluster.tokens["h1"], path, {**ref, **extra})
        assert resp.status_code == 403, (path, resp.text)
        assert "not routed to host 'h1'" in resp.json()["detail"]
        assert exec_call(cluster, None, path, {**ref, **extra}).status_code == 401
    assert cluster.get_run(run["id"])["nodes"]["e"]["status"] == "queued"
    with beating(cluster, "h2") as worker:
        claimed_and_finished(cluster, ref, worker)
    end = cluster.wait_run(run["id"], 30)
    assert end["status"] == "succeeded" and end["nodes"]["e"]["outputs"]["echoed"] == "got ******"


def claimed_and_finished(cluster: Stack, ref: dict, worker: dict) -> None:
    claim = exec_call(cluster, cluster.tokens["h2"], "/claim", {**ref, **worker})
    assert claim.status_code == 200 and claim.json()["inputs"]["secret"] == "for-h2-alone"
    assert claim.json()["secrets"] == ["for-h2-alone"]  # this node's secrets, no other
    assert exec_call(cluster, cluster.tokens["h2"], "/claim", ref).status_code == 204  # taken once
    forged = {"status": "succeeded", "outputs": {"echoed": "x", "token": {"$enc": "gAAAA"}, "host": "h2", "pid": 1}}
    assert exec_call(cluster, cluster.tokens["h2"], "/finish", {**ref, "outcome": forged}).status_code == 403
    done = {"status": "succeeded", "inputs": {"host": "h2"},
            "outputs": {"echoed": "got for-h2-alone", "token": {"$plain": "t"}, "host": "h2", "pid": 1}}
    assert exec_call(cluster, cluster.tokens["h2"], "/finish", {**ref, "outcome": done}).status_code == 204


def test_a_users_or_revoked_token_is_refused_by_the_execution_api(cluster):
    from nebhx.auth.tokens import issue, revoke
    from nebhx.store.db import session_scope
    with session_scope(cluster.env["NEBHX_DATABASE_URL"]) as s:
        row, fresh = issue(s, kind="host", owner="h3")
    with session_scope(cluster.env["NEBHX_DATABASE_URL"]) as s:
        revoke(s, token_id=row.id)
    assert exec_call(cluster, fresh, "/register", {}).status_code == 401
    assert exec_call(cluster, "nbx_nope_nope", "/register", {}).status_code == 401


def test_an_agent_declaring_a_label_no_selector_can_name_is_refused(cluster):
    # A label is data the control plane shows and matches: markup, spaces or a bare key are refused.
    for labels in ({"zone": "[bold]a"}, {"bad key": "x"}, {"role": "a b"}):
        resp = exec_call(cluster, cluster.tokens["h2"], "/register", {"labels": labels})
        assert resp.status_code == 422 and "labels" in resp.text, (labels, resp.text)
    hosts = {h["name"]: h for h in httpx.get(f"{cluster.url}/api/hosts", timeout=10).json()}
    assert "[bold]a" not in str(hosts.get("h2", {}).get("labels"))
    assert exec_call(cluster, cluster.tokens["h2"], "/register", {"labels": {"zone": "eu-1/a"}}).status_code == 204


def test_an_agent_started_with_another_hosts_token_refuses_to_start(cluster):
    import subprocess
    import sys
    res = subprocess.run([sys.executable, "-m", "nebhx.cli.main", "agent", "--host", "h2", "--server", cluster.url,
                          "--token", cluster.tokens["h3"]], env=agent_env(cluster, "h2", cluster.tmp),
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 2 and "belongs to host 'h3', not 'h2'" in res.stdout


def test_a_node_that_reaches_the_wrong_host_fails_once_naming_both(monkeypatch):
    from nebhx.attempt.claims import Claim
    from nebhx.attempt.execute import run_claimed
    monkeypatch.setenv("NEBHX_AGENT_HOST", "h1")
    claim = Claim("r", "w", 1, "storage.write_file", inputs={"host": "h2", "volume_url": "dir://h2/v", "name": "x"})
    out = run_claimed(claim, None)
    assert out.status == "failed"
    assert out.error == "node w is for host 'h2' but reached the agent of host 'h1'"


@pytest.mark.parametrize("result, why", [
    # Over the API's schema (error up to 100 000 characters): the agent's models refuse it unsent.
    ({"outputs": {"host": "x" * 10}, "error": "e" * 200_000},
     "the control plane's execution API would refuse this node's result: error: String should have at most"),
    # Within the schema but over the body limit (16 MiB): the control plane refuses it.
    ({"outputs": {"host": "x" * (17 << 20)}}, "the control plane refused this node's result (413)"),
])
def test_a_result_the_control_plane_refuses_still_ends_the_attempt(cluster, result, why):
    from nebhx.agent.client import AgentClient, HttpExecution
    from nebhx.attempt.claims import Claim, Outcome
    assert exec_call(cluster, cluster.tokens["h2"], "/register", {"labels": {}}).status_code == 204
    run = cluster.run(graph("refused", [("w", "test.where", {"host": "h2"})]), wait=False)
    attempt = cluster.wait_node(run["id"], "w", "queued")["nodes"]["w"]["attempt"]
    ex = HttpExecution(AgentClient(cluster.url, cluster.tokens["h2"], patience_s=5))
    claim = ex.claim(run["id"], "w", attempt)
    assert isinstance(claim, Claim)
    ex.finish(claim, Outcome("succeeded", **result))
    node = cluster.wait_run(run["id"], 30)["nodes"]["w"]
    assert node["status"] == "failed" and node["error"].startswith(why), node["error"][:300]


def test_an_agents_result_over_the_limits_fails_the_node_naming_where(cluster):
    assert exec_call(cluster, cluster.tokens["h2"], "/register", {"labels": {}}).status_code == 204
    run = cluster.run(graph("nan", [("w", "test.where", {"host": "h2"})]), wait=False)
    attempt = cluster.wait_node(run["id"], "w", "queued")["nodes"]["w"]["attempt"]
    ref = {"run_id": run["id"], "node_id": "w", "attempt": attempt}
    body = json.dumps({**ref, "outcome": {"status": "succeeded", "inputs": {"host": "h2"}, "log": "a\x00b",
                                          "outputs": {"host": "h2", "home": "x", "tag": [float("nan")]}}})
    with beating(cluster, "h2") as worker:
        assert exec_call(cluster, cluster.tokens["h2"], "/claim", {**ref, **worker}).status_code == 200
        resp = httpx.post(f"{cluster.url}/api/exec/finish", content=body, timeout=10,
                          headers={"Authorization": f"Bearer {cluster.tokens['h2']}", "content-type": "application/json"})
    assert resp.status_code == 204, resp.text
    node = cluster.wait_run(run["id"], 30)["nodes"]["w"]
    assert node["status"] == "failed"
    assert node["error"].startswith("the brick's result cannot be kept: /outputs/tag/0: nan is not a finite number")
    with cluster.client() as c:
        assert "a\ufffdb" in c.get(f"/runs/{run['id']}/nodes/w/log").text


def test_a_stale_attempts_renew_log_and_finish_are_refused(cluster):
    """Attempt 1 is taken for lost (its lease lapsed); its late renewal, log and outcome are
    refused, attempt 2's are kept."""
    assert exec_call(cluster, cluster.tokens["h2"], "/register", {"labels": {}}).status_code == 204
    run = cluster.run(graph("stale", [("w", "test.where", {"host": "h2"})]), wait=False)
    first = cluster.wait_node(run["id"], "w", "queued")["nodes"]["w"]["attempt"]
    old = {"run_id": run["id"], "node_id": "w", "attempt": first}
    assert exec_call(cluster, cluster.tokens["h2"], "/claim", old).status_code == 200
    # No renewal: the 3 s lease lapses and the sweep dispatches the next attempt.
    wait_for(lambda: cluster.get_run(run["id"])["nodes"]["w"]["attempt"] == first + 1, 30, what="attempt 2")
    new = {**old, "attempt": first + 1}
    with beating(cluster, "h2") as worker:  # attempt 2's agent is alive
        assert exec_call(cluster, cluster.tokens["h2"], "/claim", {**new, **worker}).status_code == 200
        stale_refused_fresh_kept(cluster, old, new)
    done = cluster.wait_run(run["id"], 30)
    assert done["status"] == "succeeded" and done["nodes"]["w"]["outputs"]["tag"] == "fresh"
    with cluster.client() as c:
        log = c.get(f"/runs/{run['id']}/nodes/w/log").text
    assert "from attempt 2" in log and "stale" not in log


def stale_refused_fresh_kept(cluster: Stack, old: dict, new: dict) -> None:
    token = cluster.tokens["h2"]
    assert exec_call(cluster, token, "/renew", {**old, "log": "from the stale attempt"}).json() == {"alive": False}
    outcome = {"status": "succeeded", "inputs": {"host": "h2"}, "outputs": {"host": "h2", "home": "-", "tag": "stale"}}
    late = exec_call(cluster, token, "/finish", {**old, "outcome": outcome})
    assert late.status_code == 409 and "refused" in late.json()["detail"], late.text
    assert exec_call(cluster, token, "/renew", {**new, "log": "from attempt 2"}).json() == {"alive": True}
    fresh = {**outcome, "outputs": {**outcome["outputs"], "tag": "fresh"}}
    assert exec_call(cluster, token, "/finish", {**new, "outcome": fresh}).status_code == 204


def test_service_locks_through_the_execution_api_on_postgresql(cluster):
    """An agent takes a service lock for its node's run: only on its own host; a second run's
    node gets the holder back; the holder's run taking it again is free."""
    assert exec_call(cluster, cluster.tokens["h2"], "/register", {"labels": {}}).status_code == 204
    refs = []
    with beating(cluster, "h2") as worker:
        for name in ("lock-a", "lock-b"):  # h2 runs no worker: each node stays queued until claimed here
            run = cluster.run(graph(name, [("e", "test.host_noop", {"host": "h2"})]), wait=False)
            node = cluster.wait_node(run["id"], "e", "queued")["nodes"]["e"]
            refs.append({"run_id": run["id"], "node_id": "e", "attempt": node["attempt"]})
            assert exec_call(cluster, cluster.tokens["h2"], "/claim", {**refs[-1], **worker}).status_code == 200
        locks_held_and_passed_on(cluster, refs)


def locks_held_and_passed_on(cluster: Stack, refs: list[dict]) -> None:
    key = {"host": "h2", "service": "web", "instance": ""}
    other = exec_call(cluster, cluster.tokens["h2"], "/lock", {**refs[0], "key": {**key, "host": "h1"}})
    assert other.status_code == 403 and "only its own services" in other.json()["detail"]
    assert exec_call(cluster, cluster.tokens["h1"], "/lock", {**refs[0], "key": key}).status_code == 403
    first = exec_call(cluster, cluster.tokens["h2"], "/lock", {**refs[0], "key": key})
    assert first.status_code == 200 and first.json() == {"holder": None}
    second = exec_call(cluster, cluster.tokens["h2"], "/lock", {**refs[1], "key": key}).json()["holder"]
    assert second["run_id"] == refs[0]["run_id"] and second["node_id"] == "e" and second["since"]
    waiting = cluster.get_run(refs[1]["run_id"])["nodes"]["e"]["wait"]
    assert waiting["reason"].startswith(f"waiting for lock held by run {refs[0]['run_id']}")
    assert exec_call(cluster, cluster.tokens["h2"], "/lock", {**refs[0], "key": key}).json() == {"holder": None}
    with cluster.client() as c:  # the holder's run ends: the next asker takes the lock over
        assert c.post(f"/runs/{refs[0]['run_id']}/cancel").status_code == 200
    assert exec_call(cluster, cluster.tokens["h2"], "/lock", {**refs[1], "key": key}).json() == {"holder": None}
    assert not (cluster.get_run(refs[1]["run_id"])["nodes"]["e"].get("wait") or {}).get("reason")
    done = {"status": "succeeded", "inputs": {"host": "h2"}, "outputs": {}}
    assert exec_call(cluster, cluster.tokens["h2"], "/finish", {**refs[1], "outcome": done}).status_code == 204
