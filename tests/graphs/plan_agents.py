"""Many hosts' agents answering plans from one process (for tests and bench/plan.py).

Each host's plan task arrives on its own queue (``host.<name>``) through the real broker, as
the API sent it; the host's items are planned by the agent's own code (``plan_batch``) on a
HostRuntime of its own under ``root``, and the answer goes back through the store, as the
embedded agent's does, or, given each host's token (``tokens``), through the execution API
over HTTP, as a remote agent's does. The hosts beat as live agent processes while this runs.

As a process of its own: ``python plan_agents.py ROOT TOKENS_JSON [I/K]`` (hosts and tokens
from the JSON file, the store and broker from NEBHX_*; with ``I/K``, only every K-th host from
the I-th: K such processes plan side by side, as the hosts' own agents do); it runs until killed.
"""
from __future__ import annotations

import socket
import threading
import time
from datetime import timedelta
from pathlib import Path

from kombu import Exchange, Queue


class SimulatedAgents:
    def __init__(self, db_url: str, hosts: list[str], root: Path, tokens: dict[str, str] | None = None,
                 url: str | None = None):
        self.db_url, self.hosts, self.root = db_url, hosts, Path(root)
        self.tokens, self.url = tokens or {}, url
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True, name="simulated-agents")
        self.answered = 0
        self._runtimes: dict = {}

    def runtime(self, host: str):
        """The host's runtime, kept as its agent keeps it (``nebhx.agent.plans``)."""
        from nebhx.runtime import HostRuntime
        if host not in self._runtimes:
            self._runtimes[host] = HostRuntime(host, self.root / host)
        return self._runtimes[host]

    def _beat(self) -> None:
        """Agents' processes beat, and their hosts heartbeat (a host unseen for 30 s is down)."""
        from sqlalchemy import delete, insert, update

        from nebhx.store.db import session_scope
        from nebhx.store.models import HostRow, WorkerRow, utcnow
        ids = [f"simulated:{host}" for host in self.hosts]
        with session_scope(self.db_url) as s:  # three statements: the store's write lock briefly
            s.execute(delete(WorkerRow).where(WorkerRow.id.in_(ids)))
            s.execute(insert(WorkerRow), [{"id": i, "host": h, "last_seen": utcnow() + timedelta(seconds=30)}
                                          for i, h in zip(ids, self.hosts)])
            s.execute(update(HostRow).where(HostRow.name.in_(self.hosts)).values(last_seen=utcnow()))

    def _on(self, body, message) -> None:
        from nebhx.execution.plan import AnswerRefused, record_answer
        from nebhx.agent.plans import plan_batch
        request_id, host, batch = body[0]
        answer = plan_batch(self.runtime(host), batch)
        message.ack()
        if host in self.tokens:
            self.pool.submit(self._post, request_id, host, answer)
            return
        try:
            record_answer(request_id=request_id, host=host, answer=answer)
            self.answered += 1
        except AnswerRefused:
            pass

    def _post(self, request_id: str, host: str, answer: dict) -> None:
        resp = self.http.post(f"/api/exec/plan/{request_id}", json={"answer": answer},
                              headers={"Authorization": f"Bearer {self.tokens[host]}"})
        self.answered += resp.status_code == 204

    def _loop(self) -> None:
        from nebhx.engine.celery_app import app
        queues = [Queue(f"host.{h}", Exchange(f"host.{h}", "direct"), routing_key=f"host.{h}") for h in self.hosts]
        with app.connection_for_read() as conn, conn.Consumer(queues, callbacks=[self._on], accept=["json"]):
            beat = time.monotonic()
            while not self.stop.is_set():
                try:
                    conn.drain_events(timeout=0.05)
                except socket.timeout:
                    pass
                if time.monotonic() - beat > 5:
                    self._beat()
                    beat = time.monotonic()

    def __enter__(self) -> SimulatedAgents:
        if self.tokens:
            from concurrent.futures import ThreadPoolExecutor

            import httpx
            self.http = httpx.Client(base_url=self.url, timeout=30, trust_env=False,
                                     limits=httpx.Limits(max_connections=8))
            self.pool = ThreadPoolExecutor(8)  # agents answer side by side, each on its connection
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


if __name__ == "__main__":
    import json
    import os
    import signal
    import sys
    given = json.loads(Path(sys.argv[2]).read_text())
    shard, shards = map(int, (sys.argv[3] if len(sys.argv) > 3 else "0/1").split("/"))
    mine = {host: token for host, token in list(given.items())[shard::shards]}
    agents = SimulatedAgents(os.environ["NEBHX_DATABASE_URL"], list(mine), Path(sys.argv[1]), mine,
                             os.environ["NEBHX_URL"])
    with agents:
        signal.sigwait({signal.SIGTERM, signal.SIGINT})

