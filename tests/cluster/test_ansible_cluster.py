"""ansible.playbook on namespace hosts: each node's playbook runs on its host's agent
(connection local, in that host's namespace), the inventory carries the agent's labels,
per-task lines reach the node log, a failed task fails the node naming it, and the plan
(check mode) runs on the host too and changes nothing."""
from __future__ import annotations

import shutil
import sys

import pytest
from netns import Cluster, wait_for

HOSTS = ("h1", "h2")
LABELS = {"h1": {"role": "web"}, "h2": {"role": "db"}}
PLAYBOOK = """
- hosts: all
  gather_facts: true
  gather_subset: [network]
  tasks:
    - name: motd for this host
      ansible.builtin.copy:
        dest: "{{ target }}/motd"
        content: "{{ nebhx_labels.role }} at {{ ansible_all_ipv4_addresses | sort | join(',') }}\\n"
    - name: db only
      ansible.builtin.copy: {dest: "{{ target }}/db-only", content: "db\\n"}
      when: "'role_db' in group_names"
    - name: own address
      ansible.builtin.command: ip -4 -o addr show dev eth0
      register: addr
      changed_when: false
      check_mode: false  # it only reads: run it in a plan too
    - name: keep it
      ansible.builtin.set_fact: {eth0: "{{ addr.stdout.split()[3] }}"}
"""


class AnsibleCluster(Cluster):
    """A check-mode run of ansible-playbook takes seconds (Python start, fact gathering): more
    than a plan's default 5 s per host, so the API is given longer (README: Ansible)."""

    def env(self, **extra: str) -> dict[str, str]:
        return super().env(**{"NEBHX_PLAN_HOST_TIMEOUT_S": "90", "NEBHX_PLAN_TIMEOUT_S": "120", **extra})


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if shutil.which("ansible-playbook") is None:
        pytest.fail("ansible-playbook is not installed: apt-get install -y ansible-core (deps/apt.txt lists it)")
    c = AnsibleCluster(tmp_path_factory.mktemp("ansible"), hosts=HOSTS, labels=LABELS)
    try:
        c.up(agent_concurrency=2)
    except BaseException:
        problems = c.down()
        raise AssertionError(f"the cluster did not come up (logs in {c.workdir}); "
                             f"teardown problems: {problems}") from sys.exc_info()[1]
    yield c
    assert not c.down()


def graph(cluster: Cluster, playbook: str) -> dict:
    nodes = [{"id": f"conf_{h}", "brick": "ansible.playbook",
              "params": {"host": h, "playbook": playbook, "facts": ["eth0"],
                         "vars": {"target": str(target(cluster, h))}}} for h in HOSTS]
    return {"format": "nebhx/graph@1", "name": "ansible-hosts", "nodes": nodes, "edges": []}


def target(cluster: Cluster, host: str):
    path = cluster.workdir / "hosts" / host / "etc"
    path.mkdir(parents=True, exist_ok=True)
    return path


def test_plan_is_check_mode_on_each_host_and_changes_nothing(cluster):
    def planned():
        with cluster.client() as c:
            resp = c.post("/graphs/plan", json={"graph": graph(cluster, PLAYBOOK)}, timeout=180)
        assert resp.status_code == 200, resp.text
        nodes = resp.json()["nodes"]
        # Right after `up` a host's agent may not have announced its worker yet.
        return None if any("no agent of host" in n["effect"] for n in nodes.values()) else nodes
    nodes = wait_for(planned, 120, 1, what="both agents answer the plan")
    for h in HOSTS:
        plan = nodes[f"conf_{h}"]
        assert plan.get("changes") is True and "motd for this host" in plan["effect"], plan
        diff = next(t["diff"] for t in plan["tasks"] if t["task"] == "motd for this host")
        # Gathered in the host's namespace: its own address, not the control plane's.
        assert f"+{LABELS[h]['role']} at {cluster.address(h)}" in diff, diff
        assert not (target(cluster, h) / "motd").exists()
    assert "db only" in nodes["conf_h2"]["effect"] and "db only" not in nodes["conf_h1"]["effect"]


def test_run_on_each_hosts_agent_with_its_labels(cluster):
    run = cluster.run(graph(cluster, PLAYBOOK), timeout=240)
    assert run["status"] == "succeeded", {k: n.get("error") for k, n in run["nodes"].items()}
    for h in HOSTS:
        out = run["nodes"][f"conf_{h}"]["outputs"]
        assert out["facts"] == {"eth0": f"{cluster.address(h)}/24"}
        assert out["failed"] == 0 and out["changed"] == (2 if h == "h2" else 1)
        assert (target(cluster, h) / "motd").read_text() == f"{LABELS[h]['role']} at {cluster.address(h)}\n"
        with cluster.client() as c:
            log = c.get(f"/runs/{run['id']}/nodes/conf_{h}/log").text
        assert f"changed: motd for this host [{h}]" in log and f"ok: own address [{h}]" in log
    assert (target(cluster, "h2") / "db-only").exists() and not (target(cluster, "h1") / "db-only").exists()

    again = cluster.run(graph(cluster, PLAYBOOK), timeout=240)
    assert [again["nodes"][f"conf_{h}"]["outputs"]["changed"] for h in HOSTS] == [0, 0]


def test_a_failed_task_fails_its_node_naming_the_task(cluster):
    bad = PLAYBOOK + "    - name: migrate schema\n      ansible.builtin.command: /bin/false\n"
    run = cluster.run(graph(cluster, bad), timeout=240)
    assert run["status"] == "failed"
    for h in HOSTS:
        node = run["nodes"][f"conf_{h}"]
        assert node["status"] == "failed"
        assert f"task 'migrate schema' failed on {h}" in node["error"], node["error"]
