"""Liveness: is a running service still answering? Restart it when it stops, then give up.

``service.run`` (and a rollout switch, which keeps the running spec) records a liveness
probe in the instance record. The host's agent runs ``Watcher.tick`` from a thread of its
own (``start_watching``): a started process that hangs stays RUNNING for supervisord, so
only a probe notices it. Per instance:

- a probe every ``interval_s``; ``failures`` failed probes in a row count as dead;
- dead: restart the program through supervisord, then wait ``backoff_s`` (doubled on each
  restart in a row) before probing again, so a slow start is not killed again at once;
- dead after ``restarts`` restarts in a row: marked **unhealthy** (kept running, no more
  restarts) and a notification goes out once: e-mail (``runtime.notify.send_email``) and a
  webhook; a passing probe later makes it alive again (and says so, too);
- stopped on purpose (``service.stop``, a switch under way): "stopped", never started by
  liveness; being started by supervisord: left alone until it runs; FATAL (supervisord
  gave up): a failed probe like any other.

State lives in ``<home>/services/<svc>/liveness/<instance>.json``, so the services view (and
an agent that restarts) sees alive / failing / unhealthy, since when, restarts and the last
probe. Only one watcher per host home works at a time (a lock file).
"""
from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from nebhx.runtime.liveness_state import read_state, state_file
from nebhx.runtime.services import records, run_probe

log = logging.getLogger("nebhx.liveness")


def _write_state(path: Path, state: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(json.dumps(state, indent=2) + "\n")
    os.replace(tmp, path)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="seconds")


