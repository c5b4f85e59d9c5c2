"""Nodes whose publish failed: marked so the sweep sends them again as soon as the broker
answers (``heartbeat_at`` = ``UNSENT`` on a queued node)."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import update

from nebhx.engine.statements import NODES
from nebhx.settings import get_settings
from nebhx.statuses import NodeStatus as N
from nebhx.store.db import session_scope

UNSENT = datetime(2000, 1, 1, tzinfo=timezone.utc)


def mark_unsent(dispatches) -> None:
    """Their publish failed: the next sweep sends them again (once the broker answers)."""
    with session_scope(get_settings().db_url) as s:
        for d in dispatches:
            s.execute(update(NODES).where(NODES.c.run_id == d.run_id, NODES.c.node_id == d.node_id,
                                          NODES.c.attempt == d.attempt, NODES.c.status == N.QUEUED)
                      .values(heartbeat_at=UNSENT))
