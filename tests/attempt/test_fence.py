"""Fencing on one machine: an attempt's processes are its group; the next attempt of a node
stops what an earlier one still runs before it starts. Real processes, no stack."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from nebhx.attempt import fence

# A pool child in miniature: leads its own group, starts a command that outlives it, prints both pids.
LEADER = """
import os, subprocess, sys, time
os.setpgid(0, 0)
cmd = subprocess.Popen(["sleep", "60"])
print(os.getpid(), cmd.pid, flush=True)
time.sleep(60)
"""


@pytest.fixture
def records(tmp_path, monkeypatch):
    monkeypatch.setattr(fence, "folder", lambda: tmp_path / "attempts")
    monkeypatch.setattr(fence, "_own_group", True)
    return tmp_path / "attempts"


def start_attempt(records, run_id: str, node_id: str, attempt: int) -> tuple[subprocess.Popen, int, int]:
    """A process running ``attempt`` (and a command of its own), recorded as a pool child would."""
    proc = subprocess.Popen([sys.executable, "-c", LEADER], stdout=subprocess.PIPE, text=True)
    leader, cmd = map(int, proc.stdout.readline().split())
    path = fence._path(run_id, node_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"run": run_id, "node": node_id, "attempt": attempt, "pgid": leader,
                                "start": fence._start_time(leader)}))
    return proc, leader, cmd


def alive(pid: int) -> bool:
    return pid in fence.members(os.getpgid(pid)) if os.path.exists(f"/proc/{pid}") else False


def test_the_next_attempt_stops_the_earlier_ones_processes_before_it_starts(records):
    proc, leader, cmd = start_attempt(records, "r1", "n", 1)
    held = fence.take("r1", "n", 2)
    assert sorted(held.stopped) == sorted([leader, cmd])
    assert not alive(cmd) and proc.wait(5) == -9
    record = json.loads(fence._path("r1", "n").read_text())
    assert record["attempt"] == 2 and record["pgid"] == os.getpid()
    fence.release(held)
    assert not fence._path("r1", "n").exists()


def test_a_command_left_by_a_dead_attempt_is_stopped_too(records):
    proc, leader, cmd = start_attempt(records, "r2", "n", 1)
    os.kill(leader, 9)  # the pool child died (its worker was SIGKILLed): its command lives on
    proc.wait(5)
    assert alive(cmd)
    assert fence.take("r2", "n", 2).stopped == [cmd]
    assert not alive(cmd)


def test_other_nodes_and_the_same_attempt_are_left_alone(records):
    proc, leader, cmd = start_attempt(records, "r3", "a", 1)
    try:
        fence.release(fence.take("r3", "b", 1))  # another node
        assert alive(cmd) and alive(leader)
        assert fence.take("r3", "a", 1).stopped == []  # a duplicate message of the same attempt
        assert alive(cmd)
    finally:
        os.killpg(leader, 9)
        proc.wait(5)


def test_a_worker_starting_stops_what_a_killed_one_left_running(records):
    proc, leader, cmd = start_attempt(records, "r4", "n", 1)
    live, live_leader, live_cmd = start_attempt(records, "r4", "m", 1)
    try:
        os.kill(leader, 9)
        proc.wait(5)
        assert fence.stop_leftovers() == 1
        assert not alive(cmd) and not fence._path("r4", "n").exists()
        assert alive(live_cmd) and fence._path("r4", "m").exists()  # its process still runs it
    finally:
        os.killpg(live_leader, 9)
        live.wait(5)


def test_an_attempt_whose_lease_is_lost_stops_its_own_commands():
    code = """
import os, subprocess, sys, time
from nebhx.attempt import fence
fence.lead_own_group()
cmd = subprocess.Popen(["sh", "-c", "sleep 60 & sleep 60"])
time.sleep(0.3)
stopped = fence.stop_my_group()
print(len(stopped), cmd.wait(), flush=True)
"""
    t0 = time.monotonic()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert out.stdout.split() == ["3", "-9"], out  # sh and both sleeps; the process itself goes on
    assert time.monotonic() - t0 < 20
