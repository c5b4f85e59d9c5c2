"""Going back: what a switch found before it changed anything, and putting exactly that back.

A switch records, before its first change, the instance's program section as supervisord
has it (``before.text``, byte for byte: command, directory, environment, user...) and the
services view's record of it (``before.record``: advertised address, port, probe). Going
back to the release and config it came from reinstalls both as they were, never the
switch's own spec; a partial rollback (binary or config only) reinstalls the same section
with only the release or config folder swapped. A program that did not exist before the
switch is removed, not started on the old release.

The switch's journal also keeps the journal it replaced (``prior``): a switch that stops
before its first change puts that back, so the host looks as if it had never run.
"""
from __future__ import annotations

import errno
import json
import os
import re
import socket
import uuid
from typing import TYPE_CHECKING, Any

from nebhx.bricks.errors import BrickFailed
from nebhx.runtime.rollout import Instance, Steps, StepFailed
from nebhx.runtime.services import instance_file, read_spec, write_spec
from nebhx.sealing.masking import excerpt

if TYPE_CHECKING:
    from nebhx.bricks.base import Context
    from nebhx.runtime.balancer import Balancer


def capture(inst: Instance) -> dict[str, Any]:
    """The program section and the instance record as they are now (None when absent)."""
    try:
        record = json.loads(_record_path(inst).read_text())
    except (OSError, ValueError):
        record = None
    return {"text": inst.launcher.program_text(inst.program), "record": record,
            "spec": read_spec(inst.rt.home, inst.service, inst.instance) or None}


def changed_by(state: dict, run_id: str) -> bool:
    """True when the journal says run ``run_id`` completed a change (moved ``current``)."""
    return state.get("run") == run_id and bool(state.get("switched_at"))


def forget_unchanged(inst: Instance, state: dict, bal: Balancer, ctx: Context) -> tuple[dict, str]:
    """A switch that stopped before its first change: backend back in rotation, the journal
    it replaced back in place. Returns that journal, and what went wrong putting it back."""
    note = ""
    try:
        bal.enable(Steps(ctx))
    except BrickFailed as exc:  # reported beside the switch's own error, not instead of it
        note = f"; its backend could not be put back in rotation: {exc}"
        ctx.log("%s", note[2:])
    prior = state.get("prior") or {}
    if prior:
        inst.save(prior)
    else:
        inst.journal_path.unlink(missing_ok=True)
    ctx.log("the switch of %s to %s had changed nothing: %s left as it was", inst.program,
            (state.get("to") or {}).get("release"), inst.program)
    return prior, note


def _record_path(inst: Instance):
    return instance_file(inst.rt.home, inst.service, inst.instance)


def _retarget(text: str, swaps: dict[str, str]) -> str:
    for old, new in swaps.items():
        if old and new and old != new:
            text = re.sub(re.escape(old) + r"(?=[/'\"\s,]|$)", lambda _m, n=new: n, text, flags=re.M)
    return text


def exact_target(inst: Instance, state: dict, release: str | None,
                 config: str | None) -> tuple[str | None, dict | None]:
    """The program section and record to put back for ``release``/``config``: the recorded
    ones, with the release or config folder swapped when only one of them goes back."""
    before, frm = state.get("before"), state.get("from") or {}
    if not before or before.get("text") is None:
        return None, None
    swaps = {}
    if release and frm.get("release") and release != frm["release"]:
        swaps[str(inst.rt.releases.path(inst.service, frm["release"]))] = \
            str(inst.rt.releases.path(inst.service, release))
    if config != frm.get("config") and frm.get("config") and config:
        swaps[str(inst.config_dir(frm["config"]))] = str(inst.config_dir(config))
    record = dict(before["record"]) if before.get("record") else None
    if record is not None:
        record.update(release=release, config_version=config) if swaps else None
    return _retarget(before["text"], swaps), record


def created_by_switch(state: dict) -> bool:
    before = state.get("before")
    return before is not None and before.get("text") is None


def put_back(inst: Instance, text: str) -> None:
    """Reinstall the recorded program section; start it when it is down."""
    sv = inst.launcher
    changed = sv.install_program_text(inst.program, text)
    status = sv.status(inst.program)
    if not changed and not (status and status.up):
        sv.start(inst.program)


def put_back_record(inst: Instance, record: dict | None, spec: dict | None = None) -> None:
    """The services view's record (with the pid now) and the running spec as they were;
    none when there was none."""
    write_spec(inst.rt.home, inst.service, inst.instance, spec)
    path = _record_path(inst)
    if record is None:
        path.unlink(missing_ok=True)
        return
    status = inst.launcher.status(inst.program)
    record = {**record, "pid": status.pid if status else None}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    os.replace(tmp, path)


def remove_created(inst: Instance, state: dict, steps: Steps, ctx: Context) -> None:
    """The switch created the program: going back is removing it (and `current` back)."""
    frm = state.get("from") or {}
    with steps("remove"):
        inst.launcher.remove(inst.program)
        _record_path(inst).unlink(missing_ok=True)
        write_spec(inst.rt.home, inst.service, inst.instance, None)
        if frm.get("release"):
            inst.rt.releases.switch(inst.service, frm["release"])
    state.update(phase="rolled_back", steps=steps.rows, on={**frm, "files": frm.get("config")})
    inst.save(state)
    ctx.log("%s did not run before the switch: removed", inst.program)


def refuse_unknown_instance(inst: Instance, port: int | None) -> None:
    """A switch would create a program: refuse when its port is held (e.g. by the instance
    the graph meant, its name left at the default), naming the instances that run there."""
    if not port or not port_in_use(port):
        return
    others = sorted(p.stem for p in _record_path(inst).parent.glob("*.json")
                    if p.stem != (inst.instance or "default"))
    named = f" ({inst.service} runs as instance {', '.join(repr(o) for o in others)} there)" if others else ""
    raise BrickFailed(f"port {port} is in use on host {inst.rt.name}, and no program {inst.program} "
                      f"runs there to switch{named}: set instance, or another port")


def files_for(inst: Instance, on: dict, release: str, config: str | None) -> str | None:
    """The config folder the program should read: the running one when only the version
    changed and the files did not (so the process keeps running), else ``config``."""
    if release == on.get("release") and inst.same_config_files(on.get("files") or on.get("config"), config):
        return on.get("files") or on.get("config")
    return config


def ready(inst: Instance, spec: dict, steps: Steps, ctx: Context, probe: dict | None = None) -> None:
    """Wait until ready (by ``spec``, or by the recorded ``probe``); StepFailed with stderr."""
    with steps("ready"):
        result = inst.wait_ready(spec, ctx, probe=probe)
    if not result.ok:
        stderr = excerpt(inst.launcher.tail(inst.program, "stderr", 400), 300, ctx.mask)
        raise StepFailed("readiness", (result.error or "not ready") + (f"; stderr: {stderr}" if stderr else ""))


def restore_data(inst: Instance, state: dict, restore: dict, steps: Steps) -> None:
    """The switch's snapshot back (its program stopped); the data it replaced kept."""
    with steps("restore"):
        snap, pre = inst.rt.volumes.restore(restore["volume"], restore["id"])
        state["restored"] = {"snapshot": snap.id, "pre_restore": pre.id}
        inst.save(state)


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("0.0.0.0", port))
        except OSError as exc:
            return exc.errno == errno.EADDRINUSE
    return False
