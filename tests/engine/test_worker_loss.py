"""A worker killed with SIGKILL in the middle of a node does not lose the run."""
from __future__ import annotations

import signal
from pathlib import Path

from support import graph, order, stack_fixture, wait_for

# Kills and restarts its workers (or API): a stack of its own, not the session's.
stack = stack_fixture("module")


def test_sigkilled_worker_node_is_dispatched_again(stack, tmp_path):
    marker = tmp_path / f"{stack.kind}.started"
    doc = graph("survive", [("long", "test.sleep", {"seconds": 3, "marker": str(marker)}),
                            ("after", "test.echo", {"text": "finished"})], [order("long", "after")])
    run = stack.run(doc, wait=False)
    wait_for(marker.exists, 30, what="the node started")
    first_pid = int(Path(marker).read_text())
    stack.kill("worker", signal.SIGKILL)  # the whole process group: main process and children
    stack.start_worker()
    done = stack.wait_run(run["id"], 90)
    assert done["status"] == "succeeded", done
    long = done["nodes"]["long"]
    assert long["attempt"] == 2
    assert long["outputs"]["pid"] != first_pid
    assert done["nodes"]["after"]["outputs"] == {"text": "finished"}
    with stack.client() as c:
        events = c.get(f"/runs/{run['id']}/events").text
    assert '"status": "lost"' in events


def test_a_node_outliving_its_lease_keeps_it_and_shows_its_log_while_running(stack):
    # FAST timings: a 3 s lease renewed every 0.5 s; the node sleeps past two leases.
    run = stack.run(graph("long", [("slow", "test.sleep", {"seconds": 7})]), wait=False)
    stack.wait_node(run["id"], "slow", "running")
    with stack.client() as c:
        log = wait_for(lambda: c.get(f"/runs/{run['id']}/nodes/slow/log").text, 10, what="log flushed")
    assert "sleeping 7.0s" in log
    done = stack.wait_run(run["id"], 60)
    assert done["status"] == "succeeded"
    assert done["nodes"]["slow"]["attempt"] == 1  # never taken for lost and sent again


def test_a_sigkilled_worker_is_noticed_by_its_silence_not_a_lease_later(tmp_path):
    """With a 60 s lease, a worker killed mid-node is found dead by its missing beats."""
    import time

    from support import Stack, make_env
    env = make_env(tmp_path, NEBHX_LEASE_S="60", NEBHX_HEARTBEAT_S="2", NEBHX_SWEEP_INTERVAL_S="0.5")
    stack = Stack(tmp_path, env).start()
    try:
        marker = tmp_path / "started"
        doc = graph("beat", [("long", "test.sleep", {"seconds": 2, "marker": str(marker)})])
        run = stack.run(doc, wait=False)
        wait_for(marker.exists, 30, what="the node started")
        marker.unlink()
        stack.kill("worker", signal.SIGKILL)
        t0 = time.monotonic()
        stack.start_worker()
        wait_for(marker.exists, 30, what="the node started again")
        again = time.monotonic() - t0
        done = stack.wait_run(run["id"], 60)
    finally:
        stack.stop()
    assert done["status"] == "succeeded" and done["nodes"]["long"]["attempt"] == 2
    assert again < 15, f"dispatched again after {again:.1f}s: the 60 s lease decided, not the worker's silence"
    print(f"worker SIGKILL with a 60 s lease: the node ran again after {again:.1f} s")
