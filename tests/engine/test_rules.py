"""The engine's rules in process (SQLite, no Celery, ``eng`` runs what it sends): trigger
rules, retries and backoff, lost attempts, cancel, retry of a node, approvals. Each test
takes milliseconds; tests/engine/test_runs.py keeps what needs real workers."""
from __future__ import annotations

from datetime import datetime

from support import graph, order


def test_trigger_rules_branch_on_failure(eng):
    run_id = eng.start(graph("rollback", [
        ("deploy", "test.fail", {"message": "new release crashed"}),
        ("check", "test.noop"),
        ("rollback", "test.noop", {}, {"trigger": "any_failed"}),
        ("notify", "test.noop", {}, {"trigger": "all_done"}),
        ("celebrate", "test.noop", {}, {"trigger": "all_failed"}),
    ], [order("deploy", "check"), order("deploy", "rollback"), order("rollback", "notify"),
        order("check", "notify"), order("check", "celebrate")]))
    eng.drain()
    run = eng.run(run_id)
    assert eng.statuses(run_id) == {"deploy": "failed", "check": "skipped", "rollback": "succeeded",
                                    "notify": "succeeded", "celebrate": "skipped"}
    assert run["status"] == "failed" and "deploy" in run["error"]
    assert run["nodes"]["deploy"]["error"] == "new release crashed"


def test_trigger_rules_hold_on_a_wide_fan_in(eng):
    """20 predecessors, one failing midway: each rule decides as it would on a narrow join."""
    fan = [(f"f{i}", "test.fail" if i == 7 else "test.noop") for i in range(20)]
    joins = [("ok", "test.noop"), ("any", "test.noop", {}, {"trigger": "any_failed"}),
             ("done", "test.noop", {}, {"trigger": "all_done"}),
             ("allbad", "test.noop", {}, {"trigger": "all_failed"})]
    run_id = eng.start(graph("wide", [*fan, *joins], [order(f, j[0]) for f, *_ in fan for j in joins]))
    eng.drain()
    nodes = eng.run(run_id)["nodes"]
    assert {j[0]: nodes[j[0]]["status"] for j in joins} == {
        "ok": "skipped", "any": "succeeded", "done": "succeeded", "allbad": "skipped"}
    last_fan_end = max(datetime.fromisoformat(nodes[f]["finished_at"]) for f, *_ in fan)
    assert datetime.fromisoformat(nodes["done"]["started_at"]) >= last_fan_end


def test_retries_with_exponential_backoff(eng, tmp_path):
    counter = tmp_path / "count"
    run_id = eng.start(graph("retry", [("flaky", "test.fail", {"fail_times": 2, "counter_file": str(counter)},
                                        {"retries": 3})]))
    eng.drain()
    run = eng.run(run_id)
    assert run["status"] == "succeeded" and run["nodes"]["flaky"]["attempt"] == 3
    waits = [e["data"]["retry_in_s"] for e in eng.events(run_id) if "retry_in_s" in e["data"]]
    assert waits == [0.5, 1.0]
    assert [e["status"] for e in eng.events(run_id) if e["node"] == "flaky"] == [
        "queued", "running", "retrying", "queued", "running", "retrying", "queued", "running", "succeeded"]


def test_retries_exhausted_fails_with_last_error(eng, tmp_path):
    counter = tmp_path / "exhaust"
    run_id = eng.start(graph("exhaust", [("flaky", "test.fail", {"fail_times": 5, "counter_file": str(counter)},
                                          {"retries": 1})]))
    eng.drain()
    flaky = eng.run(run_id)["nodes"]["flaky"]
    assert (flaky["status"], flaky["attempt"], flaky["error"]) == ("failed", 2, "asked to fail (attempt 2)")


def lose(eng, run_id: str, node_id: str):
    """Its attempt was claimed, then its worker went silent past the lease: the sweep decides."""
    eng.claim(node_id)
    eng.age(run_id, node_id, heartbeat_at=60)
    return eng.sweep()


def test_a_lost_attempt_is_sent_again_once_even_without_retries(eng):
    run_id = eng.start(graph("lost-once", [("n", "test.noop"), ("after", "test.noop")], [order("n", "after")]))
    [again] = lose(eng, run_id, "n")
    assert (again.node_id, again.attempt) == ("n", 2)
    assert [e["status"] for e in eng.events(run_id) if e["node"] == "n"][-2:] == ["lost", "queued"]
    eng.drain()
    assert eng.statuses(run_id) == {"n": "succeeded", "after": "succeeded"}


def test_lost_attempts_count_against_retries_and_end_failed_naming_the_count(eng):
    run_id = eng.start(graph("poison", [("n", "test.noop", {}, {"retries": 2}), ("after", "test.noop")],
                             [order("n", "after")]))
    assert len(lose(eng, run_id, "n")) == 1 and len(lose(eng, run_id, "n")) == 1
    assert lose(eng, run_id, "n") == []  # the third loss: no fourth attempt
    run = eng.run(run_id)
    n = run["nodes"]["n"]
    assert (run["status"], n["status"], n["attempt"]) == ("failed", "failed", 3)
    assert "3 attempts ended without a result (retries: 2)" in n["error"]
    assert run["nodes"]["after"]["status"] == "skipped"


