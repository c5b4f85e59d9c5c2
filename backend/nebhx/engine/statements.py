"""The statements of the engine's hot path, built once per dialect.

Building an UPDATE with its WHERE and SET clauses costs SQLAlchemy about as much as
PostgreSQL takes to run it; a node runs about eight of them, so they are built once
with bound parameters. A list of node ids is one array parameter on PostgreSQL (200 ids
cost one bind, not 200) and an expanding IN elsewhere.

On PostgreSQL a few steps are folded into one statement each (one round trip), built
from the same statements as the step-by-step form SQLite runs.
"""
from __future__ import annotations

from functools import cache
from types import SimpleNamespace

from typing import Any, cast

from sqlalchemy import ARRAY, JSON, DateTime, Integer, String, Table, Text, bindparam, func, insert, literal, select, text, update
from sqlalchemy import cast as sql_cast
from sqlalchemy.engine import CursorResult, Result
from sqlalchemy.orm import Session

from nebhx.statuses import TERMINAL, NodeStatus
from nebhx.store.models import EventRow, NodeRow, RunRow

NODES, RUNS, EVENTS = (cast(Table, row.__table__) for row in (NodeRow, RunRow, EventRow))
EVENT_COLUMNS = ["run_id", "node_id", "kind", "status", "at", "data"]
EVENT_LOCK = 7245002  # the advisory lock class of a run's events (see _event_lock)
RUN_HEAD = (RUNS.c.id, RUNS.c.graph_id, RUNS.c.revision, RUNS.c.status, RUNS.c.inputs, RUNS.c.finished_at)


def changed(result: Result[Any]) -> int:
    """Rows an UPDATE or DELETE changed (``Session.execute`` types its result loosely)."""
    return cast(CursorResult[Any], result).rowcount


def sql(session: Session) -> SimpleNamespace:
    return _build(session.get_bind().dialect.name == "postgresql")


@cache
def _build(pg: bool) -> SimpleNamespace:
    run = NODES.c.run_id == bindparam("run")
    node = NODES.c.node_id == bindparam("node")
    ids = (NODES.c.node_id == func.any(bindparam("ids", type_=ARRAY(String))) if pg
           else NODES.c.node_id.in_(bindparam("ids", expanding=True)))
    attempt = NODES.c.attempt == bindparam("of_attempt")
    st = SimpleNamespace(
        pg=pg,
        read_run=select(*RUN_HEAD).where(RUNS.c.id == bindparam("run")),
        lock_run=select(*RUN_HEAD).where(RUNS.c.id == bindparam("run")).with_for_update(),
        statuses=select(NODES.c.node_id, NODES.c.status).where(run, NODES.c.parent.is_(None), ids),
        open_among=select(NODES.c.node_id).where(run, ids, NODES.c.status.not_in(TERMINAL)).limit(1),
        count_among=select(NODES.c.status, func.count()).where(run, ids).group_by(NODES.c.status),
        queue=update(NODES).where(run, ids, NODES.c.status == bindparam("expect")).values(
            status=NodeStatus.QUEUED, attempt=NODES.c.attempt + 1, queue=bindparam("to_queue"),
            host=bindparam("to_host"), queued_at=bindparam("now"), heartbeat_at=None, deadline_at=None,
            failures=func.coalesce(bindparam("set_failures", type_=Integer), NODES.c.failures),
        ).returning(NODES.c.node_id, NODES.c.attempt),
        claim=update(NODES).where(run, node, NODES.c.status == NodeStatus.QUEUED, attempt).values(
            status=NodeStatus.RUNNING, started_at=bindparam("at"), heartbeat_at=bindparam("at"),
            finished_at=None, deadline_at=bindparam("until"), claimed_by=bindparam("by")),
        finish=update(NODES).where(run, node, NODES.c.status == NodeStatus.RUNNING, attempt).values(
            status=bindparam("to"), error=bindparam("why"), log=NODES.c.log + bindparam("more_log"),
            inputs=bindparam("shown"), outputs=bindparam("outs"), finished_at=bindparam("now")),
        # Queued and claimed at once by the worker that ended the node's predecessor (engine.
        # execute's follow): one row write for pending -> queued -> running.
        queue_claim=update(NODES).where(run, node, NODES.c.status == bindparam("expect")).values(
            status=NodeStatus.RUNNING, attempt=NODES.c.attempt + 1, queue=bindparam("to_queue"), host=None,
            queued_at=bindparam("at"), started_at=bindparam("at"), heartbeat_at=bindparam("at"), finished_at=None,
            deadline_at=bindparam("until"), claimed_by=bindparam("by")).returning(NODES.c.attempt),
    )
    # An agent's claim through the execution API: only a node routed to the agent's host.
    st.claim_on_host = st.claim.where(NODES.c.host == bindparam("on_host"))
    if pg:
        _fold_for_postgresql(st)
    return st


