"""Rollout bricks that move a running instance: switch (with its own rollback) and rollback."""
from __future__ import annotations

import time
from typing import Any, Literal

from pydantic import Field

from nebhx import Address, Brick, BrickFailed, Context, HostRef, Ports
from nebhx.bricks.base import Unknown, is_known, on_lock_field
from nebhx.bricks.planning import Planned, Requires, cannot_tell
from nebhx.runtime import rolling, undo
from nebhx.runtime.balancer import AgentState, Balancer, LocalBalancer, RemoteBalancer
from nebhx.runtime.accounts import default_user
from nebhx.runtime.rollout import CheckSpec
from nebhx_blocks.rollout.plans import plan_detail, plan_rollback


SPEC = ("command", "port", "env", "user", "ready_http", "ready_tcp", "ready_command", "ready_timeout_s",
        "max_restarts", "start_secs", "launcher")
# Kept from the running instance as it was started (service.run's systemd settings).
KEPT = ("restart", "memory_max", "cpu_quota", "live_command", "live_interval_s")


class InstanceBrick(Brick):
    """Shared ports: which instance, and its backend in a balancer (on this host or another)."""

    abstract = True
    on_repeat = ''
    service_lock = ("host", "service", "instance")  # one run at a time switches an instance

    class Inputs(Ports):
        host: HostRef = Field(description="The host whose instance is switched")
        on_lock: str = on_lock_field()
        service: str = Field(description="Service name", pattern=r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
        instance: str = Field(default="", pattern=r"^[A-Za-z0-9_.-]*$",
                              description="Instance name, as given to service.run")
        lb_name: str | None = Field(default=None, description="HAProxy balancer on this host "
                                    "whose backend is drained, as named in lb.haproxy; none: no drain")
        lb_stats: Address | None = Field(default=None, description="A balancer on any host (e.g. one "
                                         "central HAProxy): its stats address (lb.haproxy's `stats`); "
                                         "the backend is drained through this host's agent check")
        lb_agent_port: int | None = Field(default=None, ge=1, le=65535, description="With lb_stats: "
                                          "the agent_port the balancer's lb.haproxy checks")
        backend: Address | None = Field(default=None, description="This instance in the balancer; "
                                        "default: the host's address and the port")
        drain_timeout_s: float = Field(default=30, ge=0,
                                       description="Longest wait for the backend's open sessions")
        keep_one_serving: bool = Field(default=True, description="Never drain the last backend "
                                       "that serves: fail before changing anything instead")

    def balancer(self, ctx: Context, inputs: Any, port: int | None) -> Balancer:
        if ctx.runtime.name != inputs.host:
            raise BrickFailed(f"this brick is for host {inputs.host!r} but runs on {ctx.runtime.name!r}")
        backend = inputs.backend or f"{ctx.runtime.address}:{port}"
        common = dict(backend=backend, drain_timeout_s=inputs.drain_timeout_s,
                      keep_one=inputs.keep_one_serving)
        if inputs.lb_name and inputs.lb_stats:
            raise BrickFailed("lb_name and lb_stats name two balancers: give one")
        if inputs.lb_stats:
            if not inputs.lb_agent_port:
                raise BrickFailed("lb_stats needs lb_agent_port (the balancer's agent_port)")
            bal = RemoteBalancer(**common, stats=inputs.lb_stats,
                                 agent=AgentState(ctx.runtime, inputs.lb_agent_port))
            bal._mine()  # fails naming the servers when it is not one of them
            return bal
        if not inputs.lb_name:
            return Balancer()
        lb = ctx.runtime.haproxy(inputs.lb_name)
        if not lb.running():
            raise BrickFailed(f"load balancer {inputs.lb_name} is not running on host {inputs.host}")
        lb.server(backend)  # fails naming the servers when it is not one of them
        return LocalBalancer(**common, lb=lb)


class Switch(InstanceBrick):
    """Switch one host's instance to a prepared release and config, then check it.

    In order: **drain** the instance's backend in the balancer (`lb_name`: HAProxy on this
    host, through its runtime API; `lb_stats` + `lb_agent_port`: HAProxy on any host,
    through this host's agent check; waits until its open sessions are 0, at most
    `drain_timeout_s`, and never drains the last serving backend), **snapshot** the data
    `volume` when `data_policy` is `snapshot`, **switch** the service's `current` link (one
    atomic rename), **restart** the program under its launcher (supervisord or systemd) on the new release
    and config, wait until it is **ready**, run the **checks** (http, tcp or command;
    `{port}` in a target is the instance's port), and **enable** the backend again (waiting
    until HAProxy sees it up). `steps` gives each step's seconds.

    **Nothing changes before every input is checked** (release staged, config rendered,
    placeholders known, the snapshot's volume, a new program's name and port). A switch
    that fails before it moved `current` puts everything back (backend enabled, journal as
    it was) and says `nothing was changed`: a rollback of this run leaves that host alone.

    When readiness or a check fails, this host rolls back by itself: the previous program
    exactly as it was (its section, environment and record, byte for byte), readiness,
    enable. Then the node fails naming the host and the check, with `rolled_back: true`.
    The data is left as it is: use **Roll back** with `restore_snapshot` to take the
    snapshot back too.

    **The running spec by reference**: `command`, `port`, `env`, readiness and restarts
    default to what the running instance was started with (as **Run service** or the last
    switch recorded it; the data folder too when `volume` is not given); an input set on
    this node overrides its part only. `command` takes the placeholders of **Run service**
    (`{release}`, `{config}`, `{data}`, `{port}`).

    **Instant rollback** (`standby_s` with `standby_port` and a balancer): the instance gets
    two slots, `port` and `standby_port`, both servers of the balancer. The new release
    starts on the slot that does not serve, beside the running one and out of rotation
    (maint); once ready and checked it takes over, and the previous release's process is
    drained and kept as a standby on its own port: warm for `warm_s`, then frozen (no CPU),
    stopped after `standby_s` or at **Commit**. A rollback meanwhile is a thaw and a
    balancer change, whatever the app's start time (output `standby`). A failed readiness
    or check removes the new slot: the old one never left rotation.

    **Synchronous**: with `not_before` (from **Barrier**) `current` is switched at that
    moment; a host that would switch more than `late_s` later is refused, changing nothing.

    A config-only change (same release, new config version) whose rendered files are the
    same as the running ones restarts nothing: `pid_before` equals `pid`. Running it again
    when the instance already runs that release and config changes nothing (`changed`
    false); after a crash half-way it resumes, or finishes the rollback it had begun.
    """

    id = "rollout.switch"
    title = "Rollout: switch host"
    category = "rollout"
    icon = "arrow-repeat"
    requires = (Requires(("volume",), {"data_policy": ("snapshot",)}, "the switch snapshots the data "
                         "volume first; name the volume, or set data_policy to keep"),)

    class Inputs(InstanceBrick.Inputs):
        release_id: str | None = Field(default=None, description="A staged release; default: "
                                       "the one rollout.prepare left on this host last")
        config_version: str | None = Field(default=None, description="A rendered config version; "
                                           "default: rollout.prepare's when release_id is not "
                                           "given, else the config in effect")
        command: str | None = Field(default=None, description="Command line; may use {release}, "
                                    "{config}, {data}, {port}; default: the running instance's")
        port: int | None = Field(default=None, ge=1, le=65535, description="Port the service listens on")
        env: dict[str, str] = Field(default_factory=dict, description="Extra environment variables")
        user: str = Field(default="", pattern=r"^[a-z_][a-z0-9_.-]*$|^$", description="User the process "
                          "runs as (as Run service): empty for the service's own, an existing user, or root")
        launcher: Literal["", "supervisord", "systemd"] = Field(
            default="", description="Empty: the one the instance runs under (a switch keeps it); "
                                    "for a new instance, systemd where PID 1 is systemd, else supervisord")
        volume: str | None = Field(default=None, description="Data volume: a volume URL, or a dir "
                                   "volume's name; its path is {data}")
        data_policy: Literal["keep", "snapshot"] = Field(
            default="snapshot", description="snapshot: snapshot the volume before switching")
        ready_http: str | None = Field(default=None, description="HTTP path that must answer 200")
        ready_tcp: bool = Field(default=False, description="Ready when the port accepts connections")
        ready_command: str | None = Field(default=None, description="Shell command that exits 0 when ready")
        ready_timeout_s: float = Field(default=30, gt=0, description="How long to wait for readiness")
        max_restarts: int = Field(default=3, ge=0, description="Failed starts in a row before giving up")
        start_secs: int = Field(default=1, ge=0, description="Seconds a start must last")
        checks: list[CheckSpec] = Field(default_factory=list, description='After readiness, e.g. '
                                        '[{"kind": "http", "url": "http://127.0.0.1:{port}/", "contains": "2.0"}]')
        not_before: float | None = Field(default=None, description="Epoch seconds: switch `current` "
                                         "no earlier (from rollout.barrier, for a synchronous switch)")
        late_s: float = Field(default=0.5, ge=0, le=3600, description="With not_before: a host that "
                              "would switch later than this after it is refused, changing nothing")
        standby_s: float = Field(default=0, ge=0, le=30 * 86400, description="Keep the previous "
                                 "release's process this long after the switch, out of rotation on its own "
                                 "port: a rollback meanwhile is a thaw and a balancer change (needs a "
                                 "balancer and standby_port); 0: stop it at the switch")
        standby_port: int | None = Field(default=None, ge=1, le=65535, description="With standby_s: "
                                         "the second slot's port (a server of the balancer beside port); "
                                         "the new release starts on whichever slot does not serve")
        warm_s: float = Field(default=10, ge=0, description="With standby_s: how long the standby "
                              "stays warm (running) before it is frozen (no CPU)")

    class Outputs(Ports):
        previous_release: str | None = Field(default=None, description="What ran before (for rollback)")
        release_id: str = Field(description="What runs now")
        config_version: str | None = Field(default=None, description="The config in effect")
        switched_at: float = Field(description="When `current` was switched (epoch seconds)")
        steps: list[dict[str, Any]] = Field(description="[{step, seconds}] in order")
        pid_before: int | None = Field(default=None, description="The process before the switch")
        pid: int | None = Field(default=None, description="The process now")
        snapshot: str | None = Field(default=None, description="Snapshot taken of the data volume")
        restarted: bool = Field(description="False when the program kept running")
        changed: bool = Field(description="False when it already ran this release and config")
        summary: str = Field(default="", description="One line for a report: host, from, to, checks")
        standby: dict[str, Any] | None = Field(default=None, description="The previous release's "
                                               "process kept for an instant rollback: program, port, "
                                               "release, frozen_from, until, state (warm or frozen)")

    def request(self, ctx: Context, inputs: Inputs) -> rolling.SwitchRequest:
        release, config = inputs.release_id, inputs.config_version
        if not release:
            prepared = ctx.runtime.service_instance(inputs.service).prepared()
            if not prepared:
                raise BrickFailed(f"no release_id given and nothing prepared for {inputs.service} "
                                  f"on host {inputs.host}: run rollout.prepare first")
            release, config = prepared["release_id"], config or prepared["config_version"]
        return rolling.SwitchRequest(release, config, self.spec(ctx, inputs),
                                     inputs.checks, inputs.volume, inputs.data_policy == "snapshot",
                                     inputs.not_before, inputs.late_s, self.standby(inputs))

    @staticmethod
    def standby(inputs: Inputs) -> rolling.Standby | None:
        return rolling.Standby(inputs.standby_port, inputs.standby_s, inputs.warm_s) \
            if inputs.standby_s > 0 else None

    @staticmethod
    def spec(ctx: Context, inputs: Inputs) -> dict[str, Any]:
        """The program spec: what the running instance was started with (service.run's or the
        last switch's record), each input set on this node overriding its part."""
        inst = ctx.runtime.service_instance(inputs.service, inputs.instance)
        running = inst.running_spec()
        fields = type(inputs).model_fields  # an input left at its default (a form may write it) is not set
        given = {k for k in inputs.model_fields_set if getattr(inputs, k) != fields[k].get_default(call_default_factory=True)}
        spec = {k: getattr(inputs, k) if k in given or k not in running else running[k] for k in SPEC}
        spec.update({k: running[k] for k in KEPT if k in running})
        if running and inputs.launcher and inputs.launcher != inst.kind:
            raise BrickFailed(f"launcher: {inputs.service} runs under {inst.kind} on host {inputs.host}; a "
                              f"switch keeps its launcher (run it with service.run and launcher "
                              f"{inputs.launcher} to move it)")
        inst.chosen = inputs.launcher or None
        spec["launcher"] = inst.kind
        if inputs.standby_s > 0 and spec["launcher"] != "supervisord":
            raise BrickFailed("standby_s: an instant rollback keeps the previous process frozen under "
                              "supervisord; the systemd launcher does not offer it")
        if inputs.volume:
            spec["data_path"] = str(ctx.runtime.volumes.open(inputs.volume).path)
        else:
            spec["data_path"] = running.get("data_path")
        if not spec["command"]:
            raise BrickFailed(f"no command given, and none is recorded for {inputs.service} "
                              f"(instance {inputs.instance or 'default'!r}) on host {inputs.host}: "
                              "give command, or start it with service.run first")
        return spec

    def run(self, ctx: Context, inputs: Inputs) -> Outputs:
        req = self.request(ctx, inputs)
        inst = ctx.runtime.service_instance(inputs.service, inputs.instance)
        inst.chosen = req.spec["launcher"]
        bal = self.balancer(ctx, inputs, inst.port(req.spec))
        out = rolling.switch(inst, req, bal, ctx)
        ctx.log("%s on %s: release %s, config %s, pid %s -> %s", inst.program, inputs.host,
                out["release_id"], out["config_version"], out["pid_before"], out["pid"])
        checks = ", ".join(c.label(inst.port(req.spec)) for c in inputs.checks) or "none"
        summary = (f"{inputs.host}: {inst.name} {out['previous_release'] or '(none)'} -> {out['release_id']} "
                   f"(config {out['config_version']}), ready, checks passed ({checks}), "
                   f"{_pids(out['pid_before'], out['pid'])}" if out["changed"] else
                   f"{inputs.host}: {inst.name} already ran {out['release_id']}: unchanged")
        return self.Outputs(**out, summary=summary)

    def plan(self, ctx: Context, inputs: Any) -> dict[str, Any]:
        """The release and config the run switches to (what this run's prepare stages, when one is
        planned before it), the config files that change, the restart, balancer and snapshot."""
        inputs = self.Inputs.model_validate(inputs) if isinstance(inputs, dict) else inputs
        if not is_known(inputs.not_before):  # a barrier's moment: when, not what, is unknown
            inputs = inputs.model_copy(update={"not_before": None})
        if not is_known(inputs):
            return {"effect": f"switch {inputs.service} once its inputs are known", "changes": None}
        planned = ctx.planned or Planned()
        inst = ctx.runtime.service_instance(inputs.service, inputs.instance)
        req = self._planned_request(ctx, inputs, inst, planned)
        inst.chosen = req.spec["launcher"]
        if inst.kind == "systemd":
            inst.launcher.require_systemd()  # the run would fail there: the plan says so now
        if not is_known([req.release, req.config]):
            later = Unknown("(what this run's switch leaves, known at run time)")
            return {**cannot_tell(f"it switches {inst.program} to what this run's prepare stages, known at run time"),
                    "sets": {"instances": {inst.program: {"release": later, "config": later, "switched": True}},
                             "current": {inputs.service: later}}}
        bal = self.balancer(ctx, inputs, inst.port(req.spec))
        out = plan_detail(inst, req, bal, planned, rolling.plan_switch(inst, req, bal))
        user = req.spec.get("user") or default_user(inputs.service)
        out["effect"] += " (runs as root: the graph asks for it)" if user == "root" else f" (runs as user {user})"
        return {**out, "user": user, "launcher": inst.kind, "unit": inst.unit()}

    def _planned_request(self, ctx: Context, inputs: Inputs, inst: Any, planned: Planned) -> rolling.SwitchRequest:
        """``request`` as the run will see it: a prepare or volume planned before this switch counts."""
        release, config = inputs.release_id, inputs.config_version
        if not release:
            prepared = planned.get("prepared", inputs.service) or inst.prepared()
            if not prepared:
                raise BrickFailed(f"no release_id given and nothing prepared for {inputs.service} "
                                  f"on host {inputs.host}: run rollout.prepare first")
            release, config = prepared["release_id"], config or prepared["config_version"]
        made = planned.get("volumes", inputs.volume) if inputs.volume else None
        spec = self.spec(ctx, inputs.model_copy(update={"volume": None}) if made else inputs)
        if made:
            spec["data_path"] = made["path"]
        return rolling.SwitchRequest(release, config, spec, inputs.checks, inputs.volume,
                                     inputs.data_policy == "snapshot", inputs.not_before, inputs.late_s,
                                     self.standby(inputs))


class Rollback(InstanceBrick):
    """Put an instance back on the release (and config) it ran before the last switch.

    Usable by hand or from a graph's failure branch (trigger `any_failed`). What comes
    back: the binary (`rollback_binary`) and the config (`rollback_config`), separately.
    With `release_id`, an earlier staged release instead (two or more back, pinned or not):
    the config it last ran with, and with `restore_snapshot` the snapshot taken when a
    switch left it; refused, changing nothing, when it is no longer staged on the host. An
    instance only **Run service** started (no switch recorded) goes back from what runs now.
    The data, by `data_policy`:

    - `keep_new`: the old binary runs on the data as the new release left it (rows it
      wrote stay);
    - `restore_snapshot`: the snapshot **Switch** took before switching is restored
      atomically (one rename exchange, with the process stopped); the data it replaced
      stays as snapshot `pre-restore-<time>` (output `pre_restore`).

    Then restart, readiness and the backend enabled again. Inside a switch's `standby_s`
    (and before its commit) the previous release's process is still there, frozen: with
    `keep_new` the rollback thaws it and puts it back in rotation, no start (`instant`);
    `restore_snapshot` stops it too (it had the replaced data open) and starts it again on
    the restored data. Running it again changes
    nothing and never restores the snapshot twice. It reads what to go back to from the
    journal **Switch** keeps on the host (`<home>/services/<service>/rollout/`).

    With `only_this_run`, a host is rolled back only when the journal says this run
    switched it; any other host is left alone (`rolled_back` false). So a failure branch
    can take every host of the update (`for_each` over **Select hosts**) and roll back
    the canary and the hosts of the rest already switched, not those never reached.
    `rolled_back_host` names the host when it is back on its previous release (a report
    over the fan-out lists those).
    """

    id = "rollout.rollback"
    title = "Rollout: roll back host"
    category = "rollout"
    icon = "arrow-counterclockwise"

    class Inputs(InstanceBrick.Inputs):
        data_policy: Literal["keep_new", "restore_snapshot"] = Field(
            default="keep_new", description="keep_new: leave the data; restore_snapshot: restore "
                                            "the snapshot taken by the switch")
        rollback_binary: bool = Field(default=True, description="Go back to the previous release")
        rollback_config: bool = Field(default=True, description="Go back to the previous config")
        release_id: str | None = Field(default=None, max_length=128, description="Go back to this "
                                       "staged release instead (any earlier one still on the host, "
                                       "pinned ones too), with the config it last ran with; default: "
                                       "the release before the last switch")
        only_this_run: bool = Field(default=False, description="Roll back only if this run "
                                    "switched the host; leave a host it did not switch alone")
        switched_by: str | None = Field(default=None, max_length=64, description="Roll back only if "
                                        "the run with this id switched the host (nebhx rollback --run); "
                                        "leave the others alone")

    class Outputs(Ports):
        rolled_back: bool = Field(default=False, description="The host is back on the release "
                                  "from before the switch (rolled back now or by the switch itself)")
        rolled_back_host: HostRef | None = Field(default=None, description="This host when "
                                                 "rolled_back, else none")
        release_id: str | None = Field(default=None, description="What runs now")
        config_version: str | None = Field(default=None, description="The config in effect")
        restored_release: str | None = Field(default=None, description="The release put back")
        restored_config: str | None = Field(default=None, description="The config put back")
        restored_snapshot: str | None = Field(default=None, description="The snapshot restored")
        pre_restore: str | None = Field(default=None, description="Snapshot of the data it replaced")
        data_policy: str
        pid_before: int | None = None
        pid: int | None = None
        steps: list[dict[str, Any]] = Field(description="[{step, seconds}] in order")
        changed: bool
        removed: bool = Field(default=False, description="The switch had created the program: "
                              "it is removed (nothing ran there before)")
        instant: bool = Field(default=False, description="The previous release's standby took over "
                              "(thawed, back in rotation): no start")
        serving_s: float | None = Field(default=None, description="Seconds from the rollback's start "
                                        "until the old release was back in rotation")
        summary: str = Field(default="", description="One line for a report: host, what came "
                             "back, and why the switch had failed when it rolled itself back")

    def _parts(self, ctx: Context, inputs: Inputs):
        inst = ctx.runtime.service_instance(inputs.service, inputs.instance)
        bal = self.balancer(ctx, inputs, inst.port(inst.load().get("spec") or inst.running_spec()))
        if inputs.release_id and not inputs.rollback_binary:
            raise BrickFailed(f"release_id {inputs.release_id!r} names a release to go back to: "
                              "rollback_binary must be true")
        req = rolling.RollbackRequest(inputs.data_policy, inputs.rollback_binary, inputs.rollback_config,
                                      inputs.release_id or None)
        return inst, req, bal  # rolling.plan_rollback's order

    def run(self, ctx: Context, inputs: Inputs) -> Outputs:
        t0 = time.monotonic()
        inst = ctx.runtime.service_instance(inputs.service, inputs.instance)
        state = inst.load()
        by = inputs.switched_by or (ctx.run_id if inputs.only_this_run else None)
        if by and not undo.changed_by(state, by):
            if state.get("run") == ctx.run_id and state.get("phase") == "switching":
                undo.forget_unchanged(inst, state, self._parts(ctx, inputs)[2], ctx)
            return self._left_alone(ctx, inputs, inst, by)  # a host left alone needs no balancer
        inst, req, bal = self._parts(ctx, inputs)
        out = rolling.rollback(inst, req, bal, ctx)
        at = out.pop("serving_at")
        out["serving_s"] = round(at - t0, 3) if at else None
        ctx.log("%s on %s: release %s, config %s, data %s (rolled_back: true)", inst.program,
                inputs.host, out["release_id"], out["config_version"],
                out["restored_snapshot"] or "kept")
        return self.Outputs(**out, rolled_back=True, rolled_back_host=inputs.host,
                            summary=_rollback_summary(inputs, inst, out))

    def _left_alone(self, ctx: Context, inputs: Inputs, inst: Any, by: str) -> Outputs:
        """Not switched by that run (not reached yet, or already on the release): untouched."""
        now, pid = inst.running_now(), inst.pid()
        which = "this run" if by == ctx.run_id else f"run {by}"
        ctx.log("%s on %s was not switched by %s: left alone on release %s", inst.program,
                inputs.host, which, now.get("release"))
        return self.Outputs(release_id=now.get("release"), config_version=now.get("config"),
                            data_policy=inputs.data_policy, pid_before=pid, pid=pid, steps=[],
                            changed=False, summary=f"{inputs.host}: {inst.name} was not switched "
                            f"by {which}: left alone on release {now.get('release') or '(none)'}")

    def plan(self, ctx: Context, inputs: Any) -> dict[str, Any]:
        """What comes back on this host, and whether this run's own switch is what it undoes."""
        inputs = self.Inputs.model_validate(inputs) if isinstance(inputs, dict) else inputs
        if not is_known(inputs):
            return {"effect": f"roll back {inputs.service} once its inputs are known", "changes": None}
        if inputs.switched_by:  # the journal tells; what it says may change before the run
            return {"effect": f"roll back {inputs.service} on {inputs.host} if run "
                              f"{inputs.switched_by} switched it; else leave it alone", "changes": None}
        inst = ctx.runtime.service_instance(inputs.service, inputs.instance)
        return plan_rollback(inputs, inst, ctx.planned, lambda: self._parts(ctx, inputs))


def _pids(before: int | None, now: int | None) -> str:
    """The process change in words: a report never shows 'pid None'."""
    if before and now and before != now:
        return f"pid {before} -> {now}"
    if before and before == now:
        return f"kept pid {now}"
    if now:
        return f"started pid {now} (none ran before)"
    return "no process running"


def _rollback_summary(inputs: Any, inst: Any, out: dict[str, Any]) -> str:
    state = inst.load()
    new = (state.get("to") or {}).get("release")
    data = f"data: {inputs.data_policy}" + (f", snapshot {out['restored_snapshot']} restored"
                                             if out["restored_snapshot"] else "")
    if out.get("removed"):
        return (f"{inputs.host}: {inst.name} removed: it did not run before the switch to "
                f"{new} ({data})")
    if out["changed"]:
        return (f"{inputs.host}: {inst.name} rolled back from {new} to {out['release_id']} "
                f"({data})")
    if state.get("error"):  # the switch failed a step and went back by itself
        return (f"{inputs.host}: {inst.name} had rolled itself back from {new} to "
                f"{out['release_id']} after a failed {state['error']} ({data})")
    return f"{inputs.host}: {inst.name} was already back on {out['release_id']} from {new} ({data})"
