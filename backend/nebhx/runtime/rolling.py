"""The staged update of one instance: switch (drain, snapshot, switch, restart, ready,
checks, enable) and rollback (the previous release and config back, the data as asked).

Each step is safe to repeat, and the journal (``nebhx.runtime.rollout``) is written
before each change, so running ``switch`` again after a crash resumes it (or finishes
the rollback it had started) and running either again when it is done changes nothing.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nebhx.bricks.base import BrickFailed
from nebhx.runtime.rollout import CheckSpec, Instance, Steps, StepFailed

if TYPE_CHECKING:
    from nebhx.bricks.base import Context
    from nebhx.runtime.haproxy import HAProxy

IN_FLIGHT = ("switching", "rolling_back")


@dataclass
class Balancer:
    """The instance's backend in a balancer on this host (or none)."""
    lb: HAProxy | None = None
    backend: str | None = None
    drain_timeout_s: float = 30

    def drain(self, steps: Steps, ctx: Context) -> None:
        if self.lb is None:
            return
        with steps("drain"):
            left = self.lb.drain(self.backend, self.drain_timeout_s)
            if left:
                ctx.log("%s still has %d session(s) after %ss; going on", self.backend, left,
                        self.drain_timeout_s)

    def enable(self, steps: Steps) -> None:
        if self.lb is not None:
            with steps("enable"):
                self.lb.enable(self.backend)


@dataclass
class SwitchRequest:
    release: str
    config: str | None
    spec: dict[str, Any]
    checks: list[CheckSpec] = field(default_factory=list)
    volume: str | None = None
    snapshot: bool = False
    not_before: float | None = None  # epoch seconds: `current` is switched no earlier


def files_for(inst: Instance, on: dict, release: str, config: str | None) -> str | None:
    """The config folder the program should read: the running one when only the version
    changed and the files did not (so the process keeps running), else ``config``."""
    if release == on.get("release") and inst.same_config_files(on.get("files") or on.get("config"), config):
        return on.get("files") or on.get("config")
    return config


def plan_switch(inst: Instance, req: SwitchRequest, bal: Balancer) -> dict[str, Any]:
    """What ``switch`` would do, touching nothing."""
    state, now = inst.load(), inst.running_now()
    out = {"host": inst.rt.name, "program": inst.program, "from": now,
           "to": {"release": req.release, "config": req.config or now.get("config")},
           "resumes": state.get("phase") in IN_FLIGHT}
    try:
        files = files_for(inst, state.get("on") or now, req.release, out["to"]["config"])
        restart = inst.needs_restart(req.spec, req.release, files)
    except BrickFailed as exc:
        return {**out, "actions": ["prepare first"], "changes": True, "blocked": str(exc)}
    actions = (["drain"] if restart and bal.lb else []) + \
        (["snapshot"] if req.snapshot and not (out["resumes"] and state.get("snapshot")) else []) + \
        ["switch"] + (["restart"] if restart else []) + ["ready", "checks"] + \
        (["enable"] if bal.lb else [])
    return {**out, "restart": restart, "actions": actions, "changes": bool(actions)}


def switch(inst: Instance, req: SwitchRequest, bal: Balancer, ctx: Context) -> dict[str, Any]:
    state = inst.load()
    if state.get("phase") == "rolling_back":
        finish_rollback(inst, state, bal, ctx)
    now, resuming = inst.running_now(), state.get("phase") == "switching"
    frm = state["from"] if resuming else now
    config = req.config or frm.get("config")
    files = files_for(inst, state.get("on") or now, req.release, config)
    pid_before = inst.pid()
    restart = inst.needs_restart(req.spec, req.release, files)
    if not restart and not resuming and now.get("release") == req.release and now.get("config") == config:
        ctx.log("%s already runs release %s, config %s: nothing to do", inst.program, req.release, config)
        return {**_outputs(inst, state, pid_before), "steps": [], "changed": False}
    state = {"service": inst.service, "instance": inst.instance, "program": inst.program,
             "phase": "switching", "from": frm, "to": {"release": req.release, "config": config},
             "on": state.get("on") or {**now, "files": now.get("config")}, "spec": req.spec,
             "snapshot": state.get("snapshot") if resuming else None, "restored": None,
             "error": None, "started_at": state.get("started_at") if resuming else time.time(),
             # Which run switched it: a failure branch rolls back only what its own run switched.
             "run": ctx.run_id}
    inst.save(state)
    steps = Steps(ctx)
    try:
        _forward(inst, req, bal, state, steps, files, restart, ctx)
    except StepFailed as exc:
        _auto_rollback(inst, state, exc, bal, steps, ctx)
    state.update(phase="switched", steps=steps.rows)
    inst.save(state)
    inst.record(req.spec, req.release, config)
    return {**_outputs(inst, state, pid_before), "steps": steps.rows, "changed": True,
            "restarted": restart}


