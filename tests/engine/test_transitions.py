"""The state machine's table and its trigger rules, without a store where none is needed."""
from __future__ import annotations

import pytest

from support import graph, order

from nebhx.engine import transitions
from nebhx.engine.plan import READY, SKIP, WAIT, trigger_state
from nebhx.statuses import TERMINAL, NodeStatus, RunStatus, TriggerRule

S, F, K, C = NodeStatus.SUCCEEDED, NodeStatus.FAILED, NodeStatus.SKIPPED, NodeStatus.CANCELLED
P, Q, R, W = NodeStatus.PENDING, NodeStatus.QUEUED, NodeStatus.RUNNING, NodeStatus.WAITING


@pytest.mark.parametrize(("rule", "upstream", "expected"), [
    (TriggerRule.ALL_SUCCESS, [], READY),
    (TriggerRule.ALL_SUCCESS, [S, S], READY),
    (TriggerRule.ALL_SUCCESS, [S, R], WAIT),
    (TriggerRule.ALL_SUCCESS, [S, F], SKIP),
    (TriggerRule.ALL_SUCCESS, [R, K], SKIP),  # decided before the rest ends
    (TriggerRule.ALL_SUCCESS, [S, C], SKIP),
    (TriggerRule.ALL_DONE, [S, F, K, C], READY),
    (TriggerRule.ALL_DONE, [F, Q], WAIT),
    (TriggerRule.ALWAYS, [C, C], READY),
    (TriggerRule.ALWAYS, [W], WAIT),
    (TriggerRule.ANY_FAILED, [R, F], READY),  # a rollback starts at the first failure
    (TriggerRule.ANY_FAILED, [S, K], SKIP),
    (TriggerRule.ANY_FAILED, [S, P], WAIT),
    (TriggerRule.ALL_FAILED, [F, F], READY),
    (TriggerRule.ALL_FAILED, [F, R], WAIT),
    (TriggerRule.ALL_FAILED, [F, S], SKIP),
    (TriggerRule.ALL_FAILED, [F, K], SKIP),
])
def test_trigger_state(rule, upstream, expected):
    assert trigger_state(rule, upstream) == expected


def test_an_unknown_trigger_rule_is_refused():
    with pytest.raises(ValueError, match="unknown trigger rule 'sometimes'"):
        trigger_state("sometimes", [S])


def test_the_table_covers_every_status_and_ends_only_by_retry_or_resume():
    assert set(transitions.NODE) == set(NodeStatus) and set(transitions.RUN) == set(RunStatus)
    for ended in TERMINAL:  # an ended node moves again only when retried or its composite resumes
        assert set(transitions.NODE[ended]) <= {P, R}
    assert all(reason for tos in transitions.NODE.values() for reason in tos.values())


@pytest.mark.parametrize(("frm", "to"), [(P, S), (Q, W), (S, F), (W, Q), (R, P), (C, S)])
def test_a_change_the_table_does_not_hold_is_refused_before_any_write(eng, frm, to):
    run_id = eng.start(graph("illegal", [("a", "test.noop")]))
    with eng.session() as s, pytest.raises(transitions.IllegalTransition, match=f"from {frm} to {to}"):
        transitions.transition(s, run_id, "a", to, expect=frm)
    assert eng.statuses(run_id) == {"a": "queued"}


def test_a_run_may_not_end_twice(eng):
    from nebhx.store.models import RunRow
    run_id = eng.start(graph("ended", [("a", "test.noop")]))
    eng.drain()
    with eng.session() as s, pytest.raises(transitions.IllegalTransition, match="from succeeded to failed"):
        transitions.run_to(s, s.get(RunRow, run_id), RunStatus.FAILED)


def test_every_status_written_is_an_event_with_its_status(eng):
    run_id = eng.start(graph("events", [("a", "test.noop"), ("b", "test.fail")], [order("a", "b")]))
    eng.drain()
    seen = [(e["node"], e["status"]) for e in eng.events(run_id)]
    assert seen == [(None, "running"), ("a", "queued"), ("a", "running"), ("a", "succeeded"),
                    ("b", "queued"), ("b", "running"), ("b", "failed"), (None, "failed")]


def test_a_status_the_store_does_not_know_is_refused():
    from sqlalchemy.exc import StatementError

    from nebhx.store.models import NodeRow
    import sqlalchemy as sa
    engine = sa.create_engine("sqlite://")
    NodeRow.metadata.create_all(engine, tables=[NodeRow.__table__])
    with engine.begin() as conn, pytest.raises(StatementError, match="'done' is not a valid NodeStatus"):
        conn.execute(sa.insert(NodeRow.__table__).values(run_id="r", node_id="n", brick="b", status="done"))


def test_the_editors_status_legend_is_the_table_as_generated():
    import json

    from support import ROOT
    written = json.loads((ROOT / "frontend" / "src" / "api" / "statuses.json").read_text())
    assert written == transitions.legend(), "stale: run `npm --prefix frontend run openapi`"
