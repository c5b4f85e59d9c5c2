"""Blue-green slots, for an instant rollback whatever the strategy (canary, rolling, synchronous).

An instance switched with a standby (``standby_s``) has two slots, each a supervisord
program on its own port and a server of the balancer (both listed in its backends):

    slot 1   program <name>          the instance's port
    slot 2   program <name>.slot2    standby_port

A switch starts the new release on the slot that does not serve, beside the running one,
held out of rotation (maint) until it is ready and its checks pass; then puts it in
rotation, drains the old slot and holds it in maint. The old process is the **standby**:
warm for ``warm_s``, then frozen (no CPU), stopped at ``standby_s`` by the host's keeper
(``runtime/standby.py``). A rollback inside that time thaws it and puts it back in
rotation (one probe, one balancer change: no start), then drains and removes the new slot.
Outside it (or after a commit) the old slot's recorded program is started again, still
beside the new one, so the host never leaves rotation. A readiness or check that fails on
the new slot removes it: the old one never left rotation.

The journal keeps ``slots`` (the switch's ``from`` and ``to`` slot), ``slot`` (the one that
serves; ``Instance`` reads it) and ``standby`` (program, port, release, until).
"""
from __future__ import annotations

import http.client
import socket
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from nebhx.bricks.errors import BrickFailed
from nebhx.runtime import standby, undo
from nebhx.runtime.rollout import Instance, Steps

if TYPE_CHECKING:
    from nebhx.bricks.base import Context
    from nebhx.runtime import HostRuntime
    from nebhx.runtime.balancer import Balancer
    from nebhx.runtime.rolling import SwitchRequest

KEEPER = "nebhx-standby"


@dataclass
class Slot:
    program: str
    port: int | None


def wanted(inst: Instance, req: SwitchRequest, state: dict) -> bool:
    """A restart goes through the slots when a standby is asked and the old process runs
    (or a blue-green switch is being resumed)."""
    return bool(state.get("slots")) or bool(req.standby and req.standby.seconds > 0 and inst.pid())


def pick(inst: Instance, req: SwitchRequest, state: dict) -> tuple[Slot, Slot]:
    """(the slot that serves, the slot the new release starts on)."""
    if state.get("slots"):
        return Slot(**state["slots"]["from"]), Slot(**state["slots"]["to"])
    old = Slot(inst.program, inst.port(req.spec))
    if inst.program == inst.name:
        return old, Slot(f"{inst.name}.slot2", req.standby.port if req.standby else None)
    return old, Slot(inst.name, req.spec.get("port"))


def check(inst: Instance, req: SwitchRequest, bal: Balancer, state: dict) -> None:
    """What a switch with a standby needs, read only."""
    if not bal.active:
        raise BrickFailed("standby_s needs a balancer (lb_name or lb_stats): the two slots are "
                          "its servers, and a rollback is a change there")
    if not req.standby.port:
        raise BrickFailed("standby_s needs standby_port: the second slot's port, a server of the "
                          "balancer beside the instance's port")
    old, new = pick(inst, req, state)
    if not new.port or new.port == old.port:
        raise BrickFailed(f"standby_port {req.standby.port} and port {req.spec.get('port')} must be "
                          f"two ports (the slots), and {inst.program} serves on {old.port}")
    bal.at(new.port).known()
    status = inst.launcher.status(new.program)
    if not (status and status.up) and undo.port_in_use(new.port):
        raise BrickFailed(f"port {new.port} (the slot the new release would start on) is in use on "
                          f"host {inst.rt.name} by something other than {new.program}")


