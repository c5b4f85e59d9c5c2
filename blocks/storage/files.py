"""File bricks: put a small file (seed data, a marker, a key) into a volume on a host."""
from __future__ import annotations

import os
import uuid
from pathlib import Path, PurePosixPath

from pydantic import Field

from typing import Any

from nebhx import Brick, BrickFailed, Context, HostRef, Ports, VolumeUrl
from nebhx.bricks.base import is_known
from nebhx.runtime.volumes import parse_volume_url


class WriteFile(Brick):
    """Write a text file into a data volume on a host.

    Use it to seed a volume: the first page of a site, a default settings file, a
    marker a service waits for. `name` is a path relative to the volume (sub-folders
    are created); it may not leave the volume.

    The file is written to a temporary name and renamed into place, so a reader sees
    the old content or the new, never half a file. Writing the same content again
    changes nothing (`changed` is false). With `overwrite` off, a file that is already
    there is left alone whatever it holds: the service owns its data after the seed.
    """

    id = "storage.write_file"
    on_repeat = ''
    title = "Write file"
    category = "storage"
    icon = "file-earmark-text"

    class Inputs(Ports):
        host: HostRef = Field(description="The host that keeps the volume")
        volume_url: VolumeUrl = Field(description="The volume, from storage.volume")
        name: str = Field(description="File path inside the volume, e.g. 'message.txt'",
                          min_length=1, max_length=255)
        content: str = Field(default="", description="Text to write (UTF-8)")
        mode: str = Field(default="0644", pattern=r"^0?[0-7]{3}$", description="File mode, octal")
        overwrite: bool = Field(default=True,
                                description="Replace a file that is already there with other content")

    class Outputs(Ports):
        path: str = Field(description="The file on the host")
        changed: bool = Field(description="True when the file was written")

    def run(self, ctx: Context, inputs: Inputs) -> Outputs:
        path = self.target(ctx, inputs)
        data = inputs.content.encode()
        mode = int(inputs.mode, 8)
        if path.is_file():
            same = path.read_bytes() == data
            if same or not inputs.overwrite:
                if same and (path.stat().st_mode & 0o777) != mode:
                    path.chmod(mode)
                ctx.log("%s %s", path, "unchanged" if same else "already there (overwrite off)")
                return self.Outputs(path=str(path), changed=False)
        elif path.exists():
            raise BrickFailed(f"{path} exists and is not a file")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
        try:
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            tmp.chmod(mode)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        ctx.log("wrote %d byte(s) to %s", len(data), path)
        return self.Outputs(path=str(path), changed=True)

    def plan(self, ctx: Context, inputs: Inputs) -> dict[str, Any]:
        """Whether the file would be written; a volume this run creates holds no file yet."""
        if not is_known(inputs):
            return {"effect": f"writes {inputs.name} once its inputs are known", "changes": None}
        data = inputs.content.encode()
        try:
            path = self.target(ctx, inputs)
        except BrickFailed:
            made = [v["path"] for v in ((ctx.planned and ctx.planned.get("volumes")) or {}).values()
                    if v.get("path") == parse_volume_url(inputs.volume_url)[2].as_posix()]
            if not made:
                raise
            path = Path(made[0]) / inputs.name  # a volume this run creates first: empty
        if path.is_file():
            with path.open("rb") as f:
                same = f.read(len(data) + 1) == data
            if same or not inputs.overwrite:
                return {"effect": f"nothing: {path} {'holds this content' if same else 'is there (overwrite off)'}",
                        "changes": False, "outputs": {"path": str(path), "changed": False}}
        elif path.exists():
            raise BrickFailed(f"{path} exists and is not a file")
        return {"effect": f"write {len(data)} byte(s) to {path}", "changes": True,
                "outputs": {"path": str(path), "changed": True}}

    @staticmethod
    def target(ctx: Context, inputs: Inputs) -> Path:
        """The file to write: inside an existing volume of this host, symlinks resolved."""
        _driver, url_host, _root = parse_volume_url(inputs.volume_url)
        if url_host != inputs.host:
            raise BrickFailed(f"volume {inputs.volume_url} lives on host {url_host!r}, "
                              f"not on {inputs.host!r}")
        if ctx.runtime.name != inputs.host:
            raise BrickFailed(f"this brick is for host {inputs.host!r} "
                              f"but runs on {ctx.runtime.name!r}")
        # open() confines the volume to the host's managed folders and checks it exists.
        root = ctx.runtime.volumes.open(inputs.volume_url).path
        rel = PurePosixPath(inputs.name)
        if rel.is_absolute() or ".." in rel.parts or not rel.parts:
            raise BrickFailed(f"name: {inputs.name!r} must be a relative path inside the volume")
        path = ctx.runtime.confine(root / Path(*rel.parts), param="name")
        if not path.is_relative_to(root):
            raise BrickFailed(f"name: {inputs.name!r} leads out of the volume (a symlink) to {path}")
        return path