def test_a_failure_and_a_loss_share_the_retries(eng, tmp_path):
    counter = tmp_path / "count"
    run_id = eng.start(graph("shared", [("n", "test.fail", {"fail_times": 9, "counter_file": str(counter)},
                                         {"retries": 2})]))
    eng.step()  # attempt 1 fails: a retry
    lose(eng, run_id, "n")  # attempt 2 lost: the last retry
    eng.drain()  # attempt 3 fails: no retries left
    n = eng.run(run_id)["nodes"]["n"]
    assert (n["status"], n["attempt"]) == ("failed", 3)


def test_a_late_outcome_of_a_lost_attempt_is_refused(eng):
    from nebhx.engine.claims import DbExecution, Outcome
    from nebhx.statuses import NodeStatus
    run_id = eng.start(graph("late", [("n", "test.echo", {"text": "x"})]))
    stale = eng.claim("n")
    eng.age(run_id, "n", heartbeat_at=60)
    eng.sweep()
    ex = DbExecution(eng.url)
    assert ex.renew(stale, "from the lost attempt\n") is False
    assert ex.finish(stale, Outcome(NodeStatus.SUCCEEDED, outputs={"text": "stale"}, inputs={"text": "x"})) is False
    eng.drain()
    run = eng.run(run_id)
    assert run["nodes"]["n"]["outputs"] == {"text": "x"} and run["nodes"]["n"]["attempt"] == 2


def test_cancel_stops_what_is_open_but_runs_always(eng):
    run_id = eng.start(graph("cancel", [("slow", "test.sleep", {"seconds": 60}), ("after", "test.noop"),
                                        ("cleanup", "test.noop", {}, {"trigger": "always"})],
                             [order("slow", "after"), order("after", "cleanup")]))
    eng.claim("slow")  # running
    eng.cancel(run_id)
    assert eng.statuses(run_id) == {"slow": "cancelled", "after": "cancelled", "cleanup": "queued"}
    eng.drain()
    run = eng.run(run_id)
    assert run["status"] == "cancelled" and run["finished_at"]
    assert run["nodes"]["cleanup"]["status"] == "succeeded"
    import pytest

    from nebhx.runs.service import Conflict
    with pytest.raises(Conflict, match="is cancelled, not running"):
        eng.cancel(run_id)


def test_retry_a_failed_node_continues_downstream(eng, tmp_path):
    marker = tmp_path / "ready"
    run_id = eng.start(graph("retry-node", [("gate", "test.fail", {"until_file": str(marker), "message": "not yet"}),
                                            ("next", "test.echo", {"text": "went on"})], [order("gate", "next")]))
    eng.drain()
    assert eng.run(run_id)["status"] == "failed" and eng.statuses(run_id)["next"] == "skipped"
    import pytest

    from nebhx.runs.service import Conflict
    with pytest.raises(Conflict, match="only a failed or cancelled node can be retried"):
        eng.retry(run_id, "next")
    marker.write_text("go")
    eng.retry(run_id, "gate")
    eng.drain()
    run = eng.run(run_id)
    assert run["status"] == "succeeded" and run["nodes"]["next"]["outputs"] == {"text": "went on"}
    assert [e["status"] for e in eng.events(run_id) if e["node"] is None] == ["running", "failed", "running",
                                                                              "succeeded"]


def gate_graph(name: str, timeout_s: float | None = None) -> dict:
    gate = {"message": "Promote 10% canary?", **({"timeout_s": timeout_s} if timeout_s else {})}
    return graph(name, [("canary", "test.noop"), ("gate", "gate.approval", gate),
                        ("rest", "test.echo", {"text": "promoted"}),
                        ("rollback", "test.echo", {"text": "rolled back"}, {"trigger": "any_failed"})],
                 [order("canary", "gate"), order("gate", "rest"), order("gate", "rollback")])


def test_an_approval_waits_holding_nothing_and_approving_continues(eng):
    run_id = eng.start(gate_graph("approve"))
    eng.drain()
    run = eng.run(run_id)
    assert run["nodes"]["gate"]["status"] == "waiting" and not eng.sent
    assert run["nodes"]["gate"]["wait"]["reason"] == "Promote 10% canary?"
    eng.decide(run_id, "gate", approve=True, comment="looks good")
    eng.drain()
    run = eng.run(run_id)
    out = run["nodes"]["gate"]["outputs"]
    assert run["status"] == "succeeded" and out["approved"] is True and out["by"] == "tester"
    assert run["nodes"]["rollback"]["status"] == "skipped"


def test_reject_fails_the_gate_and_rolls_back(eng):
    run_id = eng.start(gate_graph("reject"))
    eng.drain()
    eng.decide(run_id, "gate", approve=False, comment="5xx up")
    eng.drain()
    assert eng.run(run_id)["nodes"]["gate"]["error"] == "rejected by tester: 5xx up"
    assert eng.statuses(run_id) == {"canary": "succeeded", "gate": "failed", "rest": "skipped",
                                    "rollback": "succeeded"}
    import pytest

    from nebhx.runs.service import Conflict
    with pytest.raises(Conflict, match="not waiting for approval"):
        eng.decide(run_id, "gate", approve=True)


def test_a_gate_past_its_timeout_fails_and_rolls_back(eng):
    run_id = eng.start(gate_graph("gate-timeout", timeout_s=30))
    eng.drain()
    eng.age(run_id, "gate", deadline_at=1)
    eng.sweep()
    eng.drain()
    run = eng.run(run_id)
    assert "timed out: waited past its deadline" in run["nodes"]["gate"]["error"]
    assert run["nodes"]["rollback"]["status"] == "succeeded" and run["status"] == "failed"
