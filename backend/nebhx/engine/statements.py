"""The statements of the engine's hot path, built once per dialect.

Building an UPDATE with its WHERE and SET clauses costs SQLAlchemy about as much as
PostgreSQL takes to run it; a node runs about eight of them, so they are built once
with bound parameters. A list of node ids is one array parameter on PostgreSQL (200 ids
cost one bind, not 200) and an expanding IN elsewhere.
"""
from __future__ import annotations

from functools import cache
from types import SimpleNamespace

from sqlalchemy import ARRAY, JSON, DateTime, Integer, String, bindparam, func, select, text, update
from sqlalchemy.orm import Session

from nebhx.engine.plan import TERMINAL
from nebhx.store.models import NodeRow, RunRow

NODES, RUNS = NodeRow.__table__, RunRow.__table__
RUN_HEAD = (RUNS.c.id, RUNS.c.graph_id, RUNS.c.revision, RUNS.c.status, RUNS.c.inputs, RUNS.c.finished_at)


# A stream reads "events of run R after id N", so within a run ids must be drawn in commit
# order. On PostgreSQL each event row first takes its run's lock (held to commit): the
# filter runs before the id default is drawn. Taken last in a transaction, with no other
# wait after it, it cannot deadlock. (SQLite's BEGIN IMMEDIATE runs one writer at a time.)
_EVENT_LOCK = "pg_advisory_xact_lock(7245002, hashtext(CAST({run} AS text))) IS NOT NULL"
_TIMES = (bindparam("at", type_=DateTime(timezone=True)), bindparam("data", type_=JSON))

INSERT_EVENTS_PG = text(
    "INSERT INTO events (run_id, node_id, kind, status, at, data) "
    "SELECT CAST(:run_id AS text), :node_id, :kind, :status, :at, :data "
    "WHERE " + _EVENT_LOCK.format(run=":run_id")).bindparams(*_TIMES)

# Claiming a node and recording its "running" event in one statement: run outside a
# transaction it is one round trip, and still all or nothing.
CLAIM_PG = text(
    "WITH claimed AS (UPDATE run_nodes SET status = 'running', started_at = :at, heartbeat_at = :at, "
    "finished_at = NULL, deadline_at = :until "
    "WHERE run_id = :run AND node_id = :node AND status = 'queued' AND attempt = :of_attempt "
    "RETURNING run_id, node_id) "
    "INSERT INTO events (run_id, node_id, kind, status, at, data) "
    "SELECT run_id, node_id, 'node', 'running', :at, :data FROM claimed "
    "WHERE " + _EVENT_LOCK.format(run="run_id")
).bindparams(*_TIMES, bindparam("until", type_=DateTime(timezone=True)))

# Ending a node takes its run's lock first (the order every advancing transaction keeps),
# in the same round trip, and hands back the run's status as locked.
FINISH_PG = text(
    "WITH run AS (SELECT id, status, finished_at FROM runs WHERE id = :run FOR UPDATE) "
    "UPDATE run_nodes SET status = :to, error = :why, log = run_nodes.log || :more_log, "
    "inputs = :shown, outputs = :outs, finished_at = :now FROM run "
    "WHERE run_nodes.run_id = run.id AND run_nodes.node_id = :node AND run_nodes.status = 'running' "
    "AND run_nodes.attempt = :of_attempt RETURNING run.status, run.finished_at"
).bindparams(bindparam("now", type_=DateTime(timezone=True)), bindparam("shown", type_=JSON),
             bindparam("outs", type_=JSON))


def sql(session: Session) -> SimpleNamespace:
    return _build(session.get_bind().dialect.name == "postgresql")


@cache
def _build(pg: bool) -> SimpleNamespace:
    run = NODES.c.run_id == bindparam("run")
    node = NODES.c.node_id == bindparam("node")
    ids = (NODES.c.node_id == func.any(bindparam("ids", type_=ARRAY(String))) if pg
           else NODES.c.node_id.in_(bindparam("ids", expanding=True)))
    attempt = NODES.c.attempt == bindparam("of_attempt")
    return SimpleNamespace(
        pg=pg,
        read_run=select(*RUN_HEAD).where(RUNS.c.id == bindparam("run")),
        lock_run=select(*RUN_HEAD).where(RUNS.c.id == bindparam("run")).with_for_update(),
        statuses=select(NODES.c.node_id, NODES.c.status).where(run, NODES.c.parent.is_(None), ids),
        open_among=select(NODES.c.node_id).where(run, ids, NODES.c.status.not_in(TERMINAL)).limit(1),
        count_among=select(NODES.c.status, func.count()).where(run, ids).group_by(NODES.c.status),
        queue=update(NODES).where(run, ids, NODES.c.status == bindparam("expect")).values(
            status="queued", attempt=NODES.c.attempt + 1, queue=bindparam("to_queue"),
            host=bindparam("to_host"), queued_at=bindparam("now"), heartbeat_at=None, deadline_at=None,
            failures=func.coalesce(bindparam("set_failures", type_=Integer), NODES.c.failures),
        ).returning(NODES.c.node_id, NODES.c.attempt),
        claim=update(NODES).where(run, node, NODES.c.status == "queued", attempt).values(
            status="running", started_at=bindparam("at"), heartbeat_at=bindparam("at"),
            finished_at=None, deadline_at=bindparam("until")),
        finish=update(NODES).where(run, node, NODES.c.status == "running", attempt).values(
            status=bindparam("to"), error=bindparam("why"), log=NODES.c.log + bindparam("more_log"),
            inputs=bindparam("shown"), outputs=bindparam("outs"), finished_at=bindparam("now")),
    )
