"""What a host's agent tells the control plane beside its nodes: a heartbeat with what it
saw of its services and volumes, a report right after a node changed them, and liveness
probes. Where it goes is the ``beat`` given: the execution API on an agent
(``agent.main``), the store for the embedded agent of ``nebhx up`` (``hosts.agent``)."""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from nebhx.settings import get_settings

log = logging.getLogger("nebhx.agent")
# beat(services, volumes): None for what was not looked at this time.
Beat = Callable[[list[dict] | None, list[dict] | None], None]
MOVING = ("STARTING", "STOPPING", "BACKOFF")  # supervisord's states on the way to another
FOLLOW_LOOKS = 15


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


class HostReporter:
    """The heartbeat and service reports of host ``name``, sent with ``beat``."""

    def __init__(self, name: str, beat: Beat):
        self.name, self.beat = name, beat
        self._look_pending = threading.Event()
        self._reported_none = False  # this process last reported that no service is recorded here

    def report_services_soon(self, host: str) -> None:
        """Look at the services and report them now, beside the worker (a node on this host just
        finished and may have changed one); a look already on its way covers this one."""
        if self._look_pending.is_set():
            return
        self._look_pending.set()

        def look() -> None:
            self._look_pending.clear()  # a change after this point asks for a look of its own
            for _ in range(FOLLOW_LOOKS):
                services = self._report_services()
                if not any(r.get("state") in MOVING for r in services or []):
                    return
                time.sleep(1.0)  # a program still starting or stopping: follow it to its state
        threading.Thread(target=look, daemon=True, name=f"agent-{host}-look").start()

    def _report_services(self) -> list[dict] | None:
        services = _look_at_services(self.name)
        if services == [] and self._reported_none:
            return services  # no service recorded here, and the store knows it: no write per node
        self._reported_none = services == []
        if services is not None:
            try:
                self.beat(services, None)
            except Exception as exc:
                log.warning("services report failed: %s", exc)
        return services

    def start(self) -> threading.Thread:
        """Heartbeat and look at the services from a thread of the worker's main process."""
        thread = threading.Thread(target=self._beat_loop, daemon=True, name=f"agent-{self.name}")
        thread.start()
        _watch_liveness(self.name)
        return thread

    def _beat_loop(self) -> None:
        from nebhx.runtime.storage.report import VolumeReport
        settings = get_settings()
        stop = threading.Event()
        last_look = 0.0
        report = VolumeReport(self.name)
        while not stop.wait(settings.agent_heartbeat_s):
            services = volumes = None
            if time.monotonic() - last_look >= settings.services_check_s:
                services, last_look = _look_at_services(self.name), time.monotonic()
                volumes = _look_at_volumes(report)
            try:
                self.beat(services, volumes)
            except Exception as exc:  # the store or the API may be restarting; keep beating
                log.warning("heartbeat failed: %s", exc)


def _watch_liveness(name: str) -> None:
    """Liveness probes of this host's services, from their own thread: a slow probe or a
    restart must not delay the heartbeat."""
    from nebhx.runtime import HostRuntime
    from nebhx.runtime.liveness import start_watching
    try:
        start_watching(HostRuntime.for_host(name))
    except Exception as exc:  # the heartbeat goes on; the services view shows no liveness
        log.warning("liveness watcher did not start: %s", exc)
