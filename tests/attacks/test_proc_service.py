"""Issue 18, finding 3: what a program started by ``service.run`` can read of the agent.

An "agent" process is started here as a real agent is: the host token and the broker URL
with its password in its environment, a token file in its NEBHX_HOME. It runs service.run
(which starts the host's supervisord) with a spy program that dumps what it sees: its own
environment, every /proc/*/environ and cmdline it can open, the token file, another
service's rendered config. The canaries must appear nowhere in that dump.
"""
from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from nebhx.runtime.supervisor import Supervisor, pid_alive
from support import wait_for

TOKEN = "nbx_canary" + secrets.token_hex(12)
BROKER_PASSWORD = "brokerpw" + secrets.token_hex(12)
OTHER_SECRET = "other-svc-secret-" + secrets.token_hex(8)
BASE_ENV = {"PATH", "HOME", "LANG", "USER", "LOGNAME"}

SPY = r'''
import json, os, pwd, sys, time
agent_pid, token_file, other_config, own_config, out = sys.argv[1:6]

def read(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode(errors="replace")
    except OSError as exc:
        return "ERR " + type(exc).__name__

procs = {}
for pid in os.listdir("/proc"):
    if pid.isdigit():
        procs[pid] = read(f"/proc/{pid}/environ") + "\n" + read(f"/proc/{pid}/cmdline")
report = {"uid": os.getuid(), "user": pwd.getpwuid(os.getuid()).pw_name, "env": dict(os.environ),
          "agent_environ": read(f"/proc/{agent_pid}/environ"),
          "parent_environ": read(f"/proc/{os.getppid()}/environ"),
          "token_file": read(token_file), "other_config": read(other_config),
          "own_config": read(own_config), "procs": procs}
tmp = out + ".tmp"
with open(tmp, "w") as f:
    json.dump(report, f)
os.replace(tmp, out)
time.sleep(3600)
'''

# The agent: a process with the host's credentials in its environment that runs the brick
# in-process (as a Celery pool child of `nebhx agent` does) and stays alive while the spy looks.
AGENT = r'''
import json, os, sys
from nebhx import Context
from nebhx.bricks.registry import load_registry
from nebhx.runtime import HostRuntime
palette = load_registry([__import__("pathlib").Path(sys.argv[3])])
rt = HostRuntime("h1", sys.argv[1])
rt.address = "127.0.0.1"
inputs = json.loads(sys.argv[2].replace("AGENT_PID", str(os.getpid())))
brick = palette.get("service.run")()
try:
    out = brick(Context(runtime=rt, host="h1"), **inputs).model_dump()
except Exception as exc:
    out = {"error": str(exc)}
print(json.dumps(out), flush=True)
sys.stdin.read()
'''

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def host(tmp_path):
    """A host home with the spy as the release of service `spy`, its config, its data
    folder, another service's rendered config and the agent's token file."""
    home = tmp_path / "host"
    release = home / "services" / "spy" / "releases" / "r1"
    release.mkdir(parents=True)
    (release / "spy.py").write_text(SPY)
    (home / "services" / "spy" / "config.txt").write_text("own-config")
    (home / "services" / "spy" / "data").mkdir()
    other = home / "services" / "other" / "configs" / "v1"
    other.mkdir(parents=True)
    (other / "app.conf").write_text(f"password = {OTHER_SECRET}\n")
    agent_home = tmp_path / "agent-home"
    agent_home.mkdir()
    token_file = agent_home / "agent.token"
    token_file.write_text(TOKEN)
    token_file.chmod(0o644)  # even readable by anyone, the agent's home must stay out of sight
    yield home, agent_home
    sv = Supervisor(home / "supervisor")
    pid = sv.daemon_pid()
    sv.shutdown()
    assert not pid_alive(pid)


