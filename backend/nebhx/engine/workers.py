"""Worker and agent processes beat while alive. A node claimed by a process that stopped
beating is dispatched again within seconds, not after its lease (a SIGKILLed worker or
agent leaves no one to say it died; its pool children die with it)."""
from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from nebhx.store.models import WorkerRow, utcnow

log = logging.getLogger("nebhx.workers")


def new_worker_id() -> str:
    """This worker process's id, inherited by its pool's children (claims carry it)."""
    wid = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
    os.environ["NEBHX_WORKER_ID"] = wid
    return wid


def record_beat(session: Session, *, worker_id: str, host: str | None) -> None:
    row = session.get(WorkerRow, worker_id)
    now = utcnow()
    if row is None:
        session.add(WorkerRow(id=worker_id, host=host, started_at=now, last_seen=now))
    else:
        row.last_seen = now


def dead_workers(down_s: float):
    """The ids of processes that stopped beating (a subquery for the sweep)."""
    return select(WorkerRow.id).where(WorkerRow.last_seen < utcnow() - timedelta(seconds=down_s))


def forget_old(session: Session, *, older_than_s: float = 86400) -> None:
    session.execute(delete(WorkerRow).where(WorkerRow.last_seen < utcnow() - timedelta(seconds=older_than_s)))


def start_beating(beat: Callable[[], None], interval_s: float) -> threading.Thread:
    """Call ``beat`` every ``interval_s`` from a daemon thread; a failed beat is retried next time."""
    def loop() -> None:
        stop = threading.Event()
        while True:
            try:
                beat()
            except Exception as exc:  # the store or the API may be restarting
                log.debug("worker beat failed: %s", exc)
            if stop.wait(interval_s):
                return

    thread = threading.Thread(target=loop, daemon=True, name="nebhx-worker-beat")
    thread.start()
    return thread
