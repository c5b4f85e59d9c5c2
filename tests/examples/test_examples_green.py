"""The first hour: every shipped example runs green against `nebhx up`, as the README says, and
does what `nebhx plan` said it would.

One `nebhx up` (private NEBHX_HOME, started in the repository's root, host `local` labelled
role=web, the development mail sink on a free port) runs every examples/*.json with
`nebhx run FILE --wait` and the inputs below, right after `nebhx plan FILE --json` with the same
inputs; the run's outputs are compared with the plan's node by node (tests/examples/plan_vs_run.py).
The e-mails land in the mail sink.
"""
from __future__ import annotations

import json
import signal
import subprocess
import sys

import httpx
import pytest

from plan_vs_run import compare
from support import ROOT, free_port, make_env, stop_daemons, wait_for

# Examples that need several hosts and root (VXLAN links between hosts, smbd) run on the
# namespace cluster, in the test named here, instead of against one `nebhx up` host.
ON_CLUSTER = {"network-overlay.json": "tests/cluster/test_network_example.py"}
EXAMPLES = sorted(p for p in (ROOT / "examples").glob("*.json") if p.name not in ON_CLUSTER)
# The inputs each example documents (its README line or its required inputs); a graph with
# an smtp_port input also gets the port of this test's mail sink.
INPUTS: dict[str, list[str]] = {
    "hello.json": ["-i", "login=alice", "-i", "share_password=hunter2"],
    "web-service.json": [],
    "canary-update.json": ["-i", "selector=role=web"],
    "sync-update.json": ["-i", "selector=role=web"],
    "build-on-push.json": [],  # builds this repository's own HEAD
    "build-on-push-cluster.json": [],  # this HEAD onto every host up (here: local) behind HAProxy
    "cloud-init-seeds.json": [],  # seeds of web1, db1, db2 on host local
}
# Approval gates a person would approve while the run waits (`nebhx approve RUN NODE`).
APPROVE = {"canary-update.json": ["approve"]}
# Nodes whose plan cannot be told before the run, and why: they deploy what the run builds.
BUILT_BY_THE_RUN = {"build-on-push.json": {"stage", "switch", "serve"},
                    "build-on-push-cluster.json": {"prepare", "switch", "commit"}}
# Subjects of the e-mails each example sends.
MAIL = {"web-service.json": ["web is live on three hosts"],
        "canary-update.json": ["web: the canary runs the new release"]}


def nebhx(*args: str, env: dict, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nebhx.cli.main", *args], capture_output=True, text=True,
                          env=env, timeout=timeout, cwd=ROOT)


