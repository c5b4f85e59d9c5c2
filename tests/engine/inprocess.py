"""The engine in one process, for rule tests: a SQLite store (copied from a migrated
template), the real scheduler and transitions, no Celery. What the broker would deliver is
kept in ``sent``; ``drain`` runs it here, the real brick claimed and finished through the
store (``DbExecution``), each node in milliseconds."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from support import TEST_BLOCKS

_template: Path | None = None


def template_store(folder: Path) -> Path:
    """A store migrated once per session; each test starts from a copy."""
    global _template
    if _template is None:
        from nebhx.store.db import get_engine, migrate
        path = folder / "template.db"
        migrate(f"sqlite:///{path}")
        get_engine(f"sqlite:///{path}").dispose()
        _template = path
    return _template


class Engine:
    """A fresh store and what the engine sent, with the operator's actions at hand."""

    def __init__(self, monkeypatch, tmp_path: Path, template: Path, url: str | None = None):
        from nebhx.bricks.registry import get_registry
        from nebhx.engine import celery_app
        from nebhx.settings import reset_settings
        from nebhx.store import db
        if url is None:  # else a migrated PostgreSQL database of the caller's
            store = tmp_path / "store.db"
            shutil.copy(template, store)
            url = f"sqlite:///{store}"
        self.url = url
        monkeypatch.setattr(db, "_migrated", db._migrated | {self.url})
        for key, value in {"NEBHX_HOME": str(tmp_path / "home"), "NEBHX_DATABASE_URL": self.url,
                           "NEBHX_BLOCKS_PATH": str(TEST_BLOCKS), "NEBHX_RETRY_BASE_S": "0.5",
                           "NEBHX_AGENT_HOST": "local"}.items():
            monkeypatch.setenv(key, value)
        reset_settings()
        if get_registry().specs.get("test.noop") is None:
            get_registry(reload=True)
        self.sent: list[Any] = []
        monkeypatch.setattr(celery_app, "send", self.sent.extend)
        self._register_local()

    def _register_local(self) -> None:
        from nebhx.hosts.service import heartbeat
        from nebhx.store.db import session_scope
        with session_scope(self.url) as s:
            heartbeat(s, name="local", address="127.0.0.1", labels={}, version="test", started=True)

    def session(self):
        from nebhx.store.db import session_scope
        return session_scope(self.url)

    def start(self, doc: dict, inputs: dict | None = None) -> str:
        from nebhx.graphs.service import ensure_graph
        from nebhx.runs.service import create_run
        with self.session() as s:
            gid, rev = ensure_graph(s, doc=doc)
            run_id, _ = create_run(s, graph_id=gid, revision=rev, inputs=inputs)
        return run_id

    def save(self, doc: dict) -> str:
        """Store a graph (one a composite names); its id."""
        from nebhx.graphs.service import ensure_graph
        with self.session() as s:
            return ensure_graph(s, doc=doc)[0]

    def step(self):
        """Deliver the oldest message: claim, run the brick, finish; the dispatch."""
        from nebhx.engine.claims import DbExecution
        from nebhx.engine.execute import execute_node
        d = self.sent.pop(0)
        execute_node(d.run_id, d.node_id, d.attempt, DbExecution(self.url))
        return d

    def drain(self, limit: int = 500) -> int:
        """Deliver every message, and those they cause, in order; how many."""
        done = 0
        while self.sent:
            assert done < limit, f"still sending after {limit} messages: {self.sent[:5]}"
            self.step()
            done += 1
        return done

    def claim(self, node_id: str):
        """Take the next message for ``node_id`` and claim it without running it (a brick
        that is still running); the claim."""
        from nebhx.engine.claims import DbExecution
        d = next(d for d in self.sent if d.node_id == node_id)
        self.sent.remove(d)
        return DbExecution(self.url).claim(d.run_id, d.node_id, d.attempt)

    def run(self, run_id: str) -> dict:
        from nebhx.runs.service import get_run
        with self.session() as s:  # as the API answers it
            return get_run(s, run_id=run_id).model_dump(mode="json", exclude_unset=True)

    def statuses(self, run_id: str) -> dict[str, str]:
        return {k: str(v["status"]) for k, v in self.run(run_id)["nodes"].items()}

    def events(self, run_id: str) -> list[dict]:
        from sqlalchemy import select

        from nebhx.runs.events import event_read
        from nebhx.store.models import EventRow
        with self.session() as s:
            rows = s.scalars(select(EventRow).where(EventRow.run_id == run_id).order_by(EventRow.id))
            return [event_read(r).model_dump(mode="json") for r in rows]

    def cancel(self, run_id: str) -> None:
        from nebhx.runs.service import cancel_run
        with self.session() as s:
            cancel_run(s, run_id=run_id, by="tester")

    def retry(self, run_id: str, node_id: str) -> None:
        from nebhx.runs.service import retry_node
        with self.session() as s:
            retry_node(s, run_id=run_id, node_id=node_id, by="tester")

    def decide(self, run_id: str, node_id: str, approve: bool, comment: str = "") -> None:
        from nebhx.runs.service import decide
        with self.session() as s:
            decide(s, run_id=run_id, node_id=node_id, approve=approve, by="tester", comment=comment)

    def age(self, run_id: str, node_id: str, **seconds_ago: float) -> None:
        """Move a node's times back (``heartbeat_at=60``: its lease lapsed a minute ago)."""
        from datetime import timedelta

        from sqlalchemy import update

        from nebhx.store.models import NodeRow, utcnow
        values = {k: utcnow() - timedelta(seconds=v) for k, v in seconds_ago.items()}
        with self.session() as s:
            s.execute(update(NodeRow).where(NodeRow.run_id == run_id, NodeRow.node_id == node_id).values(**values))

    def sweep(self):
        from nebhx.engine.sweeper import sweep_once
        from nebhx.settings import get_settings
        return sweep_once(get_settings(), judge_workers=False)
