"""The agent's side of a host: register and heartbeat from a thread beside the worker."""
from __future__ import annotations

import logging
import threading
import time

from nebhx.hosts import service
from nebhx.runtime.address import host_address
from nebhx.settings import get_settings
from nebhx.store.db import session_scope
from nebhx.version import __version__

log = logging.getLogger("nebhx.agent")


def _look_at_services(name: str) -> list[dict] | None:
    """Minimal monitoring: each service's process state and one run of its probe."""
    from nebhx.runtime import HostRuntime
    from nebhx.runtime.services import snapshot
    try:
        return snapshot(HostRuntime.for_host(name))
    except Exception as exc:  # a broken record must not stop the heartbeat
        log.warning("services snapshot failed: %s", exc)
        return None


def _look_at_volumes(report) -> list[dict] | None:
    """The host's volumes and snapshots, when they changed or a while has passed."""
    try:
        return report.due()
    except Exception as exc:  # a broken driver must not stop the heartbeat
        log.warning("volumes report failed: %s", exc)
        return None


def _remote():
    """The execution API client when this agent runs with a host token (no store access)."""
    settings = get_settings()
    if not settings.agent_token:
        return None
    from nebhx.execution.client import agent_client
    return agent_client(settings.url, settings.agent_token)


def register(name: str, labels: dict[str, str]) -> None:
    """Announce this host (before the worker takes tasks, so nodes for it are routed)."""
    if (remote := _remote()) is not None:
        remote.call("/register", {"address": host_address(), "labels": labels, "version": __version__})
        return
    from nebhx.auth.audit import Door
    with session_scope() as s:
        service.register(s, name=name, address=host_address(), labels=labels, version=__version__,
                         door=Door(actor=f"host:{name}", via="agent", address="local"))


def _beat(name: str, services: list[dict] | None, volumes: list[dict] | None = None) -> None:
    if (remote := _remote()) is not None:
        remote.call("/heartbeat", {"services": services, "volumes": volumes}, patience_s=0)
        return
    with session_scope() as s:
        service.heartbeat(s, name=name, services=services, volumes=volumes)


_look_pending = threading.Event()
_reported_none = False  # this process last reported that no service is recorded on the host


def report_services_soon(name: str) -> None:
    """Look at the services and report them now, beside the worker (a node on this host just
    finished and may have changed one); a look already on its way covers this one."""
    if _look_pending.is_set():
        return
    _look_pending.set()

    def look() -> None:
        _look_pending.clear()  # a change after this point asks for a look of its own
        for _ in range(FOLLOW_LOOKS):
            services = _report_services(name)
            if not any(r.get("state") in MOVING for r in services or []):
                return
            time.sleep(1.0)  # a program still starting or stopping: follow it to its state
    threading.Thread(target=look, daemon=True, name=f"agent-{name}-look").start()


MOVING = ("STARTING", "STOPPING", "BACKOFF")  # supervisord's states on the way to another
FOLLOW_LOOKS = 15


def _report_services(name: str) -> list[dict] | None:
    global _reported_none
    services = _look_at_services(name)
    if services == [] and _reported_none:
        return services  # no service recorded here, and the store knows it: no write per node
    _reported_none = services == []
    if services is not None:
        try:
            _beat(name, services)
        except Exception as exc:
            log.warning("services report failed: %s", exc)
    return services


def start_beating(name: str) -> threading.Thread:
    """Heartbeat and look at the services from a thread of the worker's main process."""
    def beat() -> None:
        from nebhx.runtime.storage.report import VolumeReport
        settings = get_settings()
        stop = threading.Event()
        last_look = 0.0
        report = VolumeReport(name)
        while not stop.wait(settings.agent_heartbeat_s):
            services = volumes = None
            if time.monotonic() - last_look >= settings.services_check_s:
                services, last_look = _look_at_services(name), time.monotonic()
                volumes = _look_at_volumes(report)
            try:
                _beat(name, services, volumes)
            except Exception as exc:  # the store or the API may be restarting; keep beating
                log.warning("heartbeat failed: %s", exc)

    thread = threading.Thread(target=beat, daemon=True, name=f"agent-{name}")
    thread.start()
    _watch_liveness(name)
    return thread


def _watch_liveness(name: str) -> None:
    """Liveness probes of this host's services, from their own thread: a slow probe or a
    restart must not delay the heartbeat."""
    from nebhx.runtime import HostRuntime
    from nebhx.runtime.liveness import start_watching
    try:
        start_watching(HostRuntime.for_host(name))
    except Exception as exc:  # the heartbeat goes on; the services view shows no liveness
        log.warning("liveness watcher did not start: %s", exc)


def beat_worker(worker_id: str, host: str | None) -> None:
    """This worker process is alive: through the execution API in an agent, else the store."""
    from nebhx.engine.workers import record_beat, start_beating
    settings = get_settings()
    if (remote := _remote()) is not None:
        wid = worker_id
        beat = lambda: remote.call("/alive", {"worker": wid}, patience_s=0)  # noqa: E731
    else:
        def beat() -> None:
            with session_scope() as s:
                record_beat(s, worker_id=worker_id, host=host)
    start_beating(beat, settings.worker_beat_s)
