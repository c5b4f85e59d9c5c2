"""Going back to a release chosen by hand, not only the one before the last switch.

A switch's journal keeps the config each release ran with when a switch left it (``ran``;
older journals: the one they replaced, ``prior``), and each switch's snapshot is tagged with
the release it left (kind ``pre-rollout``): so an earlier release comes back with its own
config and, when asked, the data as it left it.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nebhx.bricks.errors import BrickFailed
from nebhx.runtime.releases import META, check_id

if TYPE_CHECKING:
    from nebhx.runtime.rollout import Instance


def chosen(inst: Instance, state: dict, release: str) -> dict[str, Any]:
    """An earlier release than the last switch's ``from``: the config it last ran with (the
    journal keeps one per release it switched away from; else the config before the last
    switch) and the snapshot taken when a switch left it. Refused when it is gone from the host."""
    check_id(release, "release id")
    if not (inst.rt.releases.path(inst.service, release) / META).is_file():
        known = ", ".join(r.id for r in inst.rt.releases.list(inst.service)) or "none"
        raise BrickFailed(f"release {release!r} of {inst.service!r} is no longer staged on host {inst.rt.name} "
                          f"(removed by retention, or never staged here; staged: {known}): nothing was changed")
    prior = state.get("prior") or {}
    ran = {**({(prior.get("from") or {}).get("release"): (prior.get("from") or {}).get("config")}
              if prior.get("from") else {}), **(state.get("ran") or {})}
    config = ran.get(release, state["from"].get("config"))
    volume = (state.get("snapshot") or prior.get("snapshot") or {}).get("volume")
    snaps = [s for s in inst.rt.volumes.snapshots(volume) if s.kind == "pre-rollout" and s.release == release] \
        if volume else []
    return {"config": config, "snapshot": {"volume": volume, "id": snaps[-1].id} if snaps else None}
