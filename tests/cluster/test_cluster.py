"""The example deployment on three hosts: each host is a network namespace with its own
agent (and its own supervisord and HAProxy, started by the bricks), all traffic on a
private bridge. Real HTTP through HAProxy, a real kill and restart, real e-mail."""
from __future__ import annotations

import os
import signal
import time

import httpx
import pytest
from netns import wait_for

PORTS = {"h1": 8101, "h2": 8102, "h3": 8103}
CHANGING = ("volume", "seed", "stage", "switch", "config", "run", "lb")


def get(url: str) -> dict:
    resp = httpx.get(url, timeout=5, trust_env=False)
    assert resp.status_code == 200, resp.text
    return resp.json()


@pytest.fixture(scope="module")
def deployed(cluster, smtp):
    run = cluster.run(cluster.example(), cluster.example_inputs(smtp.port))
    failed = {k: n["error"] for k, n in run["nodes"].items() if n["status"] != "succeeded"}
    assert run["status"] == "succeeded", (failed, run["error"])
    return run


def lb_url(cluster) -> str:
    return f"http://{cluster.address('h1')}:8100/"


def test_hosts_are_up_with_their_namespace_addresses(cluster):
    rows = cluster.host_rows()
    assert {h: (rows[h]["state"], rows[h]["address"]) for h in cluster.hosts} == {
        h: ("up", cluster.address(h)) for h in cluster.hosts}


def test_first_run_deploys_on_three_hosts(cluster, deployed):
    nodes = deployed["nodes"]
    assert deployed["outputs"]["backends"] == [f"{cluster.address(h)}:{p}" for h, p in PORTS.items()]
    for branch, host in zip("abc", cluster.hosts):
        for prefix in CHANGING[:-1]:
            n = nodes[f"{prefix}_{branch}"]
            assert n["outputs"]["changed"] is True, (prefix, branch, n["outputs"])
        # Each branch's host bricks ran on that host's agent, in its namespace.
        assert nodes[f"run_{branch}"]["inputs"]["host"] == host
        pid = nodes[f"run_{branch}"]["outputs"]["pid"]
        assert pid in cluster.netns_pids(host)
    assert nodes["lb"]["outputs"]["changed"] is True
    assert nodes["check"]["outputs"]["evidence"]["status"] == 200


def test_haproxy_on_h1_spreads_over_all_three_backends(cluster, deployed):
    seen = {}
    for _ in range(12):
        body = get(lb_url(cluster))
        seen[body["port"]] = body
    assert set(seen) == set(PORTS.values())
    assert len({b["pid"] for b in seen.values()}) == 3
    outs = deployed["outputs"]
    assert {seen[p]["pid"] for p in PORTS.values()} == {outs["pid_a"], outs["pid_b"], outs["pid_c"]}
    for branch, port in zip("abc", PORTS.values()):
        body = seen[port]
        assert body["greeting"] == "hello from Nebh-X" and body["instance"] == branch
        assert body["message"] == f"hello from the data volume of instance {branch}"
    # The config's layers: web-c overrides the base color, host h1 overrides it for web-a.
    assert [seen[p]["color"] for p in PORTS.values()] == ["green", "blue", "purple"]
    explain = deployed["outputs"]["config_explain_a"]["color"]
    assert explain["layer"] == "web-base@host:h1" and explain["overrode"][0]["value"] == "blue"


def test_the_admin_got_the_e_mail(smtp, deployed):
    [msg] = smtp.messages
    assert msg.rcpt_tos == ["admin@example.org"]
    text = msg.content.decode()
    assert "Subject: web is live on three hosts" in text
    assert "answered 200" in text and "hello from Nebh-X" in text


def test_a_killed_app_is_restarted_by_its_hosts_supervisor(cluster, deployed):
    old = deployed["outputs"]["pid_b"]
    assert old in cluster.netns_pids("h2")
    os.kill(old, signal.SIGKILL)
    direct = f"http://{cluster.address('h2')}:8102/"
    body = wait_for(lambda: (b := get(direct))["pid"] != old and b, 30, 0.2, what="app restarted")
    assert body["pid"] in cluster.netns_pids("h2") and body["instance"] == "b"
    # Through the balancer too: all three answer again.
    ports = wait_for(lambda: (s := {get(lb_url(cluster))["port"] for _ in range(9)}) == set(PORTS.values()) and s,
                     30, 0.5, what="all backends behind HAProxy")
    assert ports
    # The services view (agents' heartbeat -> GET /api/services) sees the new process.
    with cluster.client() as c:
        row = wait_for(lambda: next((r for r in c.get("/services").json() if r["host"] == "h2"
                                     and r["program"] == "web-b" and r["pid"] == body["pid"]
                                     and r["state"] == "RUNNING"  # not STARTING: start_secs passed
                                     and r["last_probe"] and r["last_probe"]["ok"]), None),
                       40, 1, what="services view shows the restarted app")
    assert row["address"] == f"{cluster.address('h2')}:8102"
    assert row["release"] == deployed["nodes"]["stage_b"]["outputs"]["release"]
    assert row["config_version"] == deployed["nodes"]["config_b"]["outputs"]["version"]
    deployed["restarted_pid_b"] = body["pid"]


