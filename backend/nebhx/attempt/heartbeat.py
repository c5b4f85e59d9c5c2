"""A running node's lease: renewed while the brick works, with its log flushed and
cancellation and the node's timeout noticed.

One keeper thread per process looks after every running node's lease, so a node that
lasts a millisecond costs no thread of its own (starting and joining one was a tenth of
a no-op node's cost).
"""
from __future__ import annotations

import ctypes
import os
import threading
import time

from collections.abc import Callable

from nebhx.bricks.base import Cancelled, Context
from nebhx.attempt import fence


class NodeTimeout(Exception):
    pass


class Heartbeat:
    """The lease of one attempt: ``start`` before the brick runs, ``finish`` after."""

    def __init__(self, *, ctx: Context, attempt: int, timeout_s: float | None, interval: float,
                 renew: Callable[[str], bool]):
        self.ctx, self.attempt, self.interval, self.renew = ctx, attempt, interval, renew
        self.deadline = time.monotonic() + timeout_s if timeout_s else None
        self.next_beat = time.monotonic() + interval
        self.target = threading.get_ident()
        self.flushed = 0
        self._done = False
        self._lock = threading.Lock()  # held by a beat: finish() waits for one in progress

    def start(self) -> None:
        _keeper().watch(self)

    def finish(self) -> None:
        """No beat and no interruption after this returns; safe to call twice."""
        with self._lock:
            self._done = True
        _keeper().forget(self)

    def due(self) -> float:
        return self.next_beat if self.deadline is None else min(self.next_beat, self.deadline)

    def beat(self) -> bool:
        """Renew the lease, or stop the brick; False once this lease needs no more beats."""
        with self._lock:
            if self._done:
                return False
            if self.deadline is not None and time.monotonic() >= self.deadline:
                self._raise(NodeTimeout)
                return False
            try:
                alive = self._renew()
            except Exception:  # a database hiccup must not kill the brick; the next beat retries
                alive = True
            if not alive:
                self._raise(Cancelled)
                return False
            self.next_beat = time.monotonic() + self.interval
            return True

    def take_log(self) -> str:
        lines = self.ctx.lines[self.flushed:]
        self.flushed += len(lines)
        return "".join(line + "\n" for line in lines)

    def _renew(self) -> bool:
        return self.renew(self.take_log())

    def _raise(self, exc: type[Exception]) -> None:
        """Stop the brick: wake its sleeps, stop the commands it runs (its attempt's process
        group: fence), then raise in its thread at the next bytecode."""
        self.ctx.cancelled.set()
        fence.stop_my_group()
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self.target), ctypes.py_object(exc))


class _Keeper(threading.Thread):
    def __init__(self):
        super().__init__(daemon=True, name="nebhx-leases")
        self.leases: set[Heartbeat] = set()
        self.changed = threading.Condition()

    def watch(self, hb: Heartbeat) -> None:
        with self.changed:
            self.leases.add(hb)
            self.changed.notify()

    def forget(self, hb: Heartbeat) -> None:
        with self.changed:
            self.leases.discard(hb)

    def run(self) -> None:
        while True:
            with self.changed:
                now = time.monotonic()
                due = [hb for hb in self.leases if hb.due() <= now]
                if not due:
                    soonest = min((hb.due() for hb in self.leases), default=None)
                    self.changed.wait(None if soonest is None else soonest - now)
                    continue
            for hb in due:  # outside the lock: a beat may wait on the database
                if not hb.beat():
                    self.forget(hb)


_keepers: dict[int, _Keeper] = {}
_keepers_lock = threading.Lock()


def _keeper() -> _Keeper:
    """This process's keeper (a forked worker child starts its own)."""
    pid = os.getpid()
    keeper = _keepers.get(pid)
    if keeper is None:
        with _keepers_lock:
            keeper = _keepers.get(pid)
            if keeper is None:
                keeper = _keepers[pid] = _Keeper()
                keeper.start()
    return keeper
