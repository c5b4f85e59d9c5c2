"""ansible.playbook with the real ansible-core (Debian `ansible-core`), connection local.

The brick as a plain object on a host folder here; tests/cluster/test_ansible_cluster.py runs
it through namespace hosts' agents.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from nebhx import BrickFailed, Context
from nebhx.runtime import HostRuntime

ROOT = Path(__file__).resolve().parents[2]

PLAYBOOK = """
- hosts: all
  gather_facts: true
  gather_subset: [min]
  tasks:
    - name: motd file
      ansible.builtin.copy:
        dest: "{{ target }}/motd"
        content: "hello {{ greeting }} from {{ nebhx_host }}\\n"
    - name: label marker for web hosts
      ansible.builtin.file:
        path: "{{ target }}/web-marker"
        state: touch
        modification_time: preserve
        access_time: preserve
      when: "'role_web' in group_names"
    - name: remember a value
      ansible.builtin.set_fact:
        motd_owner: "{{ nebhx_labels.role | default('none') }}"
"""


def _ansible():
    if shutil.which("ansible-playbook") is None:
        pytest.fail("ansible-playbook is not installed: apt-get install -y ansible-core (deps/apt.txt lists it)")


@pytest.fixture(scope="module")
def brick():
    _ansible()
    from nebhx.bricks.registry import load_registry
    reg = load_registry([ROOT / "blocks"])
    assert not [e for e in reg.errors if "ansible" in e.source], reg.errors
    return reg.get("ansible.playbook")()


@pytest.fixture
def ctx(tmp_path, monkeypatch):
    monkeypatch.setenv("NEBHX_AGENT_LABELS", '{"role": "web", "zone": "eu-1"}')
    return Context(runtime=HostRuntime("h1", tmp_path / "h1"), run_id="r1", node_id="conf")


def test_runs_streams_tasks_counts_and_returns_facts(brick, ctx, tmp_path):
    target = tmp_path / "h1" / "etc"
    target.mkdir(parents=True)
    args = dict(host="h1", playbook=PLAYBOOK, vars={"target": str(target), "greeting": "ops"},
                facts=["motd_owner", "ansible_distribution", "missing_fact"])
    plan = brick.plan(ctx, brick.Inputs(**args))
    assert plan["changes"] is True and "motd file" in plan["effect"]
    assert not (target / "motd").exists()  # check mode changed nothing
    assert any("+hello ops from h1" in t["diff"] for t in plan["tasks"])

    out = brick(ctx, **args)
    assert (target / "motd").read_text() == "hello ops from h1\n"
    assert (target / "web-marker").exists()  # label role=web became group role_web
    assert out.changed == 2 and out.failed == 0 and out.ok >= 4
    assert out.facts == {"motd_owner": "web", "ansible_distribution": "Debian"}
    log = "\n".join(ctx.lines)
    assert "changed: motd file [h1]" in log and "ok: remember a value [h1]" in log
    assert not list((tmp_path / "h1" / "ansible").glob("*"))  # the inventory (vars may hold secrets) is gone

    again = brick(ctx, **args)
    assert again.changed == 0
    assert brick.plan(ctx, brick.Inputs(**args))["changes"] is False


def test_a_failed_task_fails_the_node_naming_it(brick, ctx):
    book = """
- hosts: all
  gather_facts: false
  tasks:
    - name: fine
      ansible.builtin.debug: {msg: hi}
    - name: check the disk
      ansible.builtin.command: /bin/false
    - name: never reached
      ansible.builtin.debug: {msg: no}
"""
    with pytest.raises(BrickFailed, match=r"task 'check the disk' failed on h1: .*non-zero return code"):
        brick(ctx, host="h1", playbook=book)
    assert "never reached" not in "\n".join(ctx.lines)


def test_bad_inputs_are_clear(brick, ctx):
    with pytest.raises(ValueError, match="exactly one of `playbook`"):
        brick.Inputs(host="h1")
    with pytest.raises(BrickFailed, match="list of plays"):
        brick(ctx, host="h1", playbook="just: a map")
    with pytest.raises(BrickFailed, match="outside this host's managed folders"):
        brick(ctx, host="h1", playbook_path="/etc/passwd")
    with pytest.raises(BrickFailed, match="for host 'h2' but runs on 'h1'"):
        brick(ctx, host="h2", playbook=PLAYBOOK)
    with pytest.raises(BrickFailed, match="not an Ansible group name"):
        brick(ctx, host="h1", playbook=PLAYBOOK, groups=["a-b c"])


def test_a_playbook_file_on_the_host(brick, ctx, tmp_path):
    book = tmp_path / "h1" / "site.yml"
    book.write_text("- hosts: role_web\n  gather_facts: false\n  tasks:\n"
                    "    - {name: say, ansible.builtin.debug: {msg: hi}}\n")
    out = brick(ctx, host="h1", playbook_path=str(book))
    assert (out.ok, out.changed, out.failed) == (1, 0, 0)


def test_a_secret_in_vars_is_masked_in_the_log_the_plan_and_the_error(brick, tmp_path, monkeypatch):
    monkeypatch.setenv("NEBHX_AGENT_LABELS", "{}")
    ctx = Context(runtime=HostRuntime("h1", tmp_path / "h1"), secrets=["s3cr3t-pw"])
    target = tmp_path / "h1" / "etc"
    target.mkdir(parents=True)
    book = """
- hosts: all
  gather_facts: false
  tasks:
    - name: password file
      ansible.builtin.copy: {dest: "{{ target }}/pw", content: "{{ pw }}\\n", mode: "0600"}
    - name: show it
      ansible.builtin.fail: {msg: "bad password {{ pw }}"}
"""
    args = dict(host="h1", playbook=book, vars={"target": str(target), "pw": "s3cr3t-pw"})
    with pytest.raises(BrickFailed) as failed_plan:
        brick.plan(ctx, brick.Inputs(**args))
    with pytest.raises(BrickFailed) as failed:
        brick(ctx, **args)
    assert (target / "pw").read_text() == "s3cr3t-pw\n"  # the value reached the host
    for text in (str(failed_plan.value), str(failed.value), "\n".join(ctx.lines)):
        assert "s3cr3t-pw" not in text and "******" in text
