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

from nebhx.bricks.errors import BrickFailed, Cancelled
from nebhx.runtime import bluegreen, undo
from nebhx.runtime.balancer import Balancer, LocalBalancer, RemoteBalancer  # noqa: F401
from nebhx.runtime.releases import META
from nebhx.runtime.rollout import CheckSpec, Instance, Steps, StepFailed
from nebhx.runtime.rollback import (RollbackRequest, finish_rollback, go_back, plan_rollback,  # noqa: F401
                                   rollback)
from nebhx.runtime.undo import files_for  # noqa: F401

if TYPE_CHECKING:
    from nebhx.bricks.base import Context

IN_FLIGHT = ("switching", "rolling_back")


@dataclass
class Standby:
    """Keep the previous release's process as a standby (``runtime/bluegreen.py``)."""
    port: int | None  # the second slot's port
    seconds: float  # how long after the switch a rollback is a thaw
    warm_s: float = 10  # of which it runs warm, then it is frozen


@dataclass
class SwitchRequest:
    release: str
    config: str | None
    spec: dict[str, Any]
    checks: list[CheckSpec] = field(default_factory=list)
    volume: str | None = None
    snapshot: bool = False
    not_before: float | None = None  # epoch seconds: `current` is switched no earlier
    late_s: float = 0.5  # ... and no later than this after it: a late host is refused
    standby: Standby | None = None


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
    mine = state if out["resumes"] else {}  # the last switch's slots are not this one's
    if restart and bluegreen.wanted(inst, req, mine):
        return {**out, "restart": True, **bluegreen.plan_forward(inst, req, mine), "changes": True}
    actions = (["drain"] if restart and bal.active else []) + \
        (["snapshot"] if req.snapshot and not (out["resumes"] and state.get("snapshot")) else []) + \
        ["switch"] + (["restart"] if restart else []) + ["ready", "checks"] + \
        (["enable"] if bal.active else [])
    return {**out, "restart": restart, "actions": actions, "changes": bool(actions), "standby": None}


def switch(inst: Instance, req: SwitchRequest, bal: Balancer, ctx: Context) -> dict[str, Any]:
    state = inst.load()
    if state.get("phase") == "rolling_back":
        finish_rollback(inst, state, bal, ctx)
    now, resuming = inst.running_now(), state.get("phase") == "switching"
    frm = state["from"] if resuming else now
    config = req.config or frm.get("config")
    try:  # every input checked before anything changes (and before the journal says so)
        files = files_for(inst, state.get("on") or now, req.release, config)
        check(inst, req, files, new=not resuming and inst.launcher.program_text(inst.program) is None)
        if req.standby and req.standby.seconds > 0:
            bluegreen.check(inst, req, bal, state if resuming else {})
        restart = inst.needs_restart(req.spec, req.release, files)
    except BrickFailed as exc:
        raise exc if resuming else BrickFailed(f"{exc}; {untouched(inst, now)}") from exc
    pid_before = inst.pid()
    if not restart and not resuming and now.get("release") == req.release and now.get("config") == config:
        ctx.log("%s already runs release %s, config %s: nothing to do", inst.program, req.release, config)
        return {**_outputs(inst, state, pid_before), "steps": [], "changed": False}
    keep = state if resuming else {"before": undo.capture(inst),
                                   "prior": {k: v for k, v in state.items() if k != "prior"}}
    state = {"service": inst.service, "instance": inst.instance, "program": inst.program,
             "phase": "switching", "from": frm, "to": {"release": req.release, "config": config},
             "on": state.get("on") or {**now, "files": now.get("config")}, "spec": req.spec,
             "snapshot": state.get("snapshot") if resuming else None, "restored": None,
             "error": None, "started_at": state.get("started_at") if resuming else time.time(),
             "switched_at": state.get("switched_at") if resuming else None,
             "before": keep.get("before"), "prior": keep.get("prior"),
             # the config each release ran with when a switch left it: a rollback to it takes that
             "ran": {**(state.get("ran") or {}), **({frm["release"]: frm.get("config")} if frm.get("release") else {})},
             # blue-green: the slot serving now, the last switch's standby (this switch drops it
             # once it moved `current`), and this switch's own slots when it uses them
             "slot": state.get("slot"), "standby": state.get("standby"),
             "slots": state.get("slots") if resuming else None,
             # Which run switched it: a failure branch rolls back only what its own run changed.
             "run": ctx.run_id}
    inst.save(state)
    steps = Steps(ctx)
    try:
        _forward(inst, req, bal, state, steps, files, restart, ctx)
    except StepFailed as exc:
        _auto_rollback(inst, state, exc, bal, steps, ctx)
    except (BrickFailed, Cancelled) as exc:
        if state.get("switched_at"):
            raise  # half-way: running it again resumes
        note = undo.forget_unchanged(inst, state, bal, ctx)[1]
        raise exc if isinstance(exc, Cancelled) else BrickFailed(f"{exc}; {untouched(inst, now)}{note}") from exc
    state.update(phase="switched", steps=steps.rows)
    inst.save(state)
    inst.record(req.spec, req.release, config, like=(state["before"] or {}).get("record"))
    return {**_outputs(inst, state, pid_before), "steps": steps.rows, "changed": True,
            "restarted": restart}


