"""Plans of the rollout bricks that move an instance: what the run will switch to and undo.

``rolling.plan_switch`` reads the host as it is; a plan must also count what the nodes
planned before this one will have done there (``Planned``): the release and config this run's
prepare stages and renders, the volume it creates. These helpers finish its answer with that,
and say outright when the run would change nothing.
"""
from __future__ import annotations

from typing import Any, Callable

from nebhx import BrickFailed
from nebhx.bricks.base import is_known
from nebhx.bricks.planning import Planned
from nebhx.runtime import bluegreen, plan_config, rolling
from nebhx.runtime.releases import META


def plan_detail(inst: Any, req: rolling.SwitchRequest, bal: rolling.Balancer, planned: Planned,
                detail: dict[str, Any]) -> dict[str, Any]:
    frm, to = detail["from"], detail["to"]
    _check_there(inst, to, planned)
    if detail.get("blocked"):  # its release or config is not on the host yet: this run's prepare puts it there
        restart = _restart_after_prepare(inst, req, frm, to)
        detail = {k: v for k, v in detail.items() if k != "blocked"}
        detail.update(restart=restart, actions=(["drain"] if restart and bal.active else []) + (
            ["snapshot"] if req.snapshot else []) + ["switch"] + (["restart"] if restart else []) + [
            "ready", "checks"] + (["enable"] if bal.active else []))
        if restart and bluegreen.wanted(inst, req, {}):  # beside the running one, on its second slot
            detail.update(bluegreen.plan_forward(inst, req, {}))
    restart = bool(detail.get("restart"))
    nothing = not restart and not detail["resumes"] and frm.get("release") == to["release"] \
        and frm.get("config") == to["config"]
    files = _changed_files(inst, frm, to, planned)
    state = inst.load()
    prev = (state.get("from") or {}).get("release") if nothing else frm.get("release")
    effect = (f"nothing: {inst.program} already runs release {to['release']}, config {to['config']}" if nothing else
              f"{' -> '.join(detail['actions'])} of {inst.program}: release {frm.get('release')} -> "
              f"{to['release']}, config {frm.get('config')} -> {to['config']}"
              + (f" ({', '.join(files)} change)" if files else ""))
    after = {"release": to["release"], "config": to["config"], "switched": not nothing,
             "from": frm.get("release")}
    return {"effect": effect, "changes": not nothing, "actions": [] if nothing else detail["actions"],
            "host": inst.rt.name, "program": inst.program,
            "release": {"before": frm.get("release"), "after": to["release"]},
            "config": {"before": frm.get("config"), "after": to["config"], "files": files},
            "restart": restart and not nothing,
            "balancer": None if nothing or not bal.active else {
                "lb": bal.where, "backend": bal.backend,
                "steps": [a for a in detail["actions"] if a in ("hold", "enable", "drain", "standby")]},
            "snapshot": {"volume": req.volume} if not nothing and "snapshot" in detail["actions"] else None,
            "slots": None if nothing else detail.get("slots"), "standby": None if nothing else detail.get("standby"),
            "outputs": {"release_id": to["release"], "config_version": to["config"], "previous_release": prev,
                        "changed": not nothing, "restarted": restart and not nothing},
            "sets": {"instances": {inst.program: after},
                     **({} if nothing else {"current": {inst.service: to["release"]}})}}


def _check_there(inst: Any, to: dict[str, Any], planned: Planned) -> None:
    """The run fails when its release or config is neither on the host nor prepared by this run."""
    release, config = to["release"], to.get("config")
    if not (inst.rt.releases.path(inst.service, release) / META).is_file() and \
            planned.get("releases", inst.service, release) is None:
        raise BrickFailed(f"release {release!r} of {inst.service} is not staged on host {inst.rt.name} "
                          "and no node of this run before the switch stages it")
    if config and not (inst.configs_dir / config).is_dir() and planned.get("configs", inst.service, config) is None:
        raise BrickFailed(f"config version {config!r} of {inst.service} is not rendered on host "
                          f"{inst.rt.name} and no node of this run before the switch renders it")


def _restart_after_prepare(inst: Any, req: rolling.SwitchRequest, frm: dict, to: dict) -> bool:
    """Whether the switch restarts, when its release or config is still to be prepared."""
    if to["release"] != frm.get("release") or "{config}" in req.spec.get("command", ""):
        return True  # another release folder, or the command names the new config folder
    running = frm.get("files") or frm.get("config")
    try:
        return inst.needs_restart(req.spec, to["release"], running)
    except BrickFailed:
        return True


def _changed_files(inst: Any, frm: dict, to: dict, planned: Planned) -> list[str]:
    if to.get("config") == frm.get("config"):
        return []
    old = _hashes(inst, frm.get("files") or frm.get("config"), planned)
    new = _hashes(inst, to.get("config"), planned)
    return sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))


def _hashes(inst: Any, version: str | None, planned: Planned) -> dict[str, str]:
    if not version:
        return {}
    return planned.get("configs", inst.service, version) or plan_config.hashes(
        plan_config.rendered_files(inst.configs_dir / version) or {})


def plan_rollback(inputs: Any, inst: Any, planned: Planned | None, parts: Callable[[], tuple]) -> dict[str, Any]:
    """A rollback on a host this run switches undoes that switch; with ``only_this_run`` a host
    it does not switch is left alone; else the journal of the last switch says what comes back.
    Planned alone (no graph around it: ``planned`` None), whether this run switched it is unknown."""
    where = f"{inst.program} on {inputs.host}"
    if planned is None and inputs.only_this_run:
        return {"effect": f"roll back {inputs.service} on {inputs.host} if this run switched it; else leave it alone",
                "changes": None}
    after = (planned or Planned()).get("instances", inst.program)
    if after and not is_known(after):
        return {"effect": f"roll {where} back to what ran before if this run fails after switching it",
                "changes": None}
    if after and after.get("switched"):
        return {"effect": f"roll {where} back from release {after['release']} to {after.get('from')} "
                          "if this run fails after switching it", "changes": None,
                "release": {"before": after["release"], "after": after.get("from")}}
    if inputs.only_this_run:
        return {"effect": f"nothing: this run does not switch {where}, so it is left alone",
                "changes": False, "outputs": {"rolled_back": False, "changed": False}}
    detail = rolling.plan_rollback(*parts())
    effect = (f"{' -> '.join(detail['actions'])}: back to release {detail['to']['release']}"
              if detail["changes"] else "nothing: already rolled back")
    return {"effect": effect, **detail, "release": {"before": detail["from"].get("release"),
                                                    "after": detail["to"]["release"]}}
