"""The events stream of a run, as Server-Sent Events read from the store.

Each open stream polls the store, so one API process holds at most NEBHX_MAX_STREAMS of them,
NEBHX_MAX_STREAMS_PER_USER per user; past that a new one is a 429 saying which limit.
"""
from __future__ import annotations

import asyncio
import json
import threading
from collections import Counter
from collections.abc import AsyncIterator

from fastapi import Request
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from nebhx.errors import NotFound
from nebhx.runs.schemas import LogEvent, NodeEvent, RunEvent, RunStateEvent
from nebhx.store.db import session_scope
from nebhx.store.models import EventRow, RunRow

POLL_S = 0.2
KEEPALIVE_S = 15.0


class StreamSlots:
    """The streams open in this process, per user and in all."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.per_user: Counter[str] = Counter()

    def take(self, user: str) -> str | None:
        """Take a place for ``user``; None, or why there is none."""
        from nebhx.settings import get_settings
        settings = get_settings()
        with self._lock:
            if self.per_user[user] >= settings.max_streams_per_user:
                return (f"{user} has {self.per_user[user]} event streams open, the most one user may "
                        f"(NEBHX_MAX_STREAMS_PER_USER); close one (a run's page in another tab?)")
            if sum(self.per_user.values()) >= settings.max_streams:
                return f"{settings.max_streams} event streams are open in all (NEBHX_MAX_STREAMS); try again soon"
            self.per_user[user] += 1
        return None

    def give_back(self, user: str) -> None:
        with self._lock:
            self.per_user[user] -= 1
            if self.per_user[user] <= 0:
                del self.per_user[user]


SLOTS = StreamSlots()


_KINDS: dict[str, type[RunStateEvent | NodeEvent | LogEvent]] = {
    "run": RunStateEvent, "node": NodeEvent, "log": LogEvent}


def event_read(row: EventRow) -> RunEvent:
    """A stored event as the model of its kind."""
    return RunEvent(_KINDS[row.kind](id=row.id, run_id=row.run_id, node=row.node_id, status=row.status,
                                     at=row.at, data=row.data or {}))


def events_after(run_id: str, after: int, limit: int = 500) -> tuple[list[RunEvent], bool]:
    """Events with id > ``after`` and whether the run has finished."""
    with session_scope() as s:
        run = s.get(RunRow, run_id)
        if run is None:
            raise NotFound(f"no run {run_id!r}")
        rows = s.execute(select(EventRow).where(EventRow.run_id == run_id, EventRow.id > after)
                         .order_by(EventRow.id).limit(limit)).scalars().all()
        return [event_read(r) for r in rows], run.finished_at is not None


async def stream(run_id: str, after: int, request: Request, first: tuple[list[RunEvent], bool],
                 user: str) -> AsyncIterator[str]:
    """The events, then new ones as they come; gives ``user``'s place back when it ends (the run
    finished, the client left or the server stops)."""
    try:
        async for chunk in _events(run_id, after, request, first):
            yield chunk
    finally:
        SLOTS.give_back(user)


async def _events(run_id: str, after: int, request: Request,
                  first: tuple[list[RunEvent], bool]) -> AsyncIterator[str]:
    idle = 0.0
    events, finished = first
    yield "retry: 1000\n\n"
    while True:
        for event in events:
            ev = event.root
            after = ev.id
            # json.dumps: the spacing streams have always had (some clients match the text)
            yield f"id: {ev.id}\nevent: {ev.kind}\ndata: {json.dumps(event.model_dump(mode='json'))}\n\n"
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
