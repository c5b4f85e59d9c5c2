"""A running node's lease: renewed while the brick works, with its log flushed and
cancellation and the node's timeout noticed."""
from __future__ import annotations

import ctypes
import threading
import time

from sqlalchemy import update

from nebhx.bricks.base import Cancelled, Context
from nebhx.store.models import NodeRow, utcnow


class NodeTimeout(Exception):
    pass


class Heartbeat(threading.Thread):
    def __init__(self, *, ctx: Context, attempt: int, timeout_s: float | None, interval: float,
                 db_url: str):
        super().__init__(daemon=True, name=f"heartbeat-{ctx.node_id}")
        self.ctx, self.attempt, self.interval, self.db_url = ctx, attempt, interval, db_url
        self.deadline = time.monotonic() + timeout_s if timeout_s else None
        self.target = threading.get_ident()
        self.flushed = 0
        self.interrupt: type[Exception] | None = None
        self._done = threading.Event()
        self._lock = threading.Lock()

    def run(self) -> None:
        while True:
            wait = self.interval
            if self.deadline is not None:
                wait = max(0.0, min(wait, self.deadline - time.monotonic()))
            if self._done.wait(wait):
                return
            if self.deadline is not None and time.monotonic() >= self.deadline:
                self._raise(NodeTimeout)
                return
            try:
                alive = self._renew()
            except Exception:  # a database hiccup must not kill the brick; the next beat retries
                continue
            if not alive:
                self._raise(Cancelled)
                return

    def take_log(self) -> str:
        lines = self.ctx.lines[self.flushed:]
        self.flushed += len(lines)
        return "".join(line + "\n" for line in lines)

    def _renew(self) -> bool:
        from nebhx.store.db import session_scope
        chunk = self.take_log()
        with session_scope(self.db_url) as s:
            res = s.execute(update(NodeRow).where(
                NodeRow.run_id == self.ctx.run_id, NodeRow.node_id == self.ctx.node_id,
                NodeRow.status == "running", NodeRow.attempt == self.attempt,
            ).values(heartbeat_at=utcnow(), log=NodeRow.log + chunk))
            return res.rowcount == 1

    def _raise(self, exc: type[Exception]) -> None:
        """Stop the brick: wake its sleeps, then raise in its thread at the next bytecode."""
        with self._lock:
            if self._done.is_set():
                return
            self.interrupt = exc
            self.ctx.cancelled.set()
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self.target), ctypes.py_object(exc))

    def finish(self) -> None:
        with self._lock:
            self._done.set()
