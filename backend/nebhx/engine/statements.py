"""The statements of the engine's hot path, built once per dialect.

Building an UPDATE with its WHERE and SET clauses costs SQLAlchemy about as much as
PostgreSQL takes to run it; a node runs about eight of them, so they are built once
with bound parameters. A list of node ids is one array parameter on PostgreSQL (200 ids
cost one bind, not 200) and an expanding IN elsewhere.
"""
from __future__ import annotations

from functools import cache
from types import SimpleNamespace

from sqlalchemy import ARRAY, Integer, String, bindparam, func, select, update
from sqlalchemy.orm import Session

from nebhx.engine.plan import TERMINAL
from nebhx.store.models import NodeRow, RunRow

NODES, RUNS = NodeRow.__table__, RunRow.__table__
RUN_HEAD = (RUNS.c.id, RUNS.c.graph_id, RUNS.c.revision, RUNS.c.status, RUNS.c.inputs, RUNS.c.finished_at)


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
            status="running", started_at=bindparam("now"), heartbeat_at=bindparam("now"),
            finished_at=None, deadline_at=bindparam("until")),
        finish=update(NODES).where(run, node, NODES.c.status == "running", attempt).values(
            status=bindparam("to"), error=bindparam("why"), log=NODES.c.log + bindparam("more_log"),
            inputs=bindparam("shown"), outputs=bindparam("outs"), finished_at=bindparam("now")),
    )