def test_a_second_run_changes_nothing(cluster, smtp, deployed):
    before = {p: get(f"http://{cluster.address(h)}:{p}/")["pid"] for h, p in PORTS.items()}
    t0 = time.monotonic()
    again = cluster.run(cluster.example(), cluster.example_inputs(smtp.port))
    took = time.monotonic() - t0
    assert again["status"] == "succeeded", again["error"]
    changed = {k: n["outputs"]["changed"] for k, n in again["nodes"].items()
               if k.startswith(CHANGING)}
    assert len(changed) == 19 and not any(changed.values()), changed
    after = {p: get(f"http://{cluster.address(h)}:{p}/")["pid"] for h, p in PORTS.items()}
    assert after == before
    assert again["outputs"]["pid_b"] == deployed.get("restarted_pid_b", before[8102])
    assert len(smtp.messages) == 2
    assert took < 30, took


def test_agents_hold_no_database_url_no_key_and_no_broker_password(cluster, deployed):
    for host in cluster.hosts:
        pid = cluster.procs[f"agent-{host}"].pid
        env = dict(e.split(b"=", 1) for e in open(f"/proc/{pid}/environ", "rb").read().split(b"\0") if b"=" in e)
        names = {k.decode() for k in env}
        assert not names & {"NEBHX_DATABASE_URL", "NEBHX_SECRET_KEY", "NEBHX_SECRET_KEY_FILE", "NEBHX_BROKER_URL"}
        assert env[b"NEBHX_AGENT_TOKEN"].startswith(b"nbx_")


SPY = ("import json,os,sys;"
       "r=lambda p:(lambda f:f.read().decode(errors=\"replace\"))(open(p,\"rb\"));"
       "t=lambda p:(lambda:r(p))() if os.access(p,os.R_OK) else \"unreadable\";"
       "seen={\"uid\":os.getuid(),\"env\":dict(os.environ),\"agent\":t(\"/proc/\"+sys.argv[1]+\"/environ\"),"
       "\"procs\":[t(\"/proc/\"+p+\"/environ\") for p in os.listdir(\"/proc\") if p.isdigit()],"
       "\"files\":{os.path.join(d,f):t(os.path.join(d,f))[:20000] for d,_,fs in os.walk(sys.argv[2]) for f in fs}};"
       "open(sys.argv[3]+\"/seen.json\",\"w\").write(json.dumps(seen));"
       "__import__(\"time\").sleep(3600)")


def test_an_app_on_a_namespace_host_cannot_read_its_agents_credentials(cluster, deployed):
    """Issue 18: an app that service.run starts on h2 looks for h2's token and broker credential
    in its environment, /proc/<agent>/environ, every /proc/*/environ and every file of the
    cluster's folder (the agents' homes, the store, the logs): it finds none of them."""
    import hashlib
    import hmac
    import json
    import shlex

    from support import graph
    data = cluster.workdir / "hosts" / "h2" / "spy-data"
    data.mkdir()
    agent = cluster.procs["agent-h2"].pid
    command = f"/usr/bin/python3 -c {shlex.quote(SPY)} {agent} {cluster.workdir} {{data}}"
    doc = graph("spy", [("spy", "service.run", {"host": "h2", "service": "spy", "command": command,
                                                "data_path": str(data), "start_secs": 1})])
    run = cluster.run(doc)
    assert run["status"] == "succeeded", run["error"]
    seen = json.loads(wait_for(lambda: (data / "seen.json").exists() and (data / "seen.json").read_text(),
                               30, 0.2, what="the spy's report"))
    broker_pw = hmac.new(cluster.secret_key.encode(), b"nebhx-broker:h2", hashlib.sha256).hexdigest()
    admin_pw = cluster.broker_url.split(":")[2].split("@")[0]
    dump = json.dumps(seen)
    for name, canary in (("token", cluster.host_tokens["h2"]), ("broker password", broker_pw),
                         ("the broker's admin password", admin_pw), ("the secret key", cluster.secret_key)):
        assert canary not in dump, f"the app read h2's {name}"
    assert seen["uid"] != 0 and seen["agent"] == "unreadable"
    assert not [f for f in seen["files"] if not f.startswith(str(data))], "the app sees the cluster's files"
