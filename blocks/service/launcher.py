"""Launcher bricks: run a service under the host's process supervisor, and stop it."""
from __future__ import annotations

import errno
import re
import shlex
import socket
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator

from nebhx import Address, Brick, BrickFailed, Cancelled, Context, HostRef, Ports, Secret
from nebhx.bricks.base import is_known, on_lock_field
from nebhx.bricks.planning import Requires
from nebhx.runtime.accounts import program_user
from nebhx.runtime.liveness_state import Liveness
from nebhx.runtime.probes import ProbeResult, wait_until
from nebhx.runtime.process import ProcessManager
from nebhx.runtime.launchers import container_launcher, launch_options, launcher_of
from nebhx.runtime.services import instance_file, probe_of, record_instance, run_probe
from nebhx.runtime.systemd import Systemd

PLACEHOLDERS = ("release", "config", "data", "port")


def program_name(service: str, instance: str) -> str:
    return f"{service}-{instance}" if instance else service


def port_in_use(port: int) -> bool:
    """True when something already listens on ``port`` (any local address)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("0.0.0.0", port))
        except OSError as exc:
            return exc.errno == errno.EADDRINUSE
    return False


class RunService(Brick):
    """Run a service as a supervised process and wait until it is ready.

    The process runs under the host's launcher (supervisord, or systemd: see
    **Launcher**): it is restarted when it dies, its output is kept (log files, or
    systemd's journal), and it keeps running after this brick ends. Running
    the brick again with the same inputs changes nothing; with other inputs (a new
    release, config or env) the process is restarted with them.

    **command** may use placeholders, filled in (shell-quoted) before start:
    `{release}` the release folder, `{config}` the config path, `{data}` the data
    folder, `{port}` the port. Example:
    `python3 {release}/webapp.py --port {port} --config {config}/app.json --data {data}`.
    The command is not run through a shell; wrap it in `sh -c '...'` if you need one.

    **release_path** defaults to the service's current release
    (`<home>/services/<service>/current`); the process starts in that folder when it
    exists. It must exist when the command uses `{release}` or release_path is set.
    The link is resolved: after a release switch, running the brick again restarts
    the service on the new release.

    **Readiness**: set one of `ready_http` (a path such as `/health`, requested on
    127.0.0.1:port, must answer 200), `ready_tcp` (the port accepts connections) or
    `ready_command` (exit code 0). Without any, the process only has to stay up for
    `start_secs`. When the service is not ready within `ready_timeout_s` the node
    fails with the probe's last error and the end of the program's stderr, and the
    program is stopped and removed, so no half-started process is left behind.

    **Restarts**: a process that dies after it has started is restarted at once. A
    start that does not last `start_secs` is a failed start; after `max_restarts`
    failed starts in a row supervisord gives up (it waits 1 s, 2 s, 3 s ... between them).

    **Launcher**: `supervisord` (one per host home) or `systemd` (a unit
    `nbx-<host>-<program>.service`, driven with systemctl); empty: systemd where PID 1 is
    systemd, else supervisord. systemd adds `restart` (always, on-failure, no), `memory_max`
    and `cpu_quota` (enforced by the kernel) and a liveness check: `live_command` runs every
    `live_interval_s` from a timer and a failure restarts the program. The environment is
    in a root-only file beside the unit, never in the unit (any user can read a unit's).
    `launcher: podman` (or `docker`) is `runtime: podman` (or docker) under the default.

    Fails at once when `port` is already taken by another process.

    **Address**: the `address` output is `advertise_host:port`; `advertise_host`
    defaults to the host's own address (the agent's `NEBHX_AGENT_ADDRESS`, else its
    first global IPv4), so a balancer or a check on *another* host can use it. The
    service must then listen on that address too: pass e.g. `--host 0.0.0.0` (or the
    program's equivalent) in the command. Set `advertise_host` to `127.0.0.1` for a
    service only this host talks to.

    **Containers**: with `runtime` podman or docker the program is the engine's foreground
    `run --rm --network host` of the image the service's release names (stage
    `oci:NAME@sha256:…`), so probes, restarts, logs and ports work as for a process;
    `command` is then the arguments after the image, `env` goes into the container,
    `data_path` is mounted at `data_mount` (`{data}` names that mount). An image missing
    from the host's store is pulled again with `registry_username` and `registry_password`
    (a secret; as release.stage does, never on a command line).

    **User and environment**: the process runs as the service's own system user
    (`nbx-<service>`, made on first use), or as `user` when the graph names one; `root`
    only when `user` says so (plan shows it). It gets exactly `env` plus PATH, LANG, HOME
    (the data folder), USER and LOGNAME: nothing of the agent's environment. As another user
    it sees of the host's home and the agent's folders only its release and config
    (read-only) and its data folder (read-write, given to that user), and in /proc only its
    own processes. A container runs as the engine's user (root); an agent that is not root
    runs everything as itself.

    **Liveness**: `liveness` names a probe (`http` path, `tcp`, or `command`) the host's agent
    runs every `interval_s` for as long as the service runs (readiness only gates the start).
    After `failures` failed probes in a row the process is restarted (a hung process stays
    "running" for supervisord), then left `backoff_s` to start (doubled on each restart in a
    row); after `restarts` restarts in a row it is marked unhealthy and `email` (through
    `smtp`, no login; by default the agent's NEBHX_MAIL_SINK) and `webhook` are told, once; a passing probe makes it alive again.
    The services view shows the status, since when, the restarts and the last probe.

    **Locks**: two runs never switch or restart the same service instance on one host at once:
    the node takes the service's lock for its run (kept until the run ends). While another
    run holds it, `on_lock` `wait` waits (the node says "waiting for lock held by run X"),
    `refuse` fails at once naming that run.

    **State**: after a successful start the brick records the instance in
    `<host home>/services/<service>/instances/<instance or default>.json` (program,
    release, config version, address, probe): the agent's services view reads it to
    say whether each service is alive right now. `service.stop` with `remove` forgets it.
    """

    id = "service.run"
    on_repeat = ''
    service_lock = ("host", "service", "instance")
    title = "Run service"
    category = "service"

    requires = (Requires(("port",), {"ready_http": re.compile(".")}, "readiness over HTTP asks the port"),
                Requires(("port",), {"ready_tcp": (True,)}, "readiness over TCP connects to the port"),
                *(Requires((port,), {"command": re.compile(rf"\{{{key}\}}")}, f"the command uses {{{key}}}")
                  for key, port in (("port", "port"), ("data", "data_path"), ("config", "config_path"))))

    class Inputs(Ports):
        host: HostRef = Field(description="Host that runs the service")
        service: str = Field(description="Service name, e.g. 'shop-api'", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
        instance: str = Field(default="", pattern=r"^[A-Za-z0-9_.-]*$",
                              description="Instance name when one host runs several copies (e.g. 'a', '8001')")
        command: str = Field(description="Command line; may use {release}, {config}, {data}, {port}")
        release_path: str | None = Field(default=None, description="Release folder; default: the service's current release")
        config_path: str | None = Field(default=None, description="Rendered config file or folder, for {config}")
        data_path: str | None = Field(default=None, description="Data folder, for {data}")
        port: int | None = Field(default=None, ge=1, le=65535, description="Port the service listens on")
        env: dict[str, str] = Field(default_factory=dict, description="Extra environment variables")
        ready_http: str | None = Field(default=None, description="HTTP path that must answer 200, e.g. /health")
        ready_tcp: bool = Field(default=False, description="Ready when the port accepts connections")
        ready_command: str | None = Field(default=None, description="Shell command that exits 0 when ready")
        ready_timeout_s: float = Field(default=30, gt=0, description="How long to wait for readiness")
        max_restarts: int = Field(default=3, ge=0, description="Failed starts in a row before giving up")
        start_secs: int = Field(default=1, ge=0, description="Seconds a start must last to count as started")
        advertise_host: str = Field(default="", description="Host part of the address output; "
                                    "empty: the host's own address (reachable from other hosts)")
        runtime: Literal["process", "podman", "docker"] = Field(
            default="process", description="process, or a container of the release's image")
        data_mount: str = Field(default="/data", pattern=r"^/", description="Container: where data_path is mounted")
        registry_username: str | None = Field(default=None, description="Container: registry user, to pull "
                                              "the release's image when this host's store lacks it")
        registry_password: Secret | None = Field(default=None, description="Container: that user's password")
        registry_ca: str | None = Field(default=None, description="Container: PEM CA file for the registry's TLS")
        liveness: dict[str, Any] | None = Field(
            default=None, description="Liveness probe run by the host's agent while the service runs, e.g. "
            '{"http": "/health", "interval_s": 10, "failures": 3, "restarts": 3, "backoff_s": 5, '
            '"email": ["ops@example.org"], "webhook": "https://..."} '
            "(or tcp: true, or command: '...'; timeout_s, sender, smtp host:port: default NEBHX_MAIL_SINK)")
        user: str = Field(default="", pattern=r"^[a-z_][a-z0-9_.-]*$|^$",
                          description="User the process runs as: empty for the service's own "
                                      "(nbx-<service>), an existing user, or root")
        launcher: Literal["", "supervisord", "systemd", "podman", "docker"] = Field(
            default="", description="What keeps the process running; empty: systemd where PID 1 "
                                    "is systemd, else supervisord; podman or docker: runtime podman "
                                    "or docker under that default")
        restart: Literal["always", "on-failure", "no"] = Field(
            default="always", description="When a process that ended is started again "
                                          "(on-failure: systemd only)")
        memory_max: str | None = Field(default=None, pattern=r"^[1-9][0-9]{0,12}[KMGT]?$",
                                       description="systemd: memory limit, e.g. 512M")
        cpu_quota: int | None = Field(default=None, ge=1, le=102400,
                                      description="systemd: CPU limit in percent of one CPU, e.g. 50")
        live_command: str | None = Field(default=None, description="systemd: a command run every "
                                         "live_interval_s; when it fails the program is restarted")
        live_interval_s: int = Field(default=10, ge=1, le=86400, description="systemd: liveness period")
        on_lock: str = on_lock_field()

        @field_validator("liveness")
        @classmethod
        def _liveness(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
            """A free JSON object in the editor (a code field), checked here key by key."""
            if value is None:
                return None
            try:
                return Liveness.model_validate(value).model_dump(exclude_defaults=True)
            except ValidationError as exc:
                raise ValueError("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())) from None

    class Outputs(Ports):
        address: Address
        pid: int
        program: str
        changed: bool

    def run(self, ctx: Context, inputs: Inputs) -> Outputs:
        name = program_name(inputs.service, inputs.instance)
        # Checked before anything starts: the record is written once the service is ready.
        ctx.runtime.confine(instance_file(ctx.runtime.home, inputs.service, inputs.instance),
                            param="service")
        live = inputs.liveness or {}
        if (live.get("http") or live.get("tcp")) and not inputs.port:
            raise BrickFailed("liveness: an http or tcp probe needs the service's port (set port)")
        inputs = container_launcher(inputs)
        kind, before = launcher_of(ctx, inputs)
        inputs = inputs.model_copy(update={"launcher": kind})  # the record names it
        options = launch_options(inputs, kind)
        sv = ctx.runtime.launcher(kind)
        release = self.release_folder(ctx, inputs)
        command, env = self.program(ctx, inputs, release)
        identity = self.identity(ctx, inputs, release)
        if before and before != kind and ctx.runtime.launcher(before).remove(name):
            ctx.log("%s moved from %s to %s: stopped and removed under %s", name, before, kind, before)
        current = sv.status(name)
        if inputs.port and not (current and current.up) and port_in_use(inputs.port):
            raise BrickFailed(f"port {inputs.port} is already in use on host {ctx.runtime.name} "
                              "by another process")
        cwd = str(release) if release.is_dir() else None
        changed = sv.ensure_program(name, command, cwd=cwd, env=env, **identity, **options)
        ctx.log("program %s %s under %s (user %s)", name, "installed/updated" if changed else "unchanged",
                kind, identity.get("user") or "of the container engine")
        if not changed and not (current and current.up):
            sv.start(name)
        try:
            result = self.wait_ready(ctx, sv, name, inputs)
        except Cancelled:
            sv.remove(name)  # a cancelled start must not leave a half-started process
            raise
        status = sv.status(name)
        if not result.ok or status is None or not status.up:
            self.give_up(ctx, sv, name, result)
        ctx.log("%s ready: %s (pid %s)", name, result.summary(), status.pid)
        host = inputs.advertise_host or ctx.runtime.address
        address = f"{host}:{inputs.port}" if inputs.port else host
        record_instance(ctx.runtime.home, inputs, name, release if release.is_dir() else None,
                        address, status.pid)
        return self.Outputs(address=address, pid=status.pid, program=name, changed=changed)

    def plan(self, ctx: Context, inputs: Inputs) -> dict[str, Any]:
        """Whether the program is (re)defined and so restarted, asked of its launcher."""
        if not is_known(inputs):
            return {"effect": f"runs {inputs.service} once its inputs are known", "changes": None}
        name = program_name(inputs.service, inputs.instance)
        inputs = container_launcher(inputs)
        kind, before = launcher_of(ctx, inputs)
        sv = ctx.runtime.launcher(kind)
        where = {"launcher": kind, "unit": sv.unit(name) if isinstance(sv, Systemd) else f"program:{name}"}
        if isinstance(sv, Systemd):
            sv.require_systemd()  # the run would fail there: the plan says so now
        options = launch_options(inputs, kind)
        if inputs.runtime != "process":
            return {"effect": f"runs {inputs.service} in a {inputs.runtime} container under {kind} as the "
                              "engine's user, root (whether it restarts is known at run time)",
                    "changes": None, "user": "root", **where}
        if not is_known(ctx.planned and ctx.planned.get("current", inputs.service)):
            return {"effect": f"runs {name} on the release this run switches to, known at run time",
                    "changes": None, "outputs": {"program": name}}
        release = _planned_release(ctx, inputs)
        command = self.fill(inputs, release)
        current = sv.status(name)
        up = bool(current and current.up) and before in (None, kind)
        if inputs.port and not up and port_in_use(inputs.port):
            raise BrickFailed(f"port {inputs.port} is already in use on host {ctx.runtime.name} by another process")
        cwd = str(release) if release.is_dir() or release.parent.name == "releases" else None
        identity = self.identity(ctx, inputs, release, create=False)
        differs = sv.differs(name, command, cwd=cwd, env=inputs.env, **identity, **options) \
            or before not in (None, kind)
        host = inputs.advertise_host or ctx.runtime.address
        who = "root (the graph asks for it)" if identity["user"] == "root" else f"user {identity['user']}"
        moved = f" (moved from {before})" if before not in (None, kind) else ""
        effect = (f"(re)define and start {name} under {kind} as {who}{moved}: {command}" if differs else
                  f"nothing: {name} runs as defined" if up else f"start {name} as {who} (defined, not running)")
        return {"effect": effect, "changes": differs or not up, "restart": differs and up, "user": identity["user"],
                **where,
                "outputs": {"program": name, "changed": differs,
                            "address": f"{host}:{inputs.port}" if inputs.port else host}}

    def program(self, ctx: Context, inputs: Inputs, release: Path) -> tuple[str, dict[str, str]]:
        """The command line and environment supervisord runs: the command itself, or the
        engine's foreground ``run`` of the release's image (same probes, restarts, logs)."""
        if inputs.runtime == "process":
            return self.fill(inputs, release), inputs.env
        from nebhx.runtime.images import container_program
        command, env, image = container_program(ctx.runtime, inputs, release, self.fill, ctx)
        ctx.log("runs %s with %s", image, inputs.runtime)
        return command, env

    @staticmethod
    def identity(ctx: Context, inputs: Inputs, release: Path, create: bool = True) -> dict:
        """Who the process runs as and what it may read and write (supervisord's options);
        ``create=False`` (a plan) names the service's own user without making it."""
        if inputs.runtime != "process":
            return {}  # the engine's client runs as root; the container is its own isolation
        read = [str(release)] if release.is_dir() else []
        if inputs.config_path:
            read.append(str(ctx.runtime.confine(inputs.config_path, param="config_path")))
        write = [str(ctx.runtime.confine(inputs.data_path, param="data_path"))] if inputs.data_path else []
        return {"user": program_user(inputs.service, inputs.user, create=create), "read": read, "write": write}

    @staticmethod
    def release_folder(ctx: Context, inputs: Inputs) -> Path:
        release = Path(inputs.release_path or ctx.runtime.home / "services" / inputs.service / "current")
        needs_release = inputs.release_path or "{release}" in inputs.command
        if needs_release and not release.is_dir():
            raise BrickFailed(f"release folder {release} does not exist: stage a release first")
        # The concrete release folder, not the `current` link: a switched link then changes
        # the program definition (so it restarts), and a running process never sees its
        # files change under it. The process works (and may write) there: a managed folder.
        return ctx.runtime.confine(release, param="release_path") if release.is_dir() else release

    @staticmethod
    def fill(inputs: Inputs, release: Path) -> str:
        values = {"release": str(release), "config": inputs.config_path, "data": inputs.data_path,
                  "port": str(inputs.port) if inputs.port else None}
        command = inputs.command
        for key in PLACEHOLDERS:
            if "{" + key + "}" in command:
                if not values[key]:
                    raise BrickFailed(f"command uses {{{key}}} but input '{key}"
                                      f"{'' if key == 'port' else '_path'}' is not set")
                command = command.replace("{" + key + "}", shlex.quote(values[key]))
        return command

    @staticmethod
    def wait_ready(ctx: Context, sv: ProcessManager, name: str, inputs: Inputs) -> ProbeResult:
        if (inputs.ready_http or inputs.ready_tcp) and not inputs.port:
            raise BrickFailed(f"{'ready_http' if inputs.ready_http else 'ready_tcp'} needs a port")
        spec = probe_of(inputs, name)
        # The same probe the services view runs later; "process" asks supervisord.
        timeout = 10 if spec["kind"] == "command" else 2
        probe = lambda: run_probe(  # noqa: E731
            spec, _state(sv, name) if spec["kind"] == "process" else "", timeout)

        def abort() -> str | None:
            st = sv.status(name)
            if st is None or st.state in ("FATAL", "STOPPED"):  # EXITED may be a restart
                return f"program {name} is {st.state if st else 'gone'}"
            return None

        return wait_until(probe, inputs.ready_timeout_s, 0.3, ctx, abort=abort)

    @staticmethod
    def give_up(ctx: Context, sv: ProcessManager, name: str, result: ProbeResult) -> None:
        stderr = ctx.mask(sv.tail(name, "stderr", 800)).strip()  # masked before it is cut
        sv.remove(name)  # stops it too: a service that never got ready must not linger
        ctx.log("%s not ready; program stopped and removed", name)
        detail = f"; stderr: {stderr[-600:]}" if stderr else ""
        raise BrickFailed(ctx.mask(f"{name} did not become ready after {result.attempts} "
                                   f"attempt(s): {result.error}{detail}"))


def _state(sv: ProcessManager, name: str) -> str:
    st = sv.status(name)
    return st.state if st is not None else "unknown"


class StopService(Brick):
    """Stop a service started by **Run service** (and optionally forget it).

    The process gets TERM, then KILL after its stop timeout. With `remove` the program
    is also removed from its launcher (supervisord's program, or systemd's unit and
    environment file), so it does not come back when the host's launcher restarts. Stopping a service that is not running succeeds.
    """

    id = "service.stop"
    on_repeat = ''
    service_lock = ("host", "service", "instance")
    title = "Stop service"
    category = "service"

    class Inputs(Ports):
        host: HostRef = Field(description="Host that runs the service")
        service: str = Field(description="Service name")
        instance: str = Field(default="", description="Instance name, if any")
        remove: bool = Field(default=False, description="Also remove the program definition")
        on_lock: str = on_lock_field()
        launcher: Literal["", "supervisord", "systemd"] = Field(
            default="", description="Empty: the one the service was started under")

    class Outputs(Ports):
        program: str
        was_running: bool

    def run(self, ctx: Context, inputs: Inputs) -> Outputs:
        name = program_name(inputs.service, inputs.instance)
        record = ctx.runtime.confine(instance_file(ctx.runtime.home, inputs.service, inputs.instance),
                                     param="service")
        sv = ctx.runtime.launcher(launcher_of(ctx, inputs)[0])
        status = sv.status(name)
        was_running = bool(status and status.up)
        if status is not None:
            sv.stop(name)
        if inputs.remove:
            sv.remove(name)
            record.unlink(missing_ok=True)
        ctx.log("%s stopped%s (was %s)", name, " and removed" if inputs.remove else "",
                status.state if status else "unknown")
        return self.Outputs(program=name, was_running=was_running)


class Endpoints(Brick):
    """Gather the addresses of several service instances into one list.

    A graph wires one output into one input, so the addresses of instances that run on
    different hosts (each from its own **Run service**) are joined here, e.g. into a
    load balancer's `backends`. Wire up to four addresses into `a`..`d`, and any further
    list into `more`. The result keeps that order and drops empty and repeated entries.
    """

    id = "service.endpoints"
    on_repeat = ''
    title = "Service endpoints"
    category = "service"
    icon = "diagram-3"

    class Inputs(Ports):
        a: Address | None = Field(default=None, description="An instance's address, host:port")
        b: Address | None = Field(default=None, description="Another instance's address")
        c: Address | None = Field(default=None, description="Another instance's address")
        d: Address | None = Field(default=None, description="Another instance's address")
        more: list[Address] = Field(default_factory=list, description="Further addresses")

    class Outputs(Ports):
        addresses: list[Address] = Field(description="The addresses, in order, without repeats")

    def run(self, ctx: Context, inputs: Inputs) -> Outputs:
        seen: list[str] = []
        for address in (inputs.a, inputs.b, inputs.c, inputs.d, *inputs.more):
            if address and address not in seen:
                seen.append(address)
        if not seen:
            raise BrickFailed("no address given: wire at least one instance's address")
        ctx.log("%d endpoint(s): %s", len(seen), ", ".join(seen))
        return self.Outputs(addresses=seen)


def _planned_release(ctx: Context, inputs: Any) -> Path:
    """The release folder the run will find: the `current` link as this run's switch leaves it."""
    link = ctx.runtime.home / "services" / inputs.service / "current"
    given = Path(inputs.release_path) if inputs.release_path else link
    after = ctx.planned and ctx.planned.get("current", inputs.service)
    if after and given == link:
        return ctx.runtime.confine(link.parent / "releases" / after, param="release_path")
    needs = inputs.release_path or "{release}" in inputs.command
    if needs and not given.is_dir():
        raise BrickFailed(f"release folder {given} does not exist and no node of this run before it "
                          "stages and switches one")
    return ctx.runtime.confine(given, param="release_path") if given.is_dir() else given

