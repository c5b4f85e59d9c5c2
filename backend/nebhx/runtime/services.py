"""The services view of one host: is each service that ``service.run`` started alive now?

``service.run`` records every instance it started in
``<home>/services/<svc>/instances/<instance or default>.json`` (program, release, config
version, address and its readiness probe). ``snapshot`` reads those records, asks the
host's supervisord for each program's state and pid, and runs the recorded probe once
with a short timeout. The agent calls it from its heartbeat; it never starts supervisord
and never raises for a dead or unknown service.
"""
from __future__ import annotations

import json
import time
import xmlrpc.client
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from nebhx.runtime import HostRuntime
from nebhx.runtime.probes import ProbeResult, command_probe, http_probe, tcp_probe
from nebhx.runtime.supervisor import Supervisor


def records(home: Path) -> list[dict[str, Any]]:
    """Every readable instance record under ``home``, sorted by service and instance."""
    out = []
    for path in sorted(Path(home).glob("services/*/instances/*.json")):
        try:
            rec = json.loads(path.read_text())
        except (OSError, ValueError):
            continue  # a record being replaced, or garbage: skip it this time
        if isinstance(rec, dict) and rec.get("program"):
            out.append(rec)
    return out


def _state(sv: Supervisor, program: str) -> tuple[str, int | None]:
    try:
        st = sv.status(program)
    except (OSError, xmlrpc.client.Error):
        return "unknown", None
    return (st.state, st.pid) if st is not None else ("unknown", None)


def run_probe(probe: dict[str, Any], state: str, timeout: float) -> ProbeResult:
    kind, target = (probe or {}).get("kind"), (probe or {}).get("target") or ""
    if kind == "http":
        return http_probe(target, timeout=timeout)
    if kind == "tcp":
        return tcp_probe(target, timeout=timeout)
    if kind == "command":
        return command_probe(target, timeout=timeout)
    ok = state == "RUNNING"
    return ProbeResult(ok, "process", target, 0.0, error=None if ok else f"state {state}")


def snapshot(runtime: HostRuntime, *, probe: bool = True, timeout: float = 2.0) -> list[dict[str, Any]]:
    """One dict per recorded instance: what it runs, its supervisor state and pid, and
    (with ``probe``) the result of running its probe once, at most ``timeout`` seconds."""
    recs = records(runtime.home)
    if not recs:
        return []
    sv = Supervisor(runtime.supervisor.root, rpc_timeout=timeout)
    rows = []
    for rec in recs:
        state, pid = _state(sv, rec["program"])
        rows.append({
            "service": rec.get("service"), "instance": rec.get("instance"),
            "program": rec["program"], "release": rec.get("release"),
            "config_version": rec.get("config_version"), "address": rec.get("address"),
            "state": state, "pid": pid, "last_probe": None,
        })
    if probe:
        def one(i: int) -> dict[str, Any]:
            at = datetime.now(timezone.utc).isoformat(timespec="seconds")
            start = time.monotonic()
            try:
                res = run_probe(recs[i].get("probe") or {}, rows[i]["state"], timeout)
                ok, error, elapsed = res.ok, res.error, res.elapsed_ms
            except Exception as exc:  # a probe must never break the heartbeat
                ok, error = False, f"{type(exc).__name__}: {exc}"
                elapsed = round((time.monotonic() - start) * 1000, 1)
            return {"ok": ok, "error": error, "elapsed_ms": elapsed, "at": at}

        # Probes run side by side: one hung service costs one timeout, not one per service.
        with ThreadPoolExecutor(max_workers=min(8, len(rows))) as pool:
            for i, result in enumerate(pool.map(one, range(len(rows)))):
                rows[i]["last_probe"] = result
    return rows
