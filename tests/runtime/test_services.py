"""The services view: what service.run recorded, the supervisor's state and a live probe,
on the real example app under supervisord (127.0.0.1 only)."""
from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

from nebhx import Context
from nebhx.bricks.registry import load_registry
from nebhx.runtime import HostRuntime
from nebhx.runtime.services import snapshot
from nebhx.runtime.supervisor import pid_alive
from support import free_port

ROOT = Path(__file__).resolve().parents[2]
PALETTE = load_registry([ROOT / "blocks"])
APP = f"{sys.executable} {{release}}/webapp.py --port {{port}} --config {{config}}/app.json --data {{data}}"


@pytest.fixture
def rt(tmp_path):
    runtime = HostRuntime("h1", tmp_path / "h1")
    runtime.address = "127.0.0.1"
    svc = runtime.home / "services" / "web"
    shutil.copytree(ROOT / "examples" / "app", svc / "releases" / "r1",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (svc / "current").symlink_to("releases/r1")
    (svc / "configs" / "c0ffee").mkdir(parents=True)
    (svc / "configs" / "c0ffee" / "app.json").write_text(json.dumps({"greeting": "hi"}))
    (svc / "data").mkdir()
    yield runtime
    pid = runtime.supervisor.daemon_pid()
    runtime.supervisor.shutdown()
    assert not pid_alive(pid)


def run(rt: HostRuntime, **extra):
    svc = rt.home / "services" / "web"
    inputs = dict(host="h1", service="web", command=APP, config_path=str(svc / "configs" / "c0ffee"),
                  data_path=str(svc / "data"), port=free_port(), ready_http="/health",
                  ready_timeout_s=20)
    return PALETTE.get("service.run")()(Context(runtime=rt, host="h1"), **{**inputs, **extra})


def wait_row(rt: HostRuntime, check, timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        rows = snapshot(rt, timeout=1)
        if rows and check(rows[0]):
            return rows[0]
        if time.monotonic() > deadline:
            raise AssertionError(f"services view never matched; last {rows}")
        time.sleep(0.2)


def test_record_and_snapshot_of_a_running_service(rt):
    assert snapshot(rt) == []  # nothing recorded, and supervisord is not started for it
    assert not rt.supervisor.ping()
    out = run(rt, instance="a")
    record = json.loads((rt.home / "services/web/instances/a.json").read_text())
    assert record["service"] == "web" and record["instance"] == "a" and record["program"] == "web-a"
    assert record["release"] == "r1" and record["config_version"] == "c0ffee"
    assert record["address"] == out.address and record["port"] == int(out.address.rsplit(":", 1)[1])
    assert record["probe"] == {"kind": "http", "target": f"http://{out.address}/health"}
    assert datetime.fromisoformat(record["started_at"].replace("Z", "+00:00"))
    assert not list((rt.home / "services/web/instances").glob(".*"))  # no temp file left

    [row] = snapshot(rt)
    assert row["state"] in ("STARTING", "RUNNING")  # ready before supervisord's start_secs
    row = wait_row(rt, lambda r: r["state"] == "RUNNING")
    assert {k: row[k] for k in ("service", "instance", "program", "release", "config_version",
                                "address", "state", "pid")} == {
        "service": "web", "instance": "a", "program": "web-a", "release": "r1",
        "config_version": "c0ffee", "address": out.address, "state": "RUNNING", "pid": out.pid}
    probe = row["last_probe"]
    assert probe["ok"] and probe["error"] is None and probe["elapsed_ms"] >= 0
    assert datetime.fromisoformat(probe["at"]).tzinfo is not None
    assert snapshot(rt, probe=False)[0]["last_probe"] is None

    again = run(rt, instance="a", port=record["port"])  # unchanged: the record keeps its start time
    assert not again.changed
    assert json.loads((rt.home / "services/web/instances/a.json").read_text())["started_at"] == record["started_at"]


def test_killed_stopped_and_removed_service_show_in_the_view(rt):
    out = run(rt)
    assert (rt.home / "services/web/instances/default.json").is_file()
    os.kill(out.pid, signal.SIGKILL)
    # supervisord restarts it: a new pid, and the probe passes again once it serves.
    row = wait_row(rt, lambda r: r["pid"] not in (None, out.pid) and r["state"] == "RUNNING"
                   and r["last_probe"]["ok"])
    assert pid_alive(row["pid"]) and not pid_alive(out.pid)

    PALETTE.get("service.stop")()(Context(runtime=rt, host="h1"), host="h1", service="web")
    [row] = snapshot(rt, timeout=1)
    assert row["state"] == "STOPPED" and row["pid"] is None
    assert not row["last_probe"]["ok"] and "ConnectError" in row["last_probe"]["error"]

    rt.supervisor.shutdown()  # no supervisord at all: unknown, and the probe says why
    [row] = snapshot(rt, timeout=1)
    assert row["state"] == "unknown" and not row["last_probe"]["ok"]

    PALETTE.get("service.stop")()(Context(runtime=rt, host="h1"), host="h1", service="web", remove=True)
    assert snapshot(rt) == []
    assert not (rt.home / "services/web/instances/default.json").exists()


def test_process_and_tcp_probes_and_a_broken_record(rt):
    run(rt, service="idle", instance="p", command="sleep 600", config_path=None, data_path=None,
        port=None, ready_http=None)
    run(rt, instance="t", ready_http=None, ready_tcp=True)
    bad = rt.home / "services/web/instances/zz.json"
    bad.write_text("{not json")
    rows = {r["program"]: r for r in snapshot(rt)}
    assert set(rows) == {"idle-p", "web-t"}
    assert rows["idle-p"]["release"] is None and rows["idle-p"]["config_version"] is None
    assert rows["idle-p"]["last_probe"]["ok"] and rows["web-t"]["last_probe"]["ok"]
    rec = json.loads((rt.home / "services/idle/instances/p.json").read_text())
    assert rec["probe"] == {"kind": "process", "target": "idle-p"}
    assert json.loads((rt.home / "services/web/instances/t.json").read_text())["probe"]["kind"] == "tcp"


def test_an_instance_sees_only_the_releases_it_ran(tmp_path):
    """Issue 17, item 8: two graphs running instances of service `web` on one host share its
    release folder and its current/previous links; each instance shows its own history."""
    from nebhx.runtime.services import _ran, release_view
    rt = HostRuntime("h1", tmp_path / "h1")
    for rid in ("a1", "a2", "b1"):
        rt.releases.stage("web", str(ROOT / "examples" / "app"), release_id=rid)
    for rid in ("a1", "a2", "b1"):  # graph A switched a1 then a2; graph B switched b1 last
        rt.releases.switch("web", rid)
    ran_a = _ran({"ran": _ran({}, "a1")}, "a2")
    assert ran_a == ["a1", "a2"] and _ran({"ran": ran_a}, "a2") == ran_a
    a = release_view(rt, "web", "a", "a2", ran_a)
    assert [(r["id"], r["active"], r["previous"]) for r in a["releases"]] == [("a1", False, True), ("a2", True, False)]
    b = release_view(rt, "web", "b", "b1", ["b1"])
    assert [(r["id"], r["active"], r["previous"]) for r in b["releases"]] == [("b1", True, False)]
    legacy = release_view(rt, "web", None, "b1")  # a record from before histories: every release
    assert [r["id"] for r in legacy["releases"]] == ["a1", "a2", "b1"]
    # Mid-switch: the links moved to b1 (previous a2) while a2 still runs: a2 is not its own previous.
    mid = release_view(rt, "web", "a", "a2", ran_a)
    assert [r["id"] for r in mid["releases"] if r["previous"]] == ["a1"]
    assert [r["id"] for r in release_view(rt, "web", None, "a2")["releases"] if r["previous"]] == []