def check(inst: Instance, req: SwitchRequest, files: str | None, *, new: bool) -> None:
    """What the switch needs, all of it, read only: fails naming the first thing missing."""
    if req.not_before:
        too_late(req)
    if req.snapshot and not req.volume:
        raise BrickFailed("data_policy 'snapshot' needs the data volume (input volume)")
    if not (inst.rt.releases.path(inst.service, req.release) / META).is_file():
        known = ", ".join(r.id for r in inst.rt.releases.list(inst.service)) or "none"
        raise BrickFailed(f"release {req.release!r} of {inst.service!r} is not staged on host "
                          f"{inst.rt.name} (staged: {known}): run rollout.prepare first")
    inst.definition(req.spec, req.release, files)  # config rendered, placeholders known
    if new:
        undo.refuse_unknown_instance(inst, req.spec.get("port"))


def untouched(inst: Instance, now: dict) -> str:
    return (f"nothing was changed: {inst.program} still runs release {now['release']}"
            if now.get("release") and inst.launcher.program_text(inst.program) is not None
            else f"nothing was changed: no program {inst.program} was created")


def _forward(inst: Instance, req: SwitchRequest, bal: Balancer, state: dict, steps: Steps,
             files: str | None, restart: bool, ctx: Context) -> None:
    before = lambda: _before_switch(inst, req, state, steps, ctx)  # noqa: E731
    if restart and bluegreen.wanted(inst, req, state):
        return bluegreen.forward(inst, req, bal, state, steps, files, ctx, before)
    if restart:
        bal.drain(steps, ctx)
    before()
    with steps("switch"):
        inst.rt.releases.switch(inst.service, req.release)
        state["switched_at"] = time.time()
        state["on"] = {"release": req.release, "config": state["to"]["config"], "files": files}
        inst.save(state)
    bluegreen.drop_standby(inst, state, ctx)  # superseded: it ran the release before the last
    if restart:
        with steps("restart"):
            inst.apply(req.spec, req.release, files)
    undo.ready(inst, req.spec, steps, ctx)
    with steps("checks"):
        inst.run_checks(req.checks, inst.port(req.spec), ctx)
    bal.enable(steps)


def _before_switch(inst: Instance, req: SwitchRequest, state: dict, steps: Steps, ctx: Context) -> None:
    """What comes before `current` moves: the data's snapshot, a synchronous switch's moment."""
    if req.snapshot and not state.get("snapshot"):
        with steps("snapshot"):
            snap = inst.rt.volumes.snapshot(req.volume, kind="pre-rollout", release=state["from"].get("release"))
            state["snapshot"] = {"volume": req.volume, "id": snap.id}
            inst.save(state)
    if req.not_before and not state.get("switched_at"):
        with steps("wait"):
            wait_until_epoch(req.not_before, ctx)
        too_late(req)


def too_late(req: SwitchRequest) -> None:
    """A synchronous switch happens at its moment or not at all: a host that would switch
    later than ``late_s`` after it is refused, before it changed anything."""
    late = time.time() - req.not_before
    if late > req.late_s:
        raise BrickFailed(f"the switch moment passed {late:.3f} s ago (more than late_s {req.late_s} s): "
                          "a late host does not switch on its own")


def wait_until_epoch(at: float, ctx: Context) -> None:
    """Sleep until the wall clock reads ``at`` (a synchronous switch's barrier time)."""
    late = time.time() - at
    if late > 0:
        ctx.log("barrier time passed %.3f s ago: switching now", late)
        return
    while (left := at - time.time()) > 0:
        time.sleep(min(left, 0.5))


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


def _outputs(inst: Instance, state: dict, pid_before: int | None) -> dict[str, Any]:
    on = state.get("on") or inst.running_now()
    return {"previous_release": (state.get("from") or {}).get("release"),
            "release_id": on.get("release"), "config_version": on.get("config"),
            "switched_at": state.get("switched_at") or 0.0, "pid_before": pid_before,
            "pid": inst.pid(), "snapshot": (state.get("snapshot") or {}).get("id"),
            "restarted": False, "standby": bluegreen.describe(inst, state)}