def _forward(inst: Instance, req: SwitchRequest, bal: Balancer, state: dict, steps: Steps,
             files: str | None, restart: bool, ctx: Context) -> None:
    if restart:
        bal.drain(steps, ctx)
    if req.snapshot and not state.get("snapshot"):
        if not req.volume:
            raise BrickFailed("data_policy 'snapshot' needs the data volume (input volume)")
        with steps("snapshot"):
            snap = inst.rt.volumes.snapshot(req.volume, kind="pre-rollout", release=state["from"].get("release"))
            state["snapshot"] = {"volume": req.volume, "id": snap.id}
            inst.save(state)
    if req.not_before and not state.get("switched_at"):
        with steps("wait"):
            wait_until_epoch(req.not_before, ctx)
    with steps("switch"):
        inst.rt.releases.switch(inst.service, req.release)
        state["switched_at"] = time.time()
        state["on"] = {"release": req.release, "config": state["to"]["config"], "files": files}
        inst.save(state)
    if restart:
        with steps("restart"):
            inst.apply(req.spec, req.release, files)
    _ready(inst, req.spec, steps, ctx)
    with steps("checks"):
        inst.run_checks(req.checks, req.spec.get("port"), ctx)
    bal.enable(steps)


def wait_until_epoch(at: float, ctx: Context) -> None:
    """Sleep until the wall clock reads ``at`` (a synchronous switch's barrier time)."""
    late = time.time() - at
    if late > 0:
        ctx.log("barrier time passed %.3f s ago: switching now", late)
        return
    while (left := at - time.time()) > 0:
        time.sleep(min(left, 0.5))


def _ready(inst: Instance, spec: dict, steps: Steps, ctx: Context) -> None:
    with steps("ready"):
        result = inst.wait_ready(spec, ctx)
    if not result.ok:
        stderr = inst.rt.supervisor.tail(inst.program, "stderr", 400).strip()
        raise StepFailed("readiness", (result.error or "not ready") +
                         (f"; stderr: {stderr[-300:]}" if stderr else ""))


def _auto_rollback(inst: Instance, state: dict, exc: StepFailed, bal: Balancer, steps: Steps,
                   ctx: Context) -> None:
    frm, to = state["from"], state["to"]
    state.update(phase="rolling_back", error=f"{exc.what}: {exc.error}", steps=steps.rows)
    inst.save(state)
    ctx.log("%s failed on host %s: rolling back to release %s", exc.what, inst.rt.name, frm.get("release"))
    go_back(inst, state, bal, steps, ctx, release=frm.get("release"), config=frm.get("config"))
    raise BrickFailed(f"host {inst.rt.name}: {exc.what} failed for release {to['release']} "
                      f"({exc.error}); rolled back to release {frm.get('release')} "
                      f"(rolled_back: true)")


def finish_rollback(inst: Instance, state: dict, bal: Balancer, ctx: Context) -> None:
    """A switch was killed while rolling back: finish it, then fail with the first error."""
    frm = state["from"]
    go_back(inst, state, bal, Steps(ctx), ctx, release=frm.get("release"), config=frm.get("config"))
    raise BrickFailed(f"host {inst.rt.name}: {state.get('error')}; the interrupted rollback to "
                      f"release {frm.get('release')} is finished (rolled_back: true)")


