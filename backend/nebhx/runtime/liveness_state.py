"""What a service's liveness is, apart from the watcher that keeps it (``liveness``): the
probe and policy ``service.run`` records, and the state file the services view reads
(``<home>/services/<svc>/liveness/<instance>.json``)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Liveness(BaseModel):
    """A liveness probe of ``service.run``: one of http, tcp or command, and what to do."""
    model_config = ConfigDict(extra="forbid")  # a misspelt key must not turn a probe off
    http: str | None = Field(default=None, description="HTTP path that must answer 200, e.g. /health")
    tcp: bool = Field(default=False, description="The port must accept connections")
    command: str | None = Field(default=None, description="Shell command that must exit 0")
    interval_s: float = Field(default=10, ge=0.1, le=3600, description="Seconds between probes")
    timeout_s: float = Field(default=3, gt=0, le=300, description="How long one probe may take")
    failures: int = Field(default=3, ge=1, le=100, description="Failed probes in a row that count as dead")
    restarts: int = Field(default=3, ge=0, le=100,
                          description="Restarts in a row before the service is marked unhealthy")
    backoff_s: float = Field(default=5, ge=0, le=3600,
                             description="Wait after a restart before probing again; doubles each time")
    email: list[str] = Field(default_factory=list, description="Who is mailed when it turns unhealthy")
    smtp: str | None = Field(default=None, pattern=r"^[A-Za-z0-9.\-\[\]:]+:\d+$",
                             description="SMTP server host:port (no login); default: NEBHX_MAIL_SINK on the "
                                         "host's agent (the mail sink of `nebhx up`)")
    sender: str = Field(default="nebhx@localhost", description="From address of the e-mail")
    webhook: str | None = Field(default=None, pattern=r"^https?://", description="URL that gets a JSON POST")


def liveness_record(spec: Any, port: int | None, program: str) -> dict[str, Any] | None:
    """The liveness of ``service.run`` inputs (a model, a dict or None) as the record keeps
    it: the probe resolved against the port, plus the policy."""
    if spec is None:
        return None
    live = spec if isinstance(spec, Liveness) else Liveness.model_validate(spec)
    if live.http and port:
        probe = {"kind": "http", "target": f"http://127.0.0.1:{port}/{live.http.lstrip('/')}"}
    elif live.tcp and port:
        probe = {"kind": "tcp", "target": f"127.0.0.1:{port}"}
    elif live.command:
        probe = {"kind": "command", "target": live.command}
    else:
        probe = {"kind": "process", "target": program}
    return {"probe": probe, **live.model_dump(exclude={"http", "tcp", "command"})}


def state_file(home: Path, service: str, instance: str | None) -> Path:
    return Path(home) / "services" / service / "liveness" / f"{instance or 'default'}.json"


def read_state(home: Path, service: str, instance: str | None) -> dict[str, Any] | None:
    try:
        data = json.loads(state_file(home, service, instance).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def view(state: dict[str, Any] | None) -> dict[str, Any] | None:
    """What the services view shows of a state: status, since, restarts, last probe."""
    if not state:
        return None
    return {k: state.get(k) for k in ("status", "since", "restarts", "restarts_in_row", "last_probe", "notified")}