def forward(inst: Instance, req: SwitchRequest, bal: Balancer, state: dict, steps: Steps,
            files: str | None, ctx: Context, before) -> None:  # noqa: ANN001 - before(): snapshot, moment
    """The new release on the free slot; in rotation once ready and checked; the old slot
    out of rotation, kept as the standby."""
    old, new = pick(inst, req, state)
    if not state.get("slots"):
        state["slots"] = {"from": asdict(old), "to": asdict(new)}
        inst.save(state)
    view, bal_old, bal_new = inst.view(new.program, new.port), bal.at(old.port), bal.at(new.port)
    if (state.get("slot") or {}).get("program") != new.program:  # (resumed after it took over: keep it)
        with steps("hold"):
            bal_new.hold()  # nothing reaches the new slot before its checks
    before()
    with steps("switch"):
        inst.rt.releases.switch(inst.service, req.release)
        state["switched_at"] = state.get("switched_at") or time.time()
        state["on"] = {"release": req.release, "config": state["to"]["config"], "files": files}
        inst.save(state)
    drop_standby(inst, state, ctx)  # the last switch's standby: its slot is the one we take
    with steps("start"):
        view.apply(req.spec, req.release, files)
    undo.ready(view, req.spec, steps, ctx)
    with steps("checks"):
        view.run_checks(req.checks, new.port, ctx)
    bal_new.enable(steps)
    state["slot"] = asdict(new)  # it serves: a rollback from here on drains it
    inst.save(state)
    bal_old.drain(steps, ctx)
    with steps("standby"):
        bal_old.hold()
        keep(inst, old, req, state["from"])
    state.update(slot=asdict(new), standby=keep_record(inst, old, req, state["from"]), phase="switched")
    inst.save(state)
    inst.program, inst.slot_port = view.program, view.slot_port


def keep_record(inst: Instance, old: Slot, req: SwitchRequest, frm: dict) -> dict:
    sb = req.standby
    return {**asdict(old), "release": frm.get("release"), "config": frm.get("config"),
            "frozen_from": time.time() + sb.warm_s if sb.warm_s < sb.seconds else None,
            "until": time.time() + sb.seconds}


def keep(inst: Instance, old: Slot, req: SwitchRequest, frm: dict) -> None:
    """Register the old process with the host's keeper: warm, then frozen, then stopped."""
    pid = inst.view(old.program, old.port).pid()
    if pid is None:
        return  # it died meanwhile: a rollback starts it again
    now, sb = time.time(), req.standby
    standby.keep(folder(inst.rt), old.program, pid, now + sb.warm_s, now + sb.seconds)
    ensure_keeper(inst.rt)


def folder(rt: HostRuntime) -> Path:
    return rt.home / "standby"


def ensure_keeper(rt: HostRuntime) -> None:
    """The host's keeper under its supervisord (standard library only, like lbagent)."""
    sv = rt.supervisor
    sv.ensure_program(KEEPER, f"{sys.executable} -I {Path(standby.__file__).resolve()} "
                      f"--dir {folder(rt)} --sock {sv.sock}", start_secs=0)
    status = sv.status(KEEPER)
    if not (status and status.up):
        sv.start(KEEPER)


def drop_standby(inst: Instance, state: dict, ctx: Context) -> None:
    """Stop the instance's standby now (a new switch takes its slot, or a commit)."""
    kept = state.get("standby")
    if not kept:
        return
    if standby.drop(folder(inst.rt), kept["program"], inst.launcher.stop):
        ctx.log("standby %s (release %s) stopped", kept["program"], kept.get("release"))
    state["standby"] = None
    inst.save(state)


def alive(inst: Instance, state: dict) -> dict | None:
    """The standby's keeper entry while its process lives (warm or frozen)."""
    kept = state.get("standby")
    return standby.peek(folder(inst.rt), kept["program"]) if kept else None


