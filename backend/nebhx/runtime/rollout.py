"""One service instance as the rollout bricks drive it: its journal, program and probes.

    <home>/services/<svc>/rollout/<instance or default>.json
    <home>/services/<svc>/prepared.json      what rollout.prepare staged and rendered last

The journal says what the instance runs (``on``), what a rollout moves it from and to,
the phase (switching, switched, rolling_back, rolled_back, committed), the snapshot the
switch took and whether it was restored. It is written (temp file + rename, mode 600:
it holds the program's environment) before each change, so a brick killed half-way is
resumed by running it again: every step checks what is already done.
"""
from __future__ import annotations

import copy
import json
import os
import shlex
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from nebhx.bricks.errors import BrickFailed
from nebhx.runtime import configs
from nebhx.runtime.accounts import program_user
from nebhx.runtime.probes import ProbeResult, command_probe, http_probe, tcp_probe, wait_until
from nebhx.runtime.releases import check_id
from nebhx.runtime.services import instance_file, read_spec, record_instance, run_probe, write_spec

if TYPE_CHECKING:
    from nebhx.runtime.process import ProcessManager
    from nebhx.bricks.base import Context
    from nebhx.runtime import HostRuntime


class CheckSpec(BaseModel):
    """A check run after a switch: ``{"kind": "http", "url": "http://127.0.0.1:{port}/"}``,
    ``{"kind": "tcp", "address": ...}`` or ``{"kind": "command", "command": ...}``;
    ``{port}`` is the instance's port."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["http", "tcp", "command"]
    name: str | None = Field(default=None, description="Shown in errors; default kind + target")
    url: str | None = None
    address: str | None = None
    command: str | None = None
    expect_status: int = 200
    contains: str | None = None
    attempts: int = Field(default=3, ge=1)
    interval_s: float = Field(default=0.5, ge=0)
    timeout_s: float = Field(default=5, gt=0)

    def target(self, port: int | None) -> str:
        raw = {"http": self.url, "tcp": self.address, "command": self.command}[self.kind]
        if not raw:
            raise BrickFailed(f"a {self.kind} check needs "
                              f"{ {'http': 'url', 'tcp': 'address', 'command': 'command'}[self.kind]}")
        return raw.replace("{port}", str(port or ""))

    def label(self, port: int | None) -> str:
        return self.name or f"{self.kind} check {self.target(port)}"

    def probe(self, port: int | None) -> ProbeResult:
        target = self.target(port)
        if self.kind == "http":
            return http_probe(target, self.expect_status, self.contains, self.timeout_s)
        if self.kind == "tcp":
            return tcp_probe(target, self.timeout_s)
        return command_probe(target, self.timeout_s)


class StepFailed(Exception):
    """Readiness or a check failed: ``what`` names it, ``error`` says why."""

    def __init__(self, what: str, error: str):
        super().__init__(f"{what}: {error}")
        self.what, self.error = what, error


class Steps:
    """Times each step, logs its start and end, and keeps ``[{step, seconds}]``."""

    def __init__(self, ctx: Context):
        self.ctx, self.rows = ctx, []
        self.t0, self.ends = time.monotonic(), {}  # when each step (its first time) ended

    @contextmanager
    def __call__(self, name: str):
        start = time.monotonic()
        self.ctx.log("step %s: begins", name)
        yield
        self.ends.setdefault(name, time.monotonic())
        seconds = round(self.ends[name] - start, 3)
        self.rows.append({"step": name, "seconds": seconds})
        self.ctx.log("step %s: done in %.3f s", name, seconds)


def fill(command: str, values: dict[str, str | None]) -> str:
    """The command with {release}, {config}, {data}, {port} filled in, shell-quoted."""
    for key, value in values.items():
        if "{" + key + "}" in command:
            if not value:
                raise BrickFailed(f"command uses {{{key}}} but no {key} is known")
            command = command.replace("{" + key + "}", shlex.quote(value))
    return command


class Instance:
    """A service instance on this host: ``program`` under its launcher, its journal."""

    def __init__(self, runtime: HostRuntime, service: str, instance: str = ""):
        self.rt, self.service, self.instance = runtime, check_id(service, "service name"), instance
        self.name = f"{service}-{instance}" if instance else service
        base = runtime.home / "services" / self.service
        self.journal_path = runtime.confine(base / "rollout" / f"{instance or 'default'}.json",
                                            param="instance")
        self.configs_dir = base / "configs"
        # The program that serves: ``name`` on the instance's port, unless a blue-green switch
        # (runtime/bluegreen.py) left it on its second slot, a program of its own on its own port.
        slot = self.load().get("slot") or {}
        self.program: str = slot.get("program") or self.name
        self.slot_port: int | None = slot.get("port") if self.program != self.name else None
        self.chosen: str | None = None  # a new instance's launcher, as its first switch names it

    @property
    def kind(self) -> str:
        """The launcher it runs under: as recorded (a record from before launchers had a
        choice is supervisord's), else the one chosen, else the host's default."""
        spec = self.running_spec()
        if spec:
            return spec.get("launcher") or "supervisord"
        from nebhx.runtime.systemd import default_launcher
        return self.chosen or default_launcher()

    @property
    def launcher(self) -> ProcessManager:
        return self.rt.launcher(self.kind)

    def unit(self) -> str:
        """What the launcher calls the program: a systemd unit, or supervisord's program."""
        launcher = self.launcher
        return launcher.unit(self.program) if hasattr(launcher, "unit") else f"program:{self.program}"

    def launch_options(self, spec: dict[str, Any]) -> dict[str, Any]:
        """The restart policy, and for systemd its limits and liveness check, from ``spec``."""
        options: dict[str, Any] = {"autorestart": spec.get("restart") != "no"}
        if self.kind == "systemd":
            options.update(restart=spec.get("restart") or "always", live_interval_s=spec.get("live_interval_s") or 10,
                           **{k: spec.get(k) for k in ("memory_max", "cpu_quota", "live_command")})
        return options

    def port(self, spec: dict[str, Any]) -> int | None:
        """The port the serving program listens on: its slot's, else the spec's."""
        return self.slot_port or spec.get("port")

    def view(self, program: str, port: int | None) -> Instance:
        """This instance as ``program`` on ``port`` (one slot of a blue-green switch)."""
        other = copy.copy(self)
        other.program, other.slot_port = program, (port if program != self.name else None)
        return other

    # -- journal ----------------------------------------------------------------------
    def load(self) -> dict[str, Any]:
        try:
            return json.loads(self.journal_path.read_text())
        except (OSError, ValueError):
            return {}

    def save(self, state: dict[str, Any], sync: bool = True) -> None:
        """Replace the journal atomically; ``sync`` false skips the fsync where losing the
        write to a power cut is harmless (the step it marks is safe to run again)."""
        self.journal_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.journal_path.with_name(f".{self.journal_path.name}.{uuid.uuid4().hex[:8]}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(state, fh, indent=2)
            fh.flush()
            if sync:
                os.fsync(fh.fileno())
        os.replace(tmp, self.journal_path)

    def running_now(self) -> dict[str, str | None]:
        """What the instance runs: the journal's ``on``, else what ``service.run`` recorded,
        else the service's ``current`` release."""
        on = self.load().get("on")
        if on:
            return on
        try:
            rec = json.loads(instance_file(self.rt.home, self.service, self.instance).read_text())
        except (OSError, ValueError):
            rec = {}
        return {"release": rec.get("release") or self.rt.releases.current(self.service),
                "config": rec.get("config_version")}

    def prepared(self) -> dict[str, Any]:
        """``{"release_id", "config_version"}`` that rollout.prepare left on this host last."""
        try:
            return json.loads((self.configs_dir.parent / "prepared.json").read_text())
        except (OSError, ValueError):
            return {}

    def set_prepared(self, release: str, config: str | None) -> None:
        path = self.rt.confine(self.configs_dir.parent / "prepared.json", param="service")
        tmp = path.with_name(f".prepared.{uuid.uuid4().hex[:8]}")
        tmp.write_text(json.dumps({"release_id": release, "config_version": config}))
        os.replace(tmp, path)

    # -- the program ------------------------------------------------------------------
    def config_dir(self, version: str | None) -> Path | None:
        if not version:
            return None
        path = self.rt.confine(self.configs_dir / check_id(version, "config version"),
                               param="config_version")
        if not path.is_dir():
            raise BrickFailed(f"config version {version!r} of {self.service!r} is not rendered "
                              f"on host {self.rt.name}: run rollout.prepare first")
        return path

    def definition(self, spec: dict[str, Any], release: str, config: str | None, create: bool = False) -> dict:
        folder = self.rt.releases.path(self.service, release)
        cfg = self.config_dir(config)
        port, data = self.port(spec), spec.get("data_path")
        command = fill(spec["command"], {"release": str(folder), "config": cfg and str(cfg),
                                         "data": data, "port": str(port) if port else None})
        # As service.run: its own user, its release and config read-only, its data writable.
        user = program_user(self.service, spec.get("user") or "", create=create)
        return dict(name=self.program, command=command, cwd=str(folder), env=spec.get("env") or {},
                    start_secs=spec.get("start_secs", 1), start_retries=spec.get("max_restarts", 3),
                    user=user, read=[str(folder)] + ([str(cfg)] if cfg else []), write=[data] if data else [],
                    **self.launch_options(spec))

    def needs_restart(self, spec: dict, release: str, config: str | None) -> bool:
        status = self.launcher.status(self.program)
        return not (status and status.up) or self.launcher.differs(
            **self.definition(spec, release, config))

    def apply(self, spec: dict, release: str, config: str | None) -> bool:
        """(Re)define the program on ``release``/``config``; start it if it is down."""
        sv = self.launcher
        changed = sv.ensure_program(**self.definition(spec, release, config, create=True))
        status = sv.status(self.program)
        if not changed and not (status and status.up):
            sv.start(self.program)
            changed = True
        return changed

    def record(self, spec: dict, release: str, config: str | None, like: dict | None = None) -> None:
        """What ``service.run`` records for the services view: release, config, pid; the
        advertised host of the record ``like`` (the instance's before the switch) is kept."""
        status = self.launcher.status(self.program)
        port = self.port(spec)
        inputs = SimpleNamespace(service=self.service, instance=self.instance, port=port,
                                 config_path=str(self.config_dir(config)) if config else None,
                                 **{k: spec.get(k) for k in ("ready_http", "ready_tcp", "ready_command", "liveness")})
        host = ((like or {}).get("address") or "").rpartition(":")[0] or self.rt.address
        address = f"{host}:{port}" if port else host
        record_instance(self.rt.home, inputs, self.program, self.rt.releases.path(self.service, release),
                        address, status.pid if status else None)
        write_spec(self.rt.home, self.service, self.instance, spec)

    def running_spec(self) -> dict[str, Any]:
        """What the instance was started with (command template, port, env, readiness, data):
        as ``service.run`` or the last switch or rollback recorded it; {} when unknown."""
        return read_spec(self.rt.home, self.service, self.instance) or self.load().get("spec") or {}

    def pid(self) -> int | None:
        status = self.launcher.status(self.program)
        return status.pid if status and status.up else None

    # -- probes -----------------------------------------------------------------------
    def probe(self, spec: dict) -> dict:
        """The readiness probe of ``spec``, as the services view records it."""
        port = self.port(spec)
        if spec.get("ready_http") and port:
            return {"kind": "http", "target": f"http://127.0.0.1:{port}/{spec['ready_http'].lstrip('/')}"}
        if spec.get("ready_tcp") and port:
            return {"kind": "tcp", "target": f"127.0.0.1:{port}"}
        if spec.get("ready_command"):
            return {"kind": "command", "target": spec["ready_command"]}
        return {"kind": "process", "target": self.program}

    def wait_ready(self, spec: dict, ctx: Context | None = None, probe: dict | None = None) -> ProbeResult:
        """Wait until ready by ``spec``'s readiness, or by ``probe`` (a recorded one) if given."""
        probe = probe or self.probe(spec)
        sv = self.launcher

        def state() -> str:
            st = sv.status(self.program)
            return st.state if st else "gone"

        def abort() -> str | None:
            now = state()
            return f"program {self.program} is {now}" if now in ("FATAL", "STOPPED", "gone") else None

        return wait_until(lambda: run_probe(probe, state(), 5), spec.get("ready_timeout_s", 30),
                          0.05, ctx, abort=abort)

    def run_checks(self, checks: list[CheckSpec], port: int | None, ctx: Context) -> None:
        for check in checks:
            budget = check.attempts * (check.timeout_s + check.interval_s) + 1
            result = wait_until(lambda: check.probe(port), budget, check.interval_s, ctx,
                                max_attempts=check.attempts)
            if not result.ok:
                raise StepFailed(check.label(port), f"{result.error} after {result.attempts} attempt(s)")
            ctx.log("%s passed: %s", check.label(port), result.summary())

    def same_config_files(self, a: str | None, b: str | None) -> bool:
        return a == b or configs.same_files(self.config_dir(a), self.config_dir(b))
