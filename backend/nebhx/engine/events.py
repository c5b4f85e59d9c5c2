"""Every state change of a run is an event with a time, read by the editor, CLI and audit."""
from __future__ import annotations

import json
from typing import Any

from sqlalchemy import event, insert
from sqlalchemy.orm import Session

from nebhx.engine.statements import EVENTS, sql
from nebhx.statuses import EventStatus, NodeStatus, RunStatus
from nebhx.store.models import utcnow


def emit(session: Session, run_id: str, node_id: str | None, kind: str,
         status: EventStatus | NodeStatus | RunStatus | None, **data: Any) -> None:
    """Record an event; the transaction's events are written in one INSERT when it commits."""
    pending = session.info.setdefault("events", [])
    pending.append({"run_id": run_id, "node_id": node_id, "kind": kind, "status": status, "at": utcnow(),
                    "data": data})


@event.listens_for(Session, "before_commit")
def _write_events(session: Session) -> None:
    pending = session.info.pop("events", None)
    if not pending:
        return
    session.flush()  # whatever else the transaction writes goes first: the lock below is its last step
    st = sql(session)
    if st.pg:  # each row takes its run's event lock: see statements._event_lock
        rows = sorted(pending, key=lambda e: e["run_id"])  # stable sort
        session.execute(st.insert_events, {
            "run_ids": [e["run_id"] for e in rows], "node_ids": [e["node_id"] for e in rows],
            "kinds": [e["kind"] for e in rows], "ats": [e["at"] for e in rows],
            "statuses": [None if e["status"] is None else EventStatus(e["status"]).value for e in rows],
            "datas": [json.dumps(e["data"]) for e in rows]})
    else:  # SQLite's BEGIN IMMEDIATE already runs one writer at a time
        session.execute(insert(EVENTS), pending)