def go_back(inst: Instance, state: dict, bal: Balancer, steps: Steps, ctx: Context, *,
            release: str | None, config: str | None, restore: dict | None = None) -> None:
    """Drain, (stop and restore the snapshot,) switch, restart, ready, enable."""
    spec, sv = state["spec"], inst.rt.supervisor
    bal.drain(steps, ctx)
    if restore:
        with steps("stop"):
            if sv.status(inst.program) is not None:
                sv.stop(inst.program)  # nothing may write into the volume while it is swapped
        with steps("restore"):
            snap, pre = inst.rt.volumes.restore(restore["volume"], restore["id"])
            state["restored"] = {"snapshot": snap.id, "pre_restore": pre.id}
            inst.save(state)
    if not release:
        with steps("stop"):
            sv.stop(inst.program)
        raise BrickFailed(f"host {inst.rt.name}: {inst.program} had no release before this "
                          "rollout; it is stopped (rolled_back: true)")
    files = files_for(inst, state["on"], release, config)
    with steps("switch"):
        inst.rt.releases.switch(inst.service, release)
        state["on"] = {"release": release, "config": config, "files": files}
        inst.save(state)
    with steps("restart"):
        inst.apply(spec, release, files)
    try:
        _ready(inst, spec, steps, ctx)
    except StepFailed as exc:
        raise BrickFailed(f"host {inst.rt.name}: the rollback to release {release} is not ready "
                          f"either ({exc.error}); backend left drained") from exc
    bal.enable(steps)
    state.update(phase="rolled_back", steps=steps.rows)
    inst.save(state)
    inst.record(spec, release, config)


def _outputs(inst: Instance, state: dict, pid_before: int | None) -> dict[str, Any]:
    on = state.get("on") or inst.running_now()
    return {"previous_release": (state.get("from") or {}).get("release"),
            "release_id": on.get("release"), "config_version": on.get("config"),
            "switched_at": state.get("switched_at") or 0.0, "pid_before": pid_before,
            "pid": inst.pid(), "snapshot": (state.get("snapshot") or {}).get("id"),
            "restarted": False}


@dataclass
class RollbackRequest:
    data_policy: str = "keep_new"  # keep_new | restore_snapshot
    binary: bool = True
    config: bool = True


def _rollback_target(inst: Instance, state: dict, req: RollbackRequest) -> tuple[str, str, dict | None]:
    if not state.get("from"):
        raise BrickFailed(f"no rollout of {inst.program} is recorded on host {inst.rt.name}: "
                          "nothing to roll back (rollout.switch records one)")
    frm, on = state["from"], state["on"]
    release = frm.get("release") if req.binary else on.get("release")
    config = frm.get("config") if req.config else on.get("config")
    restore = None
    if req.data_policy == "restore_snapshot":
        if not state.get("snapshot"):
            raise BrickFailed(f"host {inst.rt.name}: the switch of {inst.program} took no snapshot "
                              "(switch with data_policy 'snapshot'), so there is none to restore")
        restore = None if state.get("restored") else state["snapshot"]
    return release, config, restore


def plan_rollback(inst: Instance, req: RollbackRequest, bal: Balancer) -> dict[str, Any]:
    state = inst.load()
    release, config, restore = _rollback_target(inst, state, req)
    files = files_for(inst, state["on"], release, config) if release else None
    restart = bool(restore) or not release or inst.needs_restart(state["spec"], release, files)
    actions = ((["drain"] if bal.lb else []) + (["stop", "restore"] if restore else []) +
               ["switch", "restart", "ready"] + (["enable"] if bal.lb else [])) if restart else []
    return {"host": inst.rt.name, "program": inst.program, "from": state["on"],
            "to": {"release": release, "config": config}, "restore": restore,
            "actions": actions, "changes": bool(actions)}


def rollback(inst: Instance, req: RollbackRequest, bal: Balancer, ctx: Context) -> dict[str, Any]:
    state = inst.load()
    release, config, restore = _rollback_target(inst, state, req)
    pid_before = inst.pid()
    plan = plan_rollback(inst, req, bal)
    steps = Steps(ctx)
    if plan["changes"]:
        state.update(phase="rolling_back", error=state.get("error"))
        inst.save(state)
        go_back(inst, state, bal, steps, ctx, release=release, config=config, restore=restore)
    else:
        ctx.log("%s already runs release %s, config %s%s: nothing to do", inst.program, release,
                config, " on the restored snapshot" if state.get("restored") else "")
    restored = state.get("restored") or {}
    return {"release_id": release, "config_version": config,
            "restored_release": release if req.binary else None,
            "restored_config": config if req.config else None,
            "restored_snapshot": restored.get("snapshot"), "pre_restore": restored.get("pre_restore"),
            "data_policy": req.data_policy, "pid_before": pid_before, "pid": inst.pid(),
            "steps": steps.rows, "changed": plan["changes"]}
