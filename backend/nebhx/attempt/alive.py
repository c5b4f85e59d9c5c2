"""Worker and agent processes beat while alive. A node claimed by a process that stopped
beating is dispatched again within seconds, not after its lease (a SIGKILLed worker or
agent leaves no one to say it died; its pool children die with it). Where a beat goes is
the process's: the store on a control worker (``engine.workers``), the execution API on an
agent."""
from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable

log = logging.getLogger("nebhx.workers")


def new_worker_id() -> str:
    """This worker process's id, inherited by its pool's children (claims carry it)."""
    wid = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
    os.environ["NEBHX_WORKER_ID"] = wid
    return wid


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
