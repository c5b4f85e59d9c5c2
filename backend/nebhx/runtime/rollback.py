"""Rolling an instance back: to the release and config its switch came from (or only one of
them), the data as asked; a blue-green switch goes back its own way (``bluegreen``), any
other through the pieces ``undo`` keeps (exact program section, record, snapshot)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nebhx.bricks.errors import BrickFailed
from nebhx.runtime import bluegreen, undo
from nebhx.runtime.release_choice import chosen as _chosen
from nebhx.runtime.rollout import Instance, Steps, StepFailed

if TYPE_CHECKING:
    from nebhx.bricks.base import Context
    from nebhx.runtime.balancer import Balancer


def finish_rollback(inst: Instance, state: dict, bal: Balancer, ctx: Context) -> None:
    """A switch was killed while rolling back: finish it, then fail with the first error."""
    frm = state["from"]
    go_back(inst, state, bal, Steps(ctx), ctx, release=frm.get("release"), config=frm.get("config"))
    raise BrickFailed(f"host {inst.rt.name}: {state.get('error')}; the interrupted rollback to "
                      f"release {frm.get('release')} is finished (rolled_back: true)")


def go_back(inst: Instance, state: dict, bal: Balancer, steps: Steps, ctx: Context, *,
            release: str | None, config: str | None, restore: dict | None = None) -> None:
    """Drain, (stop and restore the snapshot,) switch, the program as it was, ready, enable."""
    if state.get("slots"):  # a blue-green switch: its own way back
        return bluegreen.go_back(inst, state, bal, steps, ctx, release=release, config=config,
                                    restore=restore)
    spec, sv, frm = state["spec"], inst.launcher, state.get("from") or {}
    bal.drain(steps, ctx)
    if restore:
        with steps("stop"):
            if sv.status(inst.program) is not None:
                sv.stop(inst.program)  # nothing may write into the volume while it is swapped
        undo.restore_data(inst, state, restore, steps)
    if undo.created_by_switch(state) and (release, config) == (frm.get("release"), frm.get("config")):
        return undo.remove_created(inst, state, steps, ctx)  # its backend stays drained: it served nothing
    if not release:
        with steps("stop"):
            sv.stop(inst.program)
        raise BrickFailed(f"host {inst.rt.name}: {inst.program} had no release before this "
                          "rollout; it is stopped (rolled_back: true)")
    text, record = undo.exact_target(inst, state, release, config)
    files = config if text is not None else undo.files_for(inst, state["on"], release, config)
    with steps("switch"):
        inst.rt.releases.switch(inst.service, release)
        state["on"] = {"release": release, "config": config, "files": files}
        inst.save(state)
    with steps("restart"):
        undo.put_back(inst, text) if text is not None else inst.apply(spec, release, files)
    try:
        undo.ready(inst, spec, steps, ctx, probe=(record or {}).get("probe") if text is not None else None)
    except StepFailed as exc:
        raise BrickFailed(f"host {inst.rt.name}: the rollback to release {release} is not ready "
                          f"either ({exc.error}); backend left drained") from exc
    bal.enable(steps)
    state.update(phase="rolled_back", steps=steps.rows)
    inst.save(state)
    if text is not None:
        undo.put_back_record(inst, record, (state.get("before") or {}).get("spec"))
    else:
        inst.record(spec, release, config)


@dataclass
class RollbackRequest:
    data_policy: str = "keep_new"  # keep_new | restore_snapshot
    binary: bool = True
    config: bool = True
    release: str | None = None  # an earlier staged release chosen by hand; None: the one before the last switch


def _rollback_target(inst: Instance, state: dict, req: RollbackRequest) -> tuple[str, str, dict | None]:
    if not state.get("from"):
        raise BrickFailed(f"no rollout of {inst.program} is recorded on host {inst.rt.name}: "
                          "nothing to roll back (rollout.switch records one)")
    frm, on = state["from"], state["on"]
    chosen = _chosen(inst, state, req.release) if req.release and req.release != frm.get("release") else None
    if chosen:
        release, config = req.release, chosen["config"] if req.config else on.get("config")
    else:
        release = frm.get("release") if req.binary else on.get("release")
        config = frm.get("config") if req.config else on.get("config")
    restore = None
    if req.data_policy == "restore_snapshot":
        snap = chosen["snapshot"] if chosen else state.get("snapshot")
        if not snap:
            raise BrickFailed(f"host {inst.rt.name}: the switch of {inst.program} took no snapshot "
                              "(switch with data_policy 'snapshot'), so there is none to restore"
                              if not chosen else f"host {inst.rt.name}: no snapshot of {inst.program}'s data "
                              f"was taken when release {release} was switched away from, so there is none to restore")
        done = state.get("restored") or {}
        restore = None if done and (not chosen or done.get("snapshot") == snap["id"]) else snap
    return release, config, restore


def journal(inst: Instance, req: RollbackRequest) -> dict[str, Any]:
    """The last switch's journal. An instance only service.run started has none; going back to a
    chosen release starts from what runs now, as it runs (its program section, record and spec),
    and that journal is kept: a later rollback without a release comes back to it."""
    state = inst.load()
    if state.get("from") or not req.release:
        return state
    now, spec = inst.running_now(), inst.running_spec()
    if not now.get("release") or not spec or inst.launcher.program_text(inst.program) is None:
        return state  # nothing runs to go back from: refused as before
    return {"service": inst.service, "instance": inst.instance, "program": inst.program, "phase": "switched",
            "from": dict(now), "to": dict(now), "on": {**now, "files": now.get("config")}, "spec": spec,
            "before": undo.capture(inst), "snapshot": None, "restored": None, "error": None}


def _needs_restart(inst: Instance, state: dict, release: str | None, config: str | None) -> bool:
    if undo.created_by_switch(state):
        return inst.launcher.program_text(inst.program) is not None
    text, _record = undo.exact_target(inst, state, release, config)
    if text is None:
        files = undo.files_for(inst, state["on"], release, config) if release else None
        return not release or inst.needs_restart(state["spec"], release, files)
    status = inst.launcher.status(inst.program)
    return not (status and status.up) or inst.launcher.program_text(inst.program) != text


def plan_rollback(inst: Instance, req: RollbackRequest, bal: Balancer) -> dict[str, Any]:
    state = journal(inst, req)
    release, config, restore = _rollback_target(inst, state, req)
    if state.get("slots"):
        back = bool(restore) or bluegreen.needs_back(inst, state, release, config)
        actions = bluegreen.plan_back(inst, state, release, config, restore) if back else []
    else:
        restart = bool(restore) or _needs_restart(inst, state, release, config)
        remove = undo.created_by_switch(state) and req.binary and req.config
        actions = ((["drain"] if bal.active else []) + (["stop", "restore"] if restore else []) +
                   (["remove"] if remove else ["switch", "restart", "ready"] + (["enable"] if bal.active else []))
                   ) if restart else []
    return {"host": inst.rt.name, "program": inst.program, "from": state["on"],
            "to": {"release": release, "config": config}, "restore": restore,
            "actions": actions, "changes": bool(actions)}


def rollback(inst: Instance, req: RollbackRequest, bal: Balancer, ctx: Context) -> dict[str, Any]:
    steps = Steps(ctx)
    state = journal(inst, req)
    if state.get("phase") == "switching" and not state.get("switched_at"):
        state = undo.forget_unchanged(inst, state, bal, ctx)[0]  # it changed nothing: undo the one before
    release, config, restore = _rollback_target(inst, state, req)
    # A blue-green rollback tells the process it replaced itself, after the old one serves.
    pid_before = None if state.get("slots") else inst.pid()
    plan = plan_rollback(inst, req, bal)
    if plan["changes"]:
        state.update(phase="rolling_back", error=state.get("error"))
        inst.save(state, sync=False)  # a rollback is safe to run again: no fsync to wait for
        go_back(inst, state, bal, steps, ctx, release=release, config=config, restore=restore)
    else:
        ctx.log("%s already runs release %s, config %s%s: nothing to do", inst.program, release,
                config, " on the restored snapshot" if state.get("restored") else "")
    restored = state.get("restored") or {}
    return {"release_id": release, "config_version": config,
            "restored_release": release if req.binary else None,
            "restored_config": config if req.config else None,
            "restored_snapshot": restored.get("snapshot"), "pre_restore": restored.get("pre_restore"),
            "data_policy": req.data_policy, "pid_before": pid_before or state.pop("replaced_pid", None),
            "pid": inst.pid(),
            "steps": steps.rows, "changed": plan["changes"], "removed": "remove" in plan["actions"],
            "instant": "thaw" in steps.ends, "serving_at": steps.ends.get("enable")}
