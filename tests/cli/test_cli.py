"""The nebhx command as a user types it."""
from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
import yaml

from support import ROOT, graph, make_env, wire


def nebhx(*args: str, env: dict | None = None, input: str | None = None, timeout: float = 120):
    return subprocess.run([sys.executable, "-m", "nebhx.cli.main", *args], capture_output=True, text=True,
                          env=env, input=input, timeout=timeout, cwd=ROOT)


@pytest.fixture
def env(tmp_path):
    return make_env(tmp_path)


def test_validate_exit_codes_and_messages(tmp_path, env):
    good = ROOT / "examples" / "hello.json"
    assert nebhx("validate", str(good), env=env).returncode == 0
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(graph("bad", [("a", "test.echo"), ("b", "core.share_settings")],
                                    [wire("a", "text", "b", "password")])))
    res = nebhx("validate", str(bad), env=env)
    assert res.returncode == 1
    assert "b.password: a.text (string) does not fit b.password (Secret)" in res.stderr
    assert "a.text: required input 'text' is neither wired nor set" in res.stderr
    out = json.loads(nebhx("validate", str(bad), "--json", env=env).stdout)
    assert out["ok"] is False and {p["node"] for p in out["problems"]} == {"a", "b"}
    (tmp_path / "junk.json").write_text("{oops")
    res = nebhx("validate", str(tmp_path / "junk.json"), env=env)
    assert res.returncode == 1 and "not valid JSON" in res.stderr


def test_validate_refuses_files_over_the_limits_without_a_traceback(tmp_path, env):
    deep = tmp_path / "deep.json"
    deep.write_text('{"format": "nebhx/graph@1", "name": "d", "meta": ' + "[" * 50_000 + "]" * 50_000 + "}")
    res = nebhx("validate", str(deep), env=env)
    assert res.returncode == 1 and "nested deeper than 64 levels" in res.stderr
    assert "Traceback" not in res.stderr + res.stdout
    nan = tmp_path / "nan.json"
    nan.write_text(json.dumps(graph("n", [("t", "core.template", {"template": "x", "values": {"a": float("nan")}})])))
    res = nebhx("validate", str(nan), env=env)
    assert res.returncode == 1 and "/nodes/0/params/values/a" in res.stderr and "NaN" in res.stderr
    assert "Traceback" not in res.stderr + res.stdout


def test_bricks_json_lists_the_palette(env):
    palette = json.loads(nebhx("bricks", "--json", env=env).stdout)
    ids = {b["id"] for b in palette["bricks"]}
    assert {"core.template", "test.echo"} <= ids
    tpl = next(b for b in palette["bricks"] if b["id"] == "core.template")
    assert set(tpl) >= {"id", "title", "category", "docs", "parent", "inputs_schema", "outputs_schema"}


def test_run_import_export_against_a_server(stack, tmp_path):
    env = {**stack.env, "NEBHX_URL": stack.url}
    hello = ROOT / "examples" / "hello.json"
    res = nebhx("run", str(hello), "--wait", "-i", "login=cli", "-i", "share_password=pw-cli", env=env)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "succeeded" in res.stdout
    failing = tmp_path / "fail.json"
    failing.write_text(json.dumps(graph("cli-fail", [("boom", "test.fail", {"message": "kaboom"})])))
    res = nebhx("run", str(failing), "--wait", env=env)
    assert res.returncode == 1 and "kaboom" in res.stdout
    saved = json.loads(nebhx("import", str(hello), "--json", env=env).stdout)
    exported = tmp_path / "out.json"
    assert nebhx("export", saved["id"], "-o", str(exported), env=env).returncode == 0
    assert json.loads(exported.read_text()) == json.loads(hello.read_text())
    runs = json.loads(nebhx("runs", "--json", env=env).stdout)
    assert {"hello", "cli-fail"} <= {r["graph_name"] for r in runs}


def test_run_embedded_needs_no_server(tmp_path):
    env = make_env(tmp_path, NEBHX_URL="http://127.0.0.1:9")
    res = nebhx("run", str(ROOT / "examples" / "hello.json"), "--embedded", "--json", "-i", "login=emb",
                "-i", "share_password=pw-emb", env=env)
    assert res.returncode == 0, res.stderr[-2000:]
    run = json.loads(res.stdout)
    assert run["status"] == "succeeded" and run["outputs"]["line"] == "mount //10.0.0.5/data as emb"


def test_no_server_is_a_clear_error(tmp_path):
    env = make_env(tmp_path, NEBHX_URL="http://127.0.0.1:9")
    res = nebhx("runs", env=env)
    assert res.returncode == 2 and "no Nebh-X server at http://127.0.0.1:9" in res.stderr