def _event_lock(run_id):
    # A stream reads "events of run R after id N", so within a run ids must be drawn in
    # commit order: each event row first takes its run's lock (held to commit), the filter
    # running before the id default is drawn. Taken last in a transaction, with no other
    # wait after it, it cannot deadlock. (SQLite's BEGIN IMMEDIATE runs one writer at a time.)
    return func.pg_advisory_xact_lock(EVENT_LOCK, func.hashtext(sql_cast(run_id, Text))).is_not(None)


def _with_event(claim, at, data):
    claimed = claim.returning(NODES.c.run_id, NODES.c.node_id).cte("claimed")
    return insert(EVENTS).from_select(EVENT_COLUMNS, select(
        claimed.c.run_id, claimed.c.node_id, literal("node"), literal(NodeStatus.RUNNING, EVENTS.c.status.type), at, data,
    ).where(_event_lock(claimed.c.run_id))).returning(EVENTS.c.id)


def _fold_for_postgresql(st: SimpleNamespace) -> None:
    at, data = bindparam("at", type_=DateTime(timezone=True)), bindparam("data", type_=JSON)
    # A transaction's events in one statement (one round trip; executemany took two), in the
    # order given, each row taking its run's event lock before any id is drawn.
    st.insert_events = text(
        "INSERT INTO events (run_id, node_id, kind, status, at, data) SELECT run_id, node_id, kind, status, at, "
        "CAST(data AS JSON) FROM unnest(:run_ids, :node_ids, :kinds, :statuses, :ats, :datas) WITH ORDINALITY "
        "AS v(run_id, node_id, kind, status, at, data, n) "
        f"WHERE pg_advisory_xact_lock({EVENT_LOCK}, hashtext(CAST(run_id AS TEXT))) IS NOT NULL ORDER BY n",
    ).bindparams(*(bindparam(name, type_=ARRAY(Text)) for name in ("run_ids", "node_ids", "kinds", "statuses", "datas")),
                 bindparam("ats", type_=ARRAY(DateTime(timezone=True))))
    # The claim and its "running" event: outside a transaction one round trip, still all or nothing.
    st.claim_with_event = _with_event(st.claim, at, data)
    st.claim_on_host_with_event = _with_event(st.claim_on_host, at, data)
    # Many items of one run claimed at once (a chunk of a fan-out's items), each with its event.
    st.claim_many_with_events = text(
        "WITH claimed AS (UPDATE run_nodes SET status = :to, started_at = :at, heartbeat_at = :at, finished_at = NULL, "
        "deadline_at = :until, claimed_by = :by FROM unnest(:nodes, :attempts) AS v(node_id, attempt) "
        "WHERE run_nodes.run_id = :run AND run_nodes.node_id = v.node_id AND run_nodes.status = :expect "
        "AND run_nodes.attempt = v.attempt RETURNING run_nodes.run_id, run_nodes.node_id, run_nodes.attempt) "
        "INSERT INTO events (run_id, node_id, kind, status, at, data) SELECT run_id, node_id, 'node', :to, :at, "
        "json_build_object('attempt', attempt) FROM claimed "
        f"WHERE pg_advisory_xact_lock({EVENT_LOCK}, hashtext(CAST(run_id AS TEXT))) IS NOT NULL RETURNING node_id",
    ).bindparams(bindparam("nodes", type_=ARRAY(String)), bindparam("attempts", type_=ARRAY(Integer)),
                 bindparam("to", value=str(NodeStatus.RUNNING)), bindparam("expect", value=str(NodeStatus.QUEUED)),
                 bindparam("at", type_=DateTime(timezone=True)), bindparam("until", type_=DateTime(timezone=True)))
    # Successful ends of many nodes of a run in one statement (a chunk of a fan-out's items):
    # each row still its own compare-and-set on (running, its attempt). JSON goes as text.
    st.finish_many = text(
        "UPDATE run_nodes SET status = :to, error = NULL, log = run_nodes.log || v.log, inputs = CAST(v.inputs AS JSON), "
        "outputs = CAST(v.outputs AS JSON), finished_at = :now FROM unnest(:nodes, :attempts, :logs, :inputs, :outputs) "
        "AS v(node_id, attempt, log, inputs, outputs) WHERE run_nodes.run_id = :run AND run_nodes.node_id = v.node_id "
        "AND run_nodes.status = :expect AND run_nodes.attempt = v.attempt RETURNING run_nodes.node_id",
    ).bindparams(bindparam("nodes", type_=ARRAY(String)), bindparam("attempts", type_=ARRAY(Integer)),
                 *(bindparam(name, type_=ARRAY(Text)) for name in ("logs", "inputs", "outputs")),
                 bindparam("now", type_=DateTime(timezone=True)))
    # Ending a node takes its run's lock first (the order every advancing transaction keeps)
    # and hands back the run's status as locked.
    locked = select(RUNS.c.id, RUNS.c.status, RUNS.c.finished_at).where(
        RUNS.c.id == bindparam("run")).with_for_update().cte("locked_run")
    st.finish_locking = st.finish.add_cte(locked).where(NODES.c.run_id == locked.c.id).returning(
        locked.c.status, locked.c.finished_at)