class Watcher:
    """One pass over a host's recorded instances per ``tick``; see the module's doc."""

    def __init__(self, runtime, notify: Callable[[dict, dict, str], None] | None = None,
                 clock: Callable[[], float] = time.time):
        self.rt, self.clock = runtime, clock
        self.notify = notify or send_alert

    def tick(self) -> None:
        lock_path = Path(self.rt.home) / "services" / ".liveness.lock"
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        with open(lock_path, "w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return  # another watcher (a second agent process) looks after this home
            for rec in records(self.rt.home):
                if rec.get("liveness"):
                    try:
                        self.one(rec)
                    except Exception as exc:  # one odd service must not stop the others
                        log.warning("liveness of %s failed: %s", rec.get("program"), exc)

    def one(self, rec: dict[str, Any]) -> None:
        spec, now = rec["liveness"], self.clock()
        path = state_file(self.rt.home, rec["service"], rec.get("instance"))
        state = read_state(self.rt.home, rec["service"], rec.get("instance")) or {}
        if state.get("started_at") not in (None, rec.get("started_at")):
            state = {}  # started anew by a run (service.run, a switch), not by us: a fresh count
        if now < state.get("next_at", 0):
            return
        sv = self.launcher(rec)
        st = sv.status(rec["program"])
        if st is None or st.state in ("STARTING", "BACKOFF"):
            return  # removed (service.stop), or supervisord is starting it: judge it once it runs
        if st.state in ("STOPPED", "STOPPING", "EXITED"):
            # Stopped on purpose (service.stop, a switch under way): not for liveness to start.
            state.update(started_at=rec.get("started_at"), next_at=now + spec["interval_s"], failures=0)
            self._set(state, "stopped", now)
            _write_state(path, state)
            return
        result = run_probe(spec["probe"], st.state, spec["timeout_s"])
        state.update(last_probe={"ok": result.ok, "error": result.error, "elapsed_ms": result.elapsed_ms,
                                 "at": _iso(now)}, started_at=rec.get("started_at"))
        state["next_at"] = now + spec["interval_s"]
        if result.ok:
            self._alive(rec, spec, state, now)
        else:
            self._failed(rec, spec, state, now, result.error or "failed")
        _write_state(path, state)

    def launcher(self, rec: dict[str, Any]):  # noqa: ANN201 - a ProcessManager
        """The launcher the instance runs under (supervisord, or systemd as its spec says)."""
        from nebhx.runtime.services import launcher_of_record
        return launcher_of_record(self.rt, rec, self.rt.supervisor)

    def _set(self, state: dict, status: str, now: float) -> None:
        if state.get("status") != status:
            state["status"], state["since"] = status, _iso(now)

    def _alive(self, rec: dict, spec: dict, state: dict, now: float) -> None:
        was = state.get("status")
        state["failures"], state["restarts_in_row"] = 0, 0
        self._set(state, "alive", now)
        if was == "unhealthy":
            self._tell(rec, spec, state, "alive again")

    def _failed(self, rec: dict, spec: dict, state: dict, now: float, error: str) -> None:
        state["failures"] = state.get("failures", 0) + 1
        if state["failures"] < spec["failures"] or state.get("status") == "unhealthy":
            if state.get("status") != "unhealthy":
                self._set(state, "failing", now)
            return
        row = state.get("restarts_in_row", 0)
        if row >= spec["restarts"]:
            self._set(state, "unhealthy", now)
            self._tell(rec, spec, state, f"unhealthy after {row} restart(s): {error}")
            return
        log.warning("restarting %s: %d failed liveness probe(s), last: %s", rec["program"], state["failures"], error)
        self.launcher(rec).restart(rec["program"])
        status = self.launcher(rec).status(rec["program"])
        state.update(failures=0, restarts_in_row=row + 1, restarts=state.get("restarts", 0) + 1,
                     last_restart=_iso(now), pid=status.pid if status else None)
        self._set(state, "restarting", now)
        state["next_at"] = now + spec["backoff_s"] * (2 ** row)

    def _tell(self, rec: dict, spec: dict, state: dict, what: str) -> None:
        try:
            self.notify(rec, spec, what)
            state["notified"] = {"what": what, "at": state.get("since"), "error": None}
        except Exception as exc:  # noted in the view: an operator sees the alert did not go out
            state["notified"] = {"what": what, "at": state.get("since"), "error": str(exc)}
            log.warning("liveness alert for %s failed: %s", rec["program"], exc)


def send_alert(rec: dict, spec: dict, what: str) -> None:
    """E-mail and webhook, each when configured; the first failure is raised after both tried."""
    from nebhx.runtime.notify import post_webhook, send_email
    host = os.environ.get("NEBHX_AGENT_HOST") or "this host"
    subject = f"[nebhx] {rec['program']} on {host}: {what.split(':')[0]}"
    body = (f"Service {rec['service']} (instance {rec.get('instance') or 'default'}) on host {host} "
            f"is {what}.\nProbe: {spec['probe']['kind']} {spec['probe']['target']}\n"
            f"Release: {rec.get('release')}\nAddress: {rec.get('address')}\n")
    errors = []
    if spec.get("email"):
        try:
            smtp_host, smtp_port = _smtp(spec.get("smtp"))
            send_email(smtp_host, smtp_port, spec["sender"], spec["email"], subject, body, timeout=10)
        except Exception as exc:
            errors.append(str(exc))
    if spec.get("webhook"):
        try:
            res = post_webhook(spec["webhook"], {"service": rec["service"], "instance": rec.get("instance"),
                                                 "program": rec["program"], "host": host, "status": what})
            if res.status >= 300:
                errors.append(f"webhook answered {res.status}")
        except Exception as exc:
            errors.append(str(exc))
    if errors:
        raise RuntimeError("; ".join(errors))


def _smtp(given: str | None) -> tuple[str, int]:
    """``host:port`` as given, else the agent's NEBHX_MAIL_SINK (as notify.email does)."""
    if given:
        host, _, port = given.rpartition(":")
        return host.strip("[]"), int(port)
    from nebhx.settings import get_settings
    sink = get_settings().mail_sink_address()
    if sink is None:
        raise RuntimeError("no SMTP server: liveness.smtp is not set and NEBHX_MAIL_SINK is off")
    return sink


def start_watching(runtime, tick_s: float = 0.5, stop: threading.Event | None = None) -> threading.Thread:
    """The agent's liveness thread: a tick every ``tick_s`` (each instance at its own
    interval) until ``stop`` is set (an agent's lives as long as the agent)."""
    watcher, stop = Watcher(runtime), stop or threading.Event()

    def loop() -> None:
        while not stop.wait(tick_s):
            try:
                watcher.tick()
            except Exception as exc:  # never let the thread die: liveness would stop silently
                log.warning("liveness tick failed: %s", exc)

    thread = threading.Thread(target=loop, daemon=True, name=f"liveness-{runtime.name}")
    thread.start()
    return thread