def run_as_agent(home: Path, agent_home: Path, **inputs) -> tuple[subprocess.Popen, dict]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEBHX_")}
    env.update(NEBHX_HOME=str(agent_home), NEBHX_AGENT_TOKEN=TOKEN,
               NEBHX_BROKER_URL=f"redis://:{BROKER_PASSWORD}@127.0.0.1:6390/0",
               NEBHX_AGENT_HOST="h1", PYTHONPATH=str(ROOT / "backend"))
    proc = subprocess.Popen([sys.executable, "-c", AGENT, str(home), json.dumps(inputs), str(ROOT / "blocks")],
                            env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert line, "the agent process died before answering"
    return proc, json.loads(line)


def spy_inputs(home: Path, agent_home: Path, **extra) -> dict:
    svc = home / "services" / "spy"
    report = svc / "data" / "report.json"
    command = (f"/usr/bin/python3 {{release}}/spy.py AGENT_PID {agent_home / 'agent.token'} "
               f"{home / 'services/other/configs/v1/app.conf'} {{config}} {report}")
    return {"host": "h1", "service": "spy", "command": command, "release_path": str(svc / "releases" / "r1"),
            "config_path": str(svc / "config.txt"), "data_path": str(svc / "data"),
            "env": {"APP_MODE": "prod", "DB_PASSWORD": "handed-over-on-purpose"}, "start_secs": 1, **extra}


def spy_report(home: Path) -> dict:
    path = home / "services" / "spy" / "data" / "report.json"
    return json.loads(wait_for(lambda: path.exists() and path.read_text(), 20, what="the spy's report"))


def assert_sees_no_credential(report: dict) -> None:
    dump = json.dumps(report)
    for canary in (TOKEN, BROKER_PASSWORD, OTHER_SECRET):
        assert canary not in dump, f"the program read {canary[:12]}...: " + ", ".join(
            k for k, v in report.items() if canary in json.dumps(v))


def test_a_service_runs_unprivileged_with_exactly_its_declared_environment(host):
    home, agent_home = host
    agent, out = run_as_agent(home, agent_home, **spy_inputs(home, agent_home))
    try:
        assert "error" not in out, out
        report = spy_report(home)
    finally:
        agent.stdin.close()
        agent.wait(timeout=30)
    assert report["uid"] != 0 and report["user"] == "nbx-spy", (report["uid"], report["user"])
    env = report["env"]
    assert set(env) - BASE_ENV == {"APP_MODE", "DB_PASSWORD"}, sorted(env)
    assert env["DB_PASSWORD"] == "handed-over-on-purpose" and env["APP_MODE"] == "prod"
    assert report["own_config"] == "own-config"  # its config readable, its data writable
    assert_sees_no_credential(report)
    assert report["other_config"].startswith("ERR")
    assert report["token_file"].startswith("ERR")


def test_root_only_when_the_graph_asks_and_still_no_inherited_environment(host):
    home, agent_home = host
    from nebhx.bricks.registry import load_registry
    from nebhx import Context
    from nebhx.runtime import HostRuntime
    palette = load_registry([ROOT / "blocks"])
    plan = palette.get("service.run")().plan(Context(runtime=HostRuntime("h1", home), host="h1"),
                                             palette.get("service.run").Inputs(**spy_inputs(home, agent_home,
                                                                                           user="root")))
    assert "as root" in plan["effect"], plan
    agent, out = run_as_agent(home, agent_home, **spy_inputs(home, agent_home, user="root"))
    try:
        assert "error" not in out, out
        report = spy_report(home)
    finally:
        agent.stdin.close()
        agent.wait(timeout=30)
    assert report["uid"] == 0
    assert set(report["env"]) - BASE_ENV == {"APP_MODE", "DB_PASSWORD"}, sorted(report["env"])
    assert TOKEN not in json.dumps(report["env"]) and BROKER_PASSWORD not in json.dumps(report["env"])


def test_a_user_that_does_not_exist_is_refused_naming_the_input(host):
    home, agent_home = host
    agent, out = run_as_agent(home, agent_home, **spy_inputs(home, agent_home, user="nbx-no-such-user-here"))
    agent.stdin.close()
    agent.wait(timeout=30)
    assert "user" in out.get("error", "") and "nbx-no-such-user-here" in out["error"], out



def test_a_check_command_and_a_host_command_get_no_agent_credential(tmp_path, monkeypatch):
    """check.command's output is shown in the run: the agent's credentials must not be in it."""
    from nebhx import Context
    from nebhx.bricks.registry import load_registry
    from nebhx.runtime import HostRuntime, shell
    monkeypatch.setenv("NEBHX_AGENT_TOKEN", TOKEN)
    monkeypatch.setenv("NEBHX_BROKER_URL", f"redis://:{BROKER_PASSWORD}@127.0.0.1:6390/0")
    palette = load_registry([ROOT / "blocks"])
    ctx = Context(runtime=HostRuntime("h1", tmp_path / "host"), host="h1")
    out = palette.get("check.command")()(ctx, host="h1", command="env; cat /proc/$$/environ")
    assert TOKEN not in json.dumps(out.model_dump()) and BROKER_PASSWORD not in json.dumps(out.model_dump())
    printed = shell.run(["env"]).stdout
    assert "NEBHX_AGENT_TOKEN" not in printed and BROKER_PASSWORD not in printed