def test_compose_commands_exist_in_the_cli():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"api", "worker", "redis", "postgres"} <= set(services)
    help_text = nebhx("--help").stdout
    for name in ("api", "worker"):
        command = services[name]["command"]
        words = command.split() if isinstance(command, str) else command
        assert words[0] == "nebhx"
        assert f" {words[1]} " in help_text.replace("│", " ")
        res = nebhx(*words[1:], "--help")
        assert res.returncode == 0, res.stderr
    env = services["api"]["environment"]
    assert env["NEBHX_BROKER_URL"].startswith("redis://:${REDIS_PASSWORD") and "postgresql" in env["NEBHX_DATABASE_URL"]
    # An agent holds neither the store nor the key: only the API's URL and its host's token.
    agent = services["agent-app1"]
    assert set(agent["environment"]) == {"NEBHX_AGENT_TOKEN", "NEBHX_HOST_HOME"}
    words = agent["command"].split()
    assert words[:2] == ["nebhx", "agent"] and "--server" in words
    assert nebhx(*words[1:], "--help").returncode == 0


def test_run_wait_prints_outputs_masked_and_runs_fit_80_columns(stack):
    env = {**stack.env, "NEBHX_URL": stack.url, "COLUMNS": "80"}
    res = nebhx("run", str(ROOT / "examples" / "hello.json"), "--wait", "-i", "login=tab",
                "-i", "share_password=pw-tab", env=env)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "outputs" in res.stdout and "mount //10.0.0.5/data as tab" in res.stdout
    assert "mount_options" in res.stdout and "******" in res.stdout and "pw-tab" not in res.stdout
    out = nebhx("runs", env=env).stdout
    assert max(len(line) for line in out.splitlines()) <= 80
    row = next(line for line in out.splitlines() if "succeeded" in line)
    assert len(re.findall(r"\d\d-\d\d \d\d:\d\d:\d\d", row)) == 2, out  # started and finished, whole


def test_reject_says_rejected_and_the_run_fails(stack):
    env = {**stack.env, "NEBHX_URL": stack.url}
    doc = graph("cli-gate", [("gate", "gate.approval", {"message": "go?"})])
    run = stack.run(doc, wait=False)
    stack.wait_node(run["id"], "gate", "waiting")
    res = nebhx("reject", run["id"], "gate", "--comment", "not today", env=env)
    assert res.returncode == 0, res.stderr
    assert f"run {run['id']}: node gate rejected by local" in res.stdout
    done = stack.wait_run(run["id"])
    assert done["status"] == "failed" and "rejected by local: not today" in done["nodes"]["gate"]["error"]


def test_mail_lists_what_the_sink_received_newest_first(tmp_path):
    from nebhx.mail.sink import start
    from nebhx.runtime.notify import send_email
    from support import Stack, free_port
    env = make_env(tmp_path)
    stack = Stack(tmp_path, env).start(worker=False)
    sink = start(tmp_path, "127.0.0.1", port := free_port())
    try:
        send_email("127.0.0.1", port, "a@example.org", ["b@example.org"], "first", "one\n")
        send_email("127.0.0.1", port, "a@example.org", ["c@example.org", "d@example.org"], "second", "two\n")
        env = {**env, "NEBHX_URL": stack.url}
        rows = json.loads(nebhx("mail", "--json", env=env).stdout)
        assert [m["subject"] for m in rows] == ["second", "first"]
        assert rows[0]["to"] == ["c@example.org", "d@example.org"] and rows[0]["from"] == "a@example.org"
        assert rows[0]["text"].strip() == "two" and rows[0]["date"]
        shown = nebhx("mail", env=env).stdout
        assert shown.index("second") < shown.index("first") and "to c@example.org, d@example.org" in shown
    finally:
        sink.stop()
        stack.stop()


def test_down_with_nothing_running_says_so(tmp_path):
    res = nebhx("down", env=make_env(tmp_path))
    assert res.returncode == 0 and "nothing left running" in res.stdout


def test_up_stop_services_on_exit_stops_what_the_host_started(tmp_path):
    import signal

    import httpx

    from support import free_port, wait_for
    port, app_port = free_port(), free_port()
    env = make_env(tmp_path, NEBHX_URL=f"http://127.0.0.1:{port}", NEBHX_MAIL_SINK="off")
    log = tmp_path / "up.log"
    with open(log, "wb") as out:
        up = subprocess.Popen([sys.executable, "-m", "nebhx.cli.main", "up", "--port", str(port),
                               "--stop-services-on-exit"], env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        wait_for(lambda: httpx.get(f"http://127.0.0.1:{port}/api/health").status_code == 200, 60, what="nebhx up")
        doc = tmp_path / "svc.json"
        doc.write_text(json.dumps(graph("svc", [("web", "service.run", {
            "host": "local", "service": "web", "port": app_port, "ready_http": "/health",
            "command": f"{sys.executable} {ROOT / 'examples' / 'app' / 'webapp.py'} --port {{port}}"})])))
        res = nebhx("run", str(doc), "--wait", env=env)
        assert res.returncode == 0, res.stdout + res.stderr
        assert httpx.get(f"http://127.0.0.1:{app_port}/health").status_code == 200
    finally:
        up.send_signal(signal.SIGTERM)
        up.wait(timeout=60)
    said = log.read_text(errors="replace")
    assert "stopped supervisord of local" in said and "web (running)" in said, said[-2000:]
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{app_port}/health", timeout=2)
    assert "nothing left running" in nebhx("down", env=env).stdout
