"""Storage bricks: data volumes on a host, their snapshots, and restoring one."""
from __future__ import annotations

from typing import Any

from pydantic import Field

from nebhx import Brick, BrickFailed, Context, HostRef, Ports, VolumeUrl
from nebhx.bricks.base import is_known
from nebhx.runtime.volumes import Retention, Volumes, check_name, parse_volume_url, volume_url


def _volumes(ctx: Context, host: str) -> Volumes:
    if ctx.runtime.name != host:
        raise BrickFailed(f"this brick is for host {host!r} but runs on {ctx.runtime.name!r}")
    return ctx.runtime.volumes


def _check_url(url: str, host: str) -> str:
    _driver, url_host, _path = parse_volume_url(url)
    if url_host != host:
        raise BrickFailed(f"volume {url} lives on host {url_host!r}, not on {host!r}")
    return url


class Volume(Brick):
    """Create a data volume on a host, or find the one already there.

    A volume is where a service keeps its data (database files, uploads), apart from
    its release, so that data can be snapshotted and rolled back on its own.

    Drivers (`nebhx volumes drivers` lists those installed, with their options):

    - **dir**: a plain directory `<host home>/volumes/<name>`. Snapshots are copies made
      with `cp --reflink=auto`: instant and space-sharing on xfs/btrfs, a full copy elsewhere.
    - **btrfs**: a subvolume `<btrfs_root>/<name>` on a btrfs mount. Snapshots are instant
      read-only btrfs snapshots. `quota` (e.g. `10G`) sets a btrfs qgroup limit.
    - **overlay**: an OverlayFS mount (`options.root`, default `<home>/overlay`); a snapshot
      freezes the upper layer into a new lower one, a restore mounts a frozen chain.
    - **lvm**: an LVM thin volume (`options.vg`, `options.pool`, `size`, `fs`); thin
      snapshots, restore by `lvconvert --merge`. Needs device-mapper.
    - **xfs** (package nebhx-xfs): a folder on an XFS pool with reflink (`options.pool`;
      `image_size` makes the pool on a loop device); snapshots are reflinked copies.
    - any other driver a package declares in entry-point group `nebhx.volumes`.

    `keep_snapshots` / `keep_days` set the volume's retention rule: after each snapshot the
    older ones beyond it are removed (never one a rollout may still restore).

    Running it again changes nothing (`changed` is false). Wire `volume_url` into
    `storage.snapshot`, `storage.restore`, or a service's data-directory input.
    """

    id = "storage.volume"
    on_repeat = ''
    title = "Data volume"
    category = "storage"
    icon = "hdd"

    class Inputs(Ports):
        host: HostRef = Field(description="The host that keeps the volume")
        name: str = Field(description="Volume name: letters, digits, '.', '_', '-'",
                          min_length=1, max_length=100)
        driver: str = Field(default="dir", pattern=r"^[a-z][a-z0-9_-]{0,31}$",
                            description="How the data is stored: dir, btrfs, overlay, lvm, xfs or a vendor's driver",
                            json_schema_extra={"examples": ["dir", "btrfs", "overlay", "lvm", "xfs"]})
        btrfs_root: str | None = Field(default=None,
                                       description="btrfs driver: a directory on a btrfs mount")
        quota: str | None = Field(default=None,
                                  description="btrfs driver: size limit, e.g. 500M or 10G")
        options: dict[str, str] = Field(default_factory=dict,
                                        description="The driver's options, e.g. {\"pool\": \"/srv/xfs\"}")
        keep_snapshots: int | None = Field(default=None, ge=0, le=10000,
                                           description="Retention: keep the newest N snapshots")
        keep_days: float | None = Field(default=None, ge=0, description="Retention: keep snapshots younger than this")

    class Outputs(Ports):
        volume_url: VolumeUrl = Field(description="<driver>://<host>/<path>, e.g. dir://h1/srv/nebhx/volumes/pg")
        path: str = Field(description="Where the data lives on the host")
        changed: bool = Field(description="True when the volume was created or its quota changed")

    def run(self, ctx: Context, inputs: Inputs) -> Outputs:
        vols = _volumes(ctx, inputs.host)
        rule = None
        if inputs.keep_snapshots is not None or inputs.keep_days is not None:
            rule = Retention(inputs.keep_snapshots, inputs.keep_days)
        vol = vols.create(inputs.name, inputs.driver, btrfs_root=inputs.btrfs_root,
                          quota=inputs.quota, options=inputs.options, retention=rule)
        ctx.log("volume %s (%s) at %s: %s", vol.name, vol.driver, vol.path,
                "created" if vol.changed else "already there")
        return self.Outputs(volume_url=vol.url(inputs.host), path=str(vol.path),
                            changed=vol.changed)

    def plan(self, ctx: Context, inputs: Inputs) -> dict[str, Any]:
        """Whether the volume is there already; where a new one would be."""
        if not is_known(inputs):
            return {"effect": "creates or finds a volume once its inputs are known", "changes": None}
        vols = _volumes(ctx, inputs.host)
        try:
            vol = vols.open(inputs.name)
        except BrickFailed:
            vol = None
        if vol is not None:
            return {"effect": f"nothing: volume {inputs.name} is there ({vol.path})",
                    "changes": None if inputs.quota else False,
                    "outputs": {"volume_url": vol.url(inputs.host), "path": str(vol.path),
                                **({} if inputs.quota else {"changed": False})},
                    "sets": {"volumes": {inputs.name: {"path": str(vol.path)}}}}
        if inputs.driver != "dir":  # where another driver puts it is the driver's own business
            return {"effect": f"create {inputs.driver} volume {inputs.name}", "changes": True,
                    "outputs": {"changed": True}}
        path = ctx.runtime.confine(vols.dir_root / check_name(inputs.name), param="name")
        return {"effect": f"create volume {inputs.name} at {path}", "changes": True,
                "outputs": {"volume_url": volume_url("dir", inputs.host, path), "path": str(path), "changed": True},
                "sets": {"volumes": {inputs.name: {"path": str(path)}}}}


