"""The embedded agent of a host (``nebhx up``'s worker with ``--host``, no token): it
reports like any agent (``nebhx.agent.host``), straight to the store."""
from __future__ import annotations

from nebhx.agent.host import HostReporter
from nebhx.hosts import service
from nebhx.runtime.address import host_address
from nebhx.store.db import session_scope
from nebhx.version import __version__


def register(name: str, labels: dict[str, str]) -> None:
    """Announce this host (before the worker takes tasks, so nodes for it are routed)."""
    from nebhx.auth.audit import Door
    with session_scope() as s:
        service.register(s, name=name, address=host_address(), labels=labels, version=__version__,
                         door=Door(actor=f"host:{name}", via="agent", address="local"))


def reporter(name: str) -> HostReporter:
    def beat(services: list[dict] | None, volumes: list[dict] | None) -> None:
        with session_scope() as s:
            service.heartbeat(s, name=name, services=services, volumes=volumes)
    return HostReporter(name, beat)


def beat_worker(worker_id: str, host: str | None) -> None:
    """This worker process is alive, in the store."""
    from nebhx.attempt.alive import start_beating
    from nebhx.engine.workers import record_beat
    from nebhx.settings import get_settings

    def beat() -> None:
        with session_scope() as s:
            record_beat(s, worker_id=worker_id, host=host)
    start_beating(beat, get_settings().worker_beat_s)
