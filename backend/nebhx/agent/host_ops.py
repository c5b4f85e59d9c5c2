"""Small things the control plane asks of a host's agent outside any run: pin or unpin a
staged release, read the tail of a service's log.

They travel the way a plan does (nebhx.execution.plan: one ``nebhx.plan_host`` task on the
host's own queue, the answer back through the execution API or the store), with an ``op``
in the batch; the agent answers a dict, ``{"error": ...}`` when it cannot.

A log is read from supervisord's files for the instance's program (the host runtime's
launcher); bounded: at most ``MAX_BYTES`` per stream per answer, from the caller's offset,
so following a log is a series of small reads, never the whole file. The control plane masks
secrets before anyone sees the text.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from nebhx.runtime import HostRuntime
from nebhx.runtime.services import read_spec, records

MAX_BYTES = 64_000
STREAMS = ("out", "err")


def _instance(runtime: HostRuntime, service: str, instance: str) -> dict[str, Any]:
    for rec in records(runtime.home):
        if rec.get("service") == service and (rec.get("instance") or "") == (instance or ""):
            return rec
    where = f"service {service!r}" + (f" instance {instance!r}" if instance else "")
    raise LookupError(f"host {runtime.name} runs no {where}")


def _tail(path: Path, offset: int | None, max_bytes: int) -> dict[str, Any]:
    """From ``offset`` (None: the last ``max_bytes``) to the end, at most ``max_bytes``; a
    file shorter than ``offset`` was rotated: read it from its start."""
    if not path.exists():
        return {"text": "", "offset": 0, "skipped": 0}
    with path.open("rb") as f:
        size = f.seek(0, 2)
        start = max(0, size - max_bytes) if offset is None or offset > size else offset
        skipped = max(0, size - start - max_bytes)
        f.seek(start + skipped)
        data = f.read(max_bytes)
    text = data.decode("utf-8", "replace")
    if (offset is None or skipped) and start + skipped > 0 and "\n" in text:
        text = text.split("\n", 1)[1]  # a cut first line is noise
    return {"text": text, "offset": size, "skipped": skipped}


def log(runtime: HostRuntime, batch: dict[str, Any]) -> dict[str, Any]:
    rec = _instance(runtime, batch["service"], batch.get("instance") or "")
    if read_spec(runtime.home, rec.get("service") or "", rec.get("instance") or "").get("launcher") == "systemd":
        return {"error": "the log of a systemd unit is in the journal: `journalctl -u` on the host "
                         "(the agent reads supervisord's logs)"}
    logs = runtime.supervisor.logs
    offsets = batch.get("offsets") or {}
    limit = max(1, min(int(batch.get("max_bytes") or MAX_BYTES), MAX_BYTES))
    return {"program": rec["program"], "streams": {
        s: _tail(logs / f"{rec['program']}.{s}.log", offsets.get(s), limit) for s in STREAMS}}


def pin(runtime: HostRuntime, batch: dict[str, Any]) -> dict[str, Any]:
    service, release = batch["service"], batch["release"]
    if release not in {r.id for r in runtime.releases.list(service)}:
        return {"error": f"host {runtime.name} has no staged release {release!r} of service {service!r}"}
    (runtime.releases.pin if batch["op"] == "pin" else runtime.releases.unpin)(service, release)
    return {"release": release, "pinned": batch["op"] == "pin"}


OPS = {"pin": pin, "unpin": pin, "log": log}


def run_op(runtime: HostRuntime, batch: dict[str, Any]) -> dict[str, Any]:
    op = OPS.get(batch.get("op") or "")
    if op is None:
        return {"error": f"unknown host operation {batch.get('op')!r}"}
    try:
        return op(runtime, batch)
    except LookupError as exc:
        return {"error": str(exc.args[0])}