class Snapshot(Brick):
    """Take a point-in-time snapshot of a volume.

    btrfs volumes get an instant read-only snapshot; dir volumes a reflinked copy; overlay
    volumes freeze their upper layer; each driver does what its storage does. Take
    one before a release switch or a migration, so `storage.restore` can bring the data
    back. Without a `name` the snapshot is named by the UTC time; a name that is already
    taken fails rather than silently reusing an older snapshot.

    For a consistent snapshot of a live database, stop or freeze the service first.
    """

    id = "storage.snapshot"
    on_repeat = 'may take another snapshot'
    title = "Snapshot volume"
    category = "storage"
    icon = "camera"

    class Inputs(Ports):
        host: HostRef = Field(description="The host that keeps the volume")
        volume_url: VolumeUrl = Field(description="The volume, from storage.volume")
        name: str | None = Field(default=None, description="Snapshot name; default: UTC timestamp")
        release: str | None = Field(default=None, max_length=200,
                                    description="The release whose data this is (shown in the snapshots view)")

    class Outputs(Ports):
        snapshot: str = Field(description="The snapshot id, for storage.restore")
        path: str = Field(description="Where the snapshot's data is on the host")

    def run(self, ctx: Context, inputs: Inputs) -> Outputs:
        vols = _volumes(ctx, inputs.host)
        snap = vols.snapshot(_check_url(inputs.volume_url, inputs.host), inputs.name or None,
                             release=inputs.release or None)
        ctx.log("snapshot %s of volume %s at %s", snap.id, snap.volume, snap.path)
        return self.Outputs(snapshot=snap.id, path=str(snap.path))


class Restore(Brick):
    """Bring a volume's data back to a snapshot, keeping today's data aside.

    The volume is swapped with a writable copy of the snapshot in one atomic rename, so a
    reader sees either the old data or the restored data, never a mix. The data the volume
    held just before is kept as a new snapshot `pre-restore-<time>` (output `pre_restore`):

    - to undo the restore, restore `pre_restore`;
    - to run an old binary with the *new* data (the new release crashed but had already
      processed payments), do not restore at all, or restore `pre_restore` after a rollback.

    Stop the service that uses the volume first: a process holding files open keeps
    seeing the data it opened.
    """

    id = "storage.restore"
    on_repeat = 'restores the snapshot again, keeping another pre-restore snapshot'
    title = "Restore snapshot"
    category = "storage"
    icon = "clock-history"

    class Inputs(Ports):
        host: HostRef = Field(description="The host that keeps the volume")
        volume_url: VolumeUrl = Field(description="The volume, from storage.volume")
        snapshot: str = Field(description="The snapshot id to restore, from storage.snapshot",
                              min_length=1)

    class Outputs(Ports):
        volume_url: VolumeUrl = Field(description="The restored volume (same as the input)")
        restored: str = Field(description="The snapshot now in the volume")
        pre_restore: str = Field(description="Snapshot holding the data from before the restore")

    def run(self, ctx: Context, inputs: Inputs) -> Outputs:
        vols = _volumes(ctx, inputs.host)
        url = _check_url(inputs.volume_url, inputs.host)
        restored, pre = vols.restore(url, inputs.snapshot)
        ctx.log("volume %s restored to %s; the data before is kept as %s",
                restored.volume, restored.id, pre.id)
        return self.Outputs(volume_url=url, restored=restored.id, pre_restore=pre.id)