class Up:
    def __init__(self, tmp):
        self.home = tmp / "home"
        self.smtp_port, port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{port}"
        # A plan may hash the example app (examples/app) to tell web-service's release id.
        # Leases as in production, not the fast suite's 3 s: on a loaded machine a node whose
        # heartbeat is late would be taken for lost and run again, and a second attempt finds
        # the program its first one defined (changed=False where the plan rightly said True).
        self.env = make_env(self.home, NEBHX_URL=self.url, NEBHX_MAIL_SINK=f"127.0.0.1:{self.smtp_port}",
                            NEBHX_HOST_SOURCE_PATHS=str(ROOT / "examples"),
                            NEBHX_LEASE_S="20", NEBHX_WORKER_DOWN_S="20")
        self.home.mkdir()
        self.log = self.home / "up.log"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "nebhx.cli.main", "up", "--port", str(port),
                                          "--label", "role=web"], env=self.env, cwd=ROOT, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        wait_for(lambda: httpx.get(self.url + "/api/health").status_code == 200, 60, what="nebhx up")

    def api(self, path: str):
        return httpx.get(self.url + "/api" + path, timeout=30).json()

    def stop(self) -> str:
        """SIGTERM to `nebhx up` alone, as a service manager would; its last words."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=60)
        return self.log.read_text(errors="replace")


@pytest.fixture(scope="module")
def up(tmp_path_factory):
    server = Up(tmp_path_factory.mktemp("examples"))
    yield server
    server.stop()
    stop_daemons(server.home)


def _approve_when_waiting(up: Up, name: str, nodes: list[str], proc) -> None:
    """Approve each gate of the newest run of graph ``name`` as it starts waiting."""
    for node in nodes:
        def waiting():
            if proc.poll() is not None:
                pytest.fail(f"the run ended before {node} waited:\n{proc.stdout.read()}")
            runs = [r for r in up.api("/runs") if r["graph_name"] == name]
            run = up.api(f"/runs/{runs[0]['id']}") if runs else None
            return run and run["nodes"].get(node, {}).get("status") == "waiting" and run
        run = wait_for(waiting, 240, interval=0.5, what=f"{name}: {node} waiting")
        res = nebhx("approve", run["id"], node, "--comment", "examples test", env=up.env)
        assert res.returncode == 0 and f"node {node} approved" in res.stdout, res.stderr


def test_cluster_examples_run_in_the_cluster_suite():
    for name, test in ON_CLUSTER.items():
        assert (ROOT / "examples" / name).exists(), name
        assert f'"examples" / "{name}"' in (ROOT / test).read_text(), f"{test} does not run examples/{name}"


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs_green(up, path):
    if path.name not in INPUTS:
        pytest.fail(f"examples/{path.name} has no row in INPUTS: add the inputs it documents")
    doc = json.loads(path.read_text())
    args = list(INPUTS[path.name])
    if any(i["name"] == "smtp_port" for i in doc.get("inputs", [])):
        args += ["-i", f"smtp_port={up.smtp_port}"]
    planned = nebhx("plan", str(path), "--json", *args, env=up.env, timeout=120)
    assert planned.returncode == 0, planned.stderr
    plan_nodes = json.loads(planned.stdout)["nodes"]
    cmd = [sys.executable, "-m", "nebhx.cli.main", "run", str(path), "--wait", *args]
    with subprocess.Popen(cmd, env=up.env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True) as proc:
        _approve_when_waiting(up, doc["name"], APPROVE.get(path.name, []), proc)
        out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, f"nebhx run {path.name} failed:\n{out}"
    assert " succeeded" in out, out
    if doc.get("outputs"):
        assert "outputs" in out.rsplit(" succeeded", 1)[-1], f"nebhx run --wait printed no outputs:\n{out}"
    run = up.api(f"/runs/{[r for r in up.api('/runs') if r['graph_name'] == doc['name']][0]['id']}")
    wrong, compared, untold = compare(plan_nodes, run["nodes"])
    assert not wrong, f"{path.name}: the run did not do what the plan said:\n" + "\n".join(wrong)
    untold = [u for u in untold if u.split("[")[0].split(":")[0] not in BUILT_BY_THE_RUN.get(path.name, set())]
    assert not untold, f"{path.name}: the plan could not tell what these did:\n" + "\n".join(untold)
    print(f"{path.name}: {compared} planned values and changes compared with the run")
    subjects = [m["subject"] for m in up.api("/mail")]
    for subject in MAIL.get(path.name, []):
        assert subject in subjects, f"{path.name}: no e-mail {subject!r} in the mail sink ({subjects})"


def test_the_sink_shows_the_examples_mail_and_up_says_what_it_left_running(up):
    shown = nebhx("mail", env=up.env).stdout
    for subjects in MAIL.values():
        for subject in subjects:
            assert subject in shown
    last_words = up.stop()
    assert "still running" in last_words and "supervisord of local" in last_words, last_words[-2000:]
    assert "haproxy web of local" in last_words and "stop them with `nebhx down`" in last_words
    down = nebhx("down", env=up.env)
    assert down.returncode == 0 and "stopped supervisord of local" in down.stdout, down.stdout + down.stderr
    assert "nothing left running" in nebhx("down", env=up.env).stdout
    with pytest.raises(httpx.TransportError):
        httpx.get("http://127.0.0.1:8100/", timeout=2)  # the example's balancer is gone
