"""The events stream of a run, as Server-Sent Events read from the store."""
from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from fastapi import Request
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from nebhx.engine.events import event_dict
from nebhx.graphs.service import NotFound
from nebhx.store.db import session_scope
from nebhx.store.models import EventRow, RunRow

POLL_S = 0.2
KEEPALIVE_S = 15.0


def events_after(run_id: str, after: int, limit: int = 500) -> tuple[list[dict], bool]:
    """Events with id > ``after`` and whether the run has finished."""
    with session_scope() as s:
        run = s.get(RunRow, run_id)
        if run is None:
            raise NotFound(f"no run {run_id!r}")
        rows = s.execute(select(EventRow).where(EventRow.run_id == run_id, EventRow.id > after)
                         .order_by(EventRow.id).limit(limit)).scalars().all()
        return [event_dict(r) for r in rows], run.finished_at is not None


async def stream(run_id: str, after: int, request: Request,
                 first: tuple[list[dict], bool]) -> AsyncIterator[str]:
    idle = 0.0
    events, finished = first
    yield "retry: 1000\n\n"
    while True:
        for ev in events:
            after = ev["id"]
            yield f"id: {ev['id']}\nevent: {ev['kind']}\ndata: {json.dumps(ev)}\n\n"
        if finished and not events:
            return
        if not events:
            await asyncio.sleep(POLL_S)
            idle += POLL_S
            if idle >= KEEPALIVE_S:
                idle = 0.0
                yield ": keepalive\n\n"
        if await request.is_disconnected():
            return
        events, finished = await run_in_threadpool(events_after, run_id, after)