# -- going back --------------------------------------------------------------------------------
def go_back(inst: Instance, state: dict, bal: Balancer, steps: Steps, ctx: Context, *,
            release: str | None, config: str | None, restore: dict | None) -> None:
    """The old slot back in rotation (thawed, or started from its recorded section), the
    new slot drained and removed; with ``restore``, both stopped while the data is swapped."""
    old, new = (Slot(**state["slots"][k]) for k in ("from", "to"))
    back = inst.view(old.program, old.port)
    bal_old, bal_new = bal.at(old.port), bal.at(new.port)
    frm, sv = state.get("from") or {}, inst.launcher
    served = (state.get("slot") or {}).get("program") == new.program
    text, record = undo.exact_target(inst, state, release, config)
    if restore:
        if served:
            bal_new.drain(steps, ctx)  # the host leaves rotation while its data is swapped
        with steps("stop"):
            drop_standby(inst, state, ctx)
            for program in (new.program, old.program):
                if sv.status(program) is not None:
                    sv.stop(program)
        undo.restore_data(inst, state, restore, steps)
    same = not restore and (release, config) == (frm.get("release"), frm.get("config"))
    probe = (record or {}).get("probe")
    with steps("thaw" if same and alive(inst, state) else "start"):
        taken = same and state.get("standby") and standby.take(folder(inst.rt), state["standby"]["program"])
        if not taken:
            drop_standby(inst, state, ctx)  # gone, or it runs other than what goes back
        if not (taken and sv.program_text(old.program) == text):
            undo.put_back(back, text)  # a thawed standby's section is as it was: nothing to do
    with steps("ready"):
        quick = taken and answers(probe)  # one probe: it was ready when it was frozen
    if not quick:
        undo.ready(back, state["spec"], steps, ctx, probe=probe)
    bal_old.enable(steps)  # already in rotation when the new slot never served: nothing to wait for
    if taken:
        standby.tidy_up(taken)
    with steps("switch"):
        inst.rt.releases.switch(inst.service, release)
        state["on"] = {"release": release, "config": config, "files": config}
        inst.save(state)
    if served and not restore:
        bal_new.drain(steps, ctx)
    with steps("retire"):
        bal_new.hold()
        state["replaced_pid"] = inst.view(new.program, new.port).pid()
        sv.remove(new.program)
    state.update(phase="rolled_back", slot=asdict(old), standby=None, steps=steps.rows)
    inst.save(state)
    inst.program, inst.slot_port = back.program, back.slot_port
    undo.put_back_record(inst, record, (state.get("before") or {}).get("spec"))


def answers(probe: dict | None, timeout: float = 1) -> bool:
    """One quick readiness probe of a thawed standby (http or tcp; else False: the full wait)."""
    kind, target = (probe or {}).get("kind"), (probe or {}).get("target") or ""
    if kind not in ("http", "tcp"):
        return False
    url = urlsplit(target if kind == "http" else f"tcp://{target}")
    try:
        if kind == "tcp":
            socket.create_connection((url.hostname, url.port), timeout).close()
            return True
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=timeout)
        try:
            conn.request("GET", url.path or "/", headers={"Connection": "close"})
            return conn.getresponse().status == 200
        finally:
            conn.close()
    except (OSError, http.client.HTTPException, ValueError):
        return False


def needs_back(inst: Instance, state: dict, release: str | None, config: str | None) -> bool:
    old, new = (Slot(**state["slots"][k]) for k in ("from", "to"))
    sv = inst.launcher
    if (state.get("slot") or {}).get("program") != old.program or sv.program_text(new.program) is not None:
        return True  # the usual case, told without asking supervisord: every ms counts here
    status = sv.status(old.program)
    return not (status and status.up) or sv.program_text(old.program) != undo.exact_target(
        inst, state, release, config)[0]


def plan_back(inst: Instance, state: dict, release: str | None, config: str | None,
              restore: dict | None) -> list[str]:
    """The steps ``go_back`` would take, touching nothing."""
    frm = state.get("from") or {}
    instant = not restore and (release, config) == (frm.get("release"), frm.get("config")) \
        and alive(inst, state) is not None
    served = (state.get("slot") or {}).get("program") == Slot(**state["slots"]["to"]).program
    return ((["drain", "stop", "restore"] if restore and served else ["stop", "restore"] if restore else []) +
            ["thaw" if instant else "start", "ready"] + (["enable"] if served or restore else []) +
            ["switch"] + (["drain"] if served and not restore else []) + ["retire"])


def plan_forward(inst: Instance, req: SwitchRequest, state: dict) -> dict[str, Any]:
    old, new = pick(inst, req, state)
    sb = req.standby
    return {"actions": ["hold"] + (["snapshot"] if req.snapshot and not state.get("snapshot") else []) +
            ["switch", "start", "ready", "checks", "enable", "drain", "standby"],
            "slots": {"from": asdict(old), "to": asdict(new)},
            "standby": {"program": old.program, "port": old.port, "warm_s": sb.warm_s,
                        "frozen_s": max(0.0, sb.seconds - sb.warm_s), "standby_s": sb.seconds}}


def describe(inst: Instance, state: dict) -> dict | None:
    """The standby as a plan or an output shows it: program, port, release, until, and
    whether it is warm or frozen now; None when there is none any more."""
    kept, entry = state.get("standby"), alive(inst, state)
    if not kept or entry is None:
        return None
    return {**kept, "state": entry.get("state")}
