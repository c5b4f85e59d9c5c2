"""Snapshot housekeeping bricks: prune a volume's snapshots by a retention rule, delete one.

The snapshots view (`nebhx volumes`, the editor's Snapshots panel) deletes and prunes through
these: a one-node run on the volume's host, audited like any run.
"""
from __future__ import annotations

from typing import Any

from pydantic import Field

from nebhx import Brick, Context, HostRef, Ports, VolumeUrl
from nebhx.bricks.base import is_known
from nebhx.runtime.volumes import Retention
from nebhx_blocks.storage.volumes import _check_url, _volumes


class Prune(Brick):
    """Remove a volume's older snapshots by a retention rule.

    Keeps the newest `keep_last` snapshots and every snapshot younger than `keep_days`;
    with neither set, the volume's own rule (`storage.volume`'s `keep_snapshots` /
    `keep_days`) applies, and a volume without one keeps everything. A snapshot a rollout
    journal names (the data a rollback may still restore) is always kept.
    """

    id = "storage.prune"
    on_repeat = ''
    title = "Prune snapshots"
    category = "storage"
    icon = "scissors"

    class Inputs(Ports):
        host: HostRef = Field(description="The host that keeps the volume")
        volume_url: VolumeUrl = Field(description="The volume, from storage.volume")
        keep_last: int | None = Field(default=None, ge=0, le=10000, description="Keep the newest N snapshots")
        keep_days: float | None = Field(default=None, ge=0, description="Keep snapshots younger than this")

    class Outputs(Ports):
        pruned: list[str] = Field(description="The snapshots removed")
        kept: list[str] = Field(description="The snapshots left, oldest first")

    def _rule(self, inputs: Inputs) -> Retention | None:
        if inputs.keep_last is None and inputs.keep_days is None:
            return None
        return Retention(inputs.keep_last, inputs.keep_days)

    def run(self, ctx: Context, inputs: Inputs) -> Outputs:
        vols = _volumes(ctx, inputs.host)
        url = _check_url(inputs.volume_url, inputs.host)
        pruned = vols.prune(url, self._rule(inputs))
        ctx.log("pruned %d snapshot(s) of %s: %s", len(pruned), url, ", ".join(s.id for s in pruned) or "none")
        return self.Outputs(pruned=[s.id for s in pruned], kept=[s.id for s in vols.snapshots(url)])

    def plan(self, ctx: Context, inputs: Inputs) -> dict[str, Any]:
        """Which snapshots the rule would remove, read from the host."""
        if not is_known(inputs.volume_url):
            return {"effect": f"prune the snapshots of a volume on {inputs.host} (known at run time)",
                    "changes": None}
        vols = _volumes(ctx, inputs.host)
        url = _check_url(inputs.volume_url, inputs.host)
        rule = self._rule(inputs) or vols.retention(vols.open(url))
        doomed = [s.id for s in rule.doomed(vols.snapshots(url), protected=vols.protected())]
        effect = f"remove {len(doomed)} snapshot(s) of {url}: {', '.join(doomed)}" if doomed else \
            f"no snapshot of {url} is beyond the rule"
        return {"effect": effect, "changes": bool(doomed), "outputs": {"pruned": doomed}}


class DeleteSnapshot(Brick):
    """Delete one snapshot of a volume; the volume and its other snapshots stay as they are.

    Deleting a snapshot that does not exist fails, naming the snapshots the volume has.
    """

    id = "storage.delete_snapshot"
    on_repeat = 'fails: the snapshot is gone after the first run'
    title = "Delete snapshot"
    category = "storage"
    icon = "trash"

    class Inputs(Ports):
        host: HostRef = Field(description="The host that keeps the volume")
        volume_url: VolumeUrl = Field(description="The volume, from storage.volume")
        snapshot: str = Field(min_length=1, max_length=100, description="The snapshot id")

    class Outputs(Ports):
        deleted: str = Field(description="The snapshot removed")
        size: int | None = Field(description="The bytes it held, as its driver counted them")

    def run(self, ctx: Context, inputs: Inputs) -> Outputs:
        vols = _volumes(ctx, inputs.host)
        snap = vols.delete_snapshot(_check_url(inputs.volume_url, inputs.host), inputs.snapshot)
        ctx.log("deleted snapshot %s of volume %s", snap.id, snap.volume)
        return self.Outputs(deleted=snap.id, size=snap.size)

    def plan(self, ctx: Context, inputs: Inputs) -> dict[str, Any]:
        """Whether the snapshot exists is read from the host: deleting a missing one fails."""
        if not is_known(inputs.volume_url) or not is_known(inputs.snapshot):
            return {"effect": f"delete a snapshot on {inputs.host} (known at run time)", "changes": None}
        vols = _volumes(ctx, inputs.host)
        snap = vols.get_snapshot(_check_url(inputs.volume_url, inputs.host), inputs.snapshot)
        return {"effect": f"delete snapshot {snap.id} of volume {snap.volume} on {inputs.host}",
                "changes": True, "outputs": {"deleted": snap.id}}
