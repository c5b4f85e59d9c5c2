"""Many hosts' agents answering plans from one process (for tests and bench/plan.py).

Each host's plan task arrives on its own queue (``host.<name>``) through the real broker, as
the API sent it; the host's items are planned by the agent's own code (``plan_batch``) on a
HostRuntime of its own under ``root``, and the answer goes back through the store, as the
embedded agent's does. The hosts beat as live agent processes while this runs.
"""
from __future__ import annotations

import socket
import threading
from datetime import timedelta
from pathlib import Path

from kombu import Exchange, Queue


class SimulatedAgents:
    def __init__(self, db_url: str, hosts: list[str], root: Path):
        self.db_url, self.hosts, self.root = db_url, hosts, Path(root)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True, name="simulated-agents")
        self.answered = 0

    def runtime(self, host: str):
        from nebhx.runtime import HostRuntime
        return HostRuntime(host, self.root / host)

    def _beat(self) -> None:
        from nebhx.store.db import session_scope
        from nebhx.store.models import WorkerRow, utcnow
        with session_scope(self.db_url) as s:
            for host in self.hosts:
                s.merge(WorkerRow(id=f"simulated:{host}", host=host, last_seen=utcnow() + timedelta(seconds=30)))

    def _on(self, body, message) -> None:
        from nebhx.execution.plan import AnswerRefused, record_answer
        from nebhx.execution.plan_agent import plan_batch
        request_id, host, batch = body[0]
        try:
            record_answer(request_id=request_id, host=host, answer=plan_batch(self.runtime(host), batch))
            self.answered += 1
        except AnswerRefused:
            pass
        message.ack()

    def _loop(self) -> None:
        from nebhx.engine.celery_app import app
        queues = [Queue(f"host.{h}", Exchange(f"host.{h}", "direct"), routing_key=f"host.{h}") for h in self.hosts]
        with app.connection_for_read() as conn, conn.Consumer(queues, callbacks=[self._on], accept=["json"]):
            while not self.stop.is_set():
                try:
                    conn.drain_events(timeout=0.05)
                except socket.timeout:
                    pass

    def __enter__(self) -> SimulatedAgents:
        self._beat()
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(10)
        from sqlalchemy import delete

        from nebhx.store.db import session_scope
        from nebhx.store.models import WorkerRow
        with session_scope(self.db_url) as s:
            s.execute(delete(WorkerRow).where(WorkerRow.id.like("simulated:%")))
