"""The services view of one host: is each service that ``service.run`` started alive now?

``service.run`` records every instance it started in
``<home>/services/<svc>/instances/<instance or default>.json`` (program, release, config
version, address and its readiness probe). ``snapshot`` reads those records, asks the
host's supervisord for each program's state and pid, and runs the recorded probe once
with a short timeout. The agent calls it from its heartbeat; it never starts supervisord
and never raises for a dead or unknown service.

Each row also carries the service's releases on the host (``releases``: active, previous,
prepared, pinned, committed, rolled back) and the rollout journal's phase (``rollout``),
for the releases view (``GET /api/releases``). Only markers and links are read: no
release is walked, and the journal's program spec (it holds the environment) stays out.
"""
from __future__ import annotations

import json
import os
import time
import uuid
import xmlrpc.client
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nebhx.bricks.errors import BrickFailed
from nebhx.runtime.liveness_state import liveness_record, read_state, view
from nebhx.runtime.process import ProcessManager
from nebhx.runtime.probes import ProbeResult, command_probe, http_probe, tcp_probe
from nebhx.runtime.supervisor import Supervisor

if TYPE_CHECKING:
    from nebhx.runtime import HostRuntime


def instance_file(home: Path, service: str, instance: str) -> Path:
    """Where ``service.run`` records one instance, for the services view."""
    return Path(home) / "services" / service / "instances" / f"{instance or 'default'}.json"


SPEC_KEYS = ("command", "port", "env", "user", "ready_http", "ready_tcp", "ready_command", "ready_timeout_s",
             "max_restarts", "start_secs", "data_path", "liveness", "launcher", "restart", "memory_max",
             "cpu_quota", "live_command", "live_interval_s")


def spec_file(home: Path, service: str, instance: str) -> Path:
    """The running spec of one instance (command template, port, env, readiness): what a
    ``rollout.switch`` takes by reference. Apart from the record: it holds the environment."""
    return Path(home) / "services" / service / "specs" / f"{instance or 'default'}.json"


def read_spec(home: Path, service: str, instance: str) -> dict[str, Any]:
    try:
        spec = json.loads(spec_file(home, service, instance).read_text())
    except (OSError, ValueError):
        return {}
    return spec if isinstance(spec, dict) else {}


def write_spec(home: Path, service: str, instance: str, spec: dict[str, Any] | None) -> None:
    """Record (mode 600, temp file + rename) or, with None, forget the running spec."""
    path = spec_file(home, service, instance)
    if spec is None:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.parent.chmod(0o700)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({k: _plain(spec.get(k)) for k in SPEC_KEYS}, fh, indent=2)
    os.replace(tmp, path)


def _plain(value: Any) -> Any:
    """A pydantic model (service.run's liveness) as JSON data."""
    return value.model_dump() if hasattr(value, "model_dump") else value


def probe_of(inputs: Any, name: str) -> dict:
    """The readiness probe of ``service.run`` inputs as data, so it can run again later."""
    if inputs.ready_http and inputs.port:
        path = "/" + inputs.ready_http.lstrip("/")
        return {"kind": "http", "target": f"http://127.0.0.1:{inputs.port}{path}"}
    if inputs.ready_tcp and inputs.port:
        return {"kind": "tcp", "target": f"127.0.0.1:{inputs.port}"}
    if inputs.ready_command:
        return {"kind": "command", "target": inputs.ready_command}
    return {"kind": "process", "target": name}


def config_version(home: Path, service: str, config_path: str | None) -> str | None:
    """``<version>`` when the config lives under ``services/<svc>/configs/<version>``."""
    if not config_path:
        return None
    root = (Path(home) / "services" / service / "configs").resolve()
    try:
        rel = Path(config_path).resolve().relative_to(root)
    except ValueError:
        return None
    return rel.parts[0] if rel.parts else None


def record_instance(home: Path, inputs: Any, name: str, release: Path | None,
                    address: str, pid: int | None) -> Path:
    """Write the instance record atomically (temp file + rename). ``started_at`` is kept
    while the same process runs, so an unchanged re-run does not move it."""
    path = instance_file(home, inputs.service, inputs.instance)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        old = json.loads(path.read_text())
    except (OSError, ValueError):
        old = {}
    started_at = old.get("started_at") if old.get("pid") == pid and pid else None
    record = {
        "service": inputs.service, "instance": inputs.instance or None, "program": name,
        "release": release.name if release is not None else None,
        "config_version": config_version(home, inputs.service, inputs.config_path),
        "port": inputs.port, "address": address, "probe": probe_of(inputs, name), "pid": pid,
        "liveness": liveness_record(getattr(inputs, "liveness", None), inputs.port, name),
        **_image_record(inputs, release),
        "started_at": started_at or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "ran": _ran(old, release.name if release is not None else None),
    }
    if getattr(inputs, "command", None) and getattr(inputs, "runtime", "process") == "process":
        write_spec(home, inputs.service, inputs.instance, {k: getattr(inputs, k, None) for k in SPEC_KEYS})
    if record == old:
        return path
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    os.replace(tmp, path)
    return path


RAN_KEPT = 20


def _ran(old: dict[str, Any], release: str | None) -> list[str]:
    """The releases this instance ran, oldest first (the releases view shows an instance only
    those: two graphs running instances of one service share its release folder)."""
    ran = list(old.get("ran") or ([old["release"]] if old.get("release") else []))
    if release and (not ran or ran[-1] != release):
        ran.append(release)
    return ran[-RAN_KEPT:]


def _image_record(inputs: Any, release: Path | None) -> dict[str, Any]:
    """A container instance: its runtime and the image (with digest) it runs."""
    runtime = getattr(inputs, "runtime", "process")
    if runtime == "process" or release is None:
        return {}
    from nebhx.runtime.images import image_of
    return {"runtime": runtime, "image": image_of(release).get("image")}


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


def _state(sv: ProcessManager, program: str) -> tuple[str, int | None]:
    try:
        st = sv.status(program)
    except (OSError, xmlrpc.client.Error, BrickFailed):
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


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


JOURNAL_KEYS = ("phase", "from", "to", "error", "switched_at", "committed_at")


def release_view(runtime: HostRuntime, service: str, instance: str | None,
                 running: str | None = None, ran: list[str] | None = None) -> dict[str, Any]:
    """The releases of ``service`` on this host as the releases view shows them; ``prepared``
    marks the release rollout.prepare staged last while it does not run yet; ``active`` is
    what the instance runs (``running``, else the service's ``current`` link). With ``ran``
    (the instance's history) only the releases this instance ran, its rollout moved between
    or that are prepared, and ``previous`` is its own."""
    base = Path(runtime.home) / "services" / service
    journal = _read(base / "rollout" / f"{instance or 'default'}.json")
    prepared = _read(base / "prepared.json")
    try:
        rel = runtime.releases
        folder, cur, prev = rel.dir(service) / "releases", rel.current(service), rel.previous(service)
        cur = running or cur
    except Exception:  # an odd name or a broken link: show no releases rather than fail
        return {"releases": [], "rollout": None, "prepared": prepared or None}
    undone = (journal.get("to") or {}).get("release") if journal.get("phase") == "rolled_back" else None
    mine = None if ran is None else {*ran, cur, prepared.get("release_id"),
                                     *((journal.get(k) or {}).get("release") for k in ("from", "to"))}
    # Mid-switch the links have moved while the process has not: never "previous" = active.
    if prev == cur or (mine is not None and prev not in mine):  # (or another instance's previous)
        prev = next((r for r in reversed(ran or []) if r != cur), None)
    rows = []
    for path in folder.iterdir() if folder.is_dir() else []:
        meta = _read(path / ".nebhx-release.json")
        if path.name.startswith(".") or not meta or (mine is not None and path.name not in mine):
            continue
        rows.append({"id": path.name, "staged_at": meta.get("staged_at", 0.0), "active": path.name == cur,
                     "previous": path.name == prev, "prepared": prepared.get("release_id") == path.name != cur,
                     "pinned": (path / ".pinned").exists(),
                     "committed_at": _read(path / ".committed").get("committed_at"),
                     "rolled_back": path.name == undone, "source": meta.get("source"),
                     "sha256": meta.get("sha256"), **_built_from(path), **_image_row(path)})
    rows.sort(key=lambda r: (r["staged_at"], r["id"]))
    return {"releases": rows, "prepared": prepared or None,
            "rollout": {k: journal.get(k) for k in JOURNAL_KEYS} if journal else None}


def _built_from(release: Path) -> dict[str, Any]:
    """A release staged from a build artifact: the commit and build run it came from."""
    prov = _read(release / ".nebhx-provenance.json")
    return {"commit": prov.get("commit"), "build_run": prov.get("run")} if prov else {}


def _image_row(release: Path) -> dict[str, Any]:
    """A release staged from oci:NAME@sha256:DIGEST: the image, digest included."""
    image = _read(release / ".nebhx-image.json")
    return {"image": image.get("image")} if image else {}


def _liveness_row(home: Path, rec: dict[str, Any]) -> dict[str, Any] | None:
    """The liveness watcher's word on an instance with a liveness probe (status "pending"
    until its first probe)."""
    if not rec.get("liveness"):
        return None
    return view(read_state(home, rec.get("service") or "", rec.get("instance"))) or {"status": "pending"}


def launcher_of_record(runtime: HostRuntime, rec: dict[str, Any], sv: Supervisor) -> ProcessManager:
    """The launcher an instance record runs under, as its spec names it (supervisord's before)."""
    spec = read_spec(runtime.home, rec.get("service") or "", rec.get("instance") or "")
    return runtime.systemd if spec.get("launcher") == "systemd" else sv


def snapshot(runtime: HostRuntime, *, probe: bool = True, timeout: float = 2.0) -> list[dict[str, Any]]:
    """One dict per recorded instance: what it runs, its supervisor state and pid, and
    (with ``probe``) the result of running its probe once, at most ``timeout`` seconds."""
    recs = records(runtime.home)
    if not recs:
        return []
    sv = Supervisor(runtime.supervisor.root, rpc_timeout=timeout)
    # When the host looked: a view shows each row's own age (the host beats more often than
    # it looks), and the store keeps a later look over an earlier one that arrives late.
    checked = datetime.now(timezone.utc).isoformat(timespec="microseconds")
    rows, managers = [], [launcher_of_record(runtime, rec, sv) for rec in recs]
    for rec, manager in zip(recs, managers):
        state, pid = _state(manager, rec["program"])
        rows.append({
            "service": rec.get("service"), "instance": rec.get("instance"),
            "program": rec["program"], "release": rec.get("release"),
            "config_version": rec.get("config_version"), "address": rec.get("address"),
            **({"image": rec["image"]} if rec.get("image") else {}),
            "state": state, "pid": pid, "since": rec.get("started_at"), "last_probe": None, "checked_at": checked,
            "liveness": _liveness_row(runtime.home, rec),
            **release_view(runtime, rec.get("service") or "", rec.get("instance"), rec.get("release"),
                           rec.get("ran")),
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
                if not result["ok"]:  # it may have stopped while probed: the state of then
                    rows[i]["state"], rows[i]["pid"] = _state(managers[i], recs[i]["program"])
    return rows
