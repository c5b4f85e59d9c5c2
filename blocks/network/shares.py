"""Network shares: serve a folder or a volume over SMB (Samba's smbd, in user space) with
the settings `core.share_settings` composes, and check one by writing and reading through it.

The password is a Secret from end to end: wired from a graph secret into both the share and
its clients, it is handed to Samba on standard input and to smbclient in a mode-600 file,
never on a command line, in a log or an output.
"""
from __future__ import annotations

import secrets
import tempfile
import time
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from nebhx import Address, Brick, BrickFailed, Context, HostRef, Ports, Secret, VolumeUrl
from nebhx.bricks.base import is_known
from nebhx.runtime.shares import (SmbShares, SmbSpec, bind_ip, check_login, check_share, path_owner,
                                  smbclient, split)
from nebhx.runtime.volumes import parse_volume_url

SETTINGS_HELP = "From core.share_settings: its address (ip:port), share and login are used"


def _setting(settings: dict[str, Any], key: str) -> str:
    value = settings.get(key)
    if not isinstance(value, str) or not value:
        raise BrickFailed(f"settings.{key} is missing: wire core.share_settings' settings here")
    return value


class SmbShare(Brick):
    """Serve a volume (or a folder under the host's managed folders) as an SMB share.

    One `smbd` per share runs under the host's launcher, bound only to the settings'
    address and port (445 unless `address` says `ip:port`), with the settings' `login` as
    its only user (made as a system account without a shell when missing) and `password`
    set through `smbpasswd` on standard input. Files written through the share belong to
    `user` (default: the owner of the served folder), so the service that owns a volume
    keeps owning its files. No guest access, no NetBIOS, no printers, no symlinks out.

    Running it again with the same settings leaves smbd running as it is (the password is
    set again); changed settings restart it. `state: absent` stops it and removes its
    configuration, never the data.
    """

    id = "share.smb"
    on_repeat = ''
    title = "SMB share"
    category = "network"
    icon = "folder-symlink"

    class Inputs(Ports):
        host: HostRef = Field(description="The host that serves the share")
        settings: dict[str, Any] = Field(description=SETTINGS_HELP)
        password: Secret = Field(description="The login's password (the same Secret core.share_settings got)")
        volume_url: VolumeUrl | None = Field(default=None, description="The volume to serve, from storage.volume")
        path: str | None = Field(default=None, description="Or a folder to serve, under the host's managed folders")
        user: str = Field(default="", max_length=32, pattern=r"^[a-z_][a-z0-9_-]*$|^$",
                          description="Account files are written as (default: the folder's owner)")
        read_only: bool = False
        state: Literal["present", "absent"] = Field(default="present", description="absent: stop serving")

    class Outputs(Ports):
        address: Address = Field(description="ip:port the share is served at")
        share: str
        unc: str = Field(description="//ip/share")
        path: str = Field(description="The folder served")
        changed: bool

    def _spec(self, ctx: Context, inputs: Inputs) -> SmbSpec:
        if ctx.runtime.name != inputs.host:
            raise BrickFailed(f"this brick is for host {inputs.host!r} but runs on {ctx.runtime.name!r}")
        if (inputs.volume_url is None) == (inputs.path is None):
            raise BrickFailed("give volume_url (a volume) or path (a folder): exactly one")
        if inputs.volume_url is not None:
            _driver, url_host, raw = parse_volume_url(inputs.volume_url)
            if url_host != inputs.host:
                raise BrickFailed(f"volume {inputs.volume_url} lives on host {url_host!r}, not on {inputs.host!r}")
        else:
            raw = Path(inputs.path or "")
        path = ctx.runtime.confine(raw, param="volume_url" if inputs.volume_url else "path")
        if not path.is_dir():
            raise BrickFailed(f"{inputs.volume_url or inputs.path}: {path} is not a folder on {inputs.host}")
        host, port = split(_setting(inputs.settings, "address"))
        return SmbSpec(share=check_share(_setting(inputs.settings, "share").strip("/")), path=path,
                       address=bind_ip(host), port=port, login=check_login(_setting(inputs.settings, "login")),
                       force_user=inputs.user or path_owner(path), read_only=inputs.read_only)

    def run(self, ctx: Context, inputs: Inputs) -> Outputs:
        shares = SmbShares(ctx.runtime)
        if inputs.state == "absent":
            share = check_share(_setting(inputs.settings, "share").strip("/"))
            gone = shares.remove(ctx, share)
            ctx.log("share %s: %s", share, "stopped and its configuration removed" if gone else "not served here")
            return self.Outputs(address="", share=share, unc="", path="", changed=gone)
        spec = self._spec(ctx, inputs)
        changed = shares.ensure(ctx, spec, inputs.password.get_secret_value())
        ctx.log("share //%s/%s (port %d) serves %s to %s, files as %s%s", spec.address, spec.share, spec.port,
                spec.path, spec.login, spec.force_user, "" if changed else "; unchanged")
        return self.Outputs(address=f"{spec.address}:{spec.port}", share=spec.share,
                            unc=f"//{spec.address}/{spec.share}", path=str(spec.path), changed=changed)

    def plan(self, ctx: Context, inputs: Inputs) -> dict[str, Any]:
        if not is_known(inputs.settings) or not is_known(inputs.volume_url) or not is_known(inputs.path):
            return {"effect": f"serves an SMB share on {inputs.host} once its inputs are known", "changes": None}
        if inputs.state == "absent":
            share = check_share(_setting(inputs.settings, "share").strip("/"))
            there = (SmbShares(ctx.runtime).root(share) / "smb.conf").exists()
            return {"effect": f"stop share {share} on {inputs.host}" if there else f"nothing: {share} is not served",
                    "changes": there}
        spec = self._spec(ctx, inputs)
        differs = SmbShares(ctx.runtime).differs(spec)
        what = f"//{spec.address}/{spec.share} port {spec.port} serving {spec.path} to {spec.login}"
        return {"effect": f"serve {what} (smbd under the launcher)" if differs else f"nothing: {what} already",
                "changes": differs,
                "outputs": {"address": f"{spec.address}:{spec.port}", "share": spec.share,
                            "unc": f"//{spec.address}/{spec.share}", "path": str(spec.path), "changed": differs}}


class CheckShare(Brick):
    """Check a network share from a host: write a small file through it, read it back,
    compare, delete it (smbclient, SMB3), and list the share. Fails naming the step and
    smbclient's answer (a wrong password shows as NT_STATUS_LOGON_FAILURE)."""

    id = "check.share"
    on_repeat = ''
    title = "Check share"
    category = "network"
    icon = "check2-square"

    class Inputs(Ports):
        host: HostRef = Field(description="The host to check from (a client of the share)")
        settings: dict[str, Any] = Field(description=SETTINGS_HELP)
        password: Secret = Field(description="The login's password")

    class Outputs(Ports):
        ok: bool
        round_trip_ms: float = Field(description="Write + read back + delete, in milliseconds")
        entries: int = Field(description="Entries listed at the share's top (the test file gone)")

    def run(self, ctx: Context, inputs: Inputs) -> Outputs:
        if ctx.runtime.name != inputs.host:
            raise BrickFailed(f"this brick is for host {inputs.host!r} but runs on {ctx.runtime.name!r}")
        s = inputs.settings
        address, share, login = _setting(s, "address"), _setting(s, "share").strip("/"), _setting(s, "login")
        token, name = secrets.token_hex(16), f".nebhx-check-{secrets.token_hex(4)}"
        cmds = f"put {name}.out {name}; get {name} {name}.in; del {name}"
        pw = inputs.password.get_secret_value()
        t0 = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="nebhx-check-share-") as raw:
            tmp = Path(raw)
            (tmp / f"{name}.out").write_text(token)
            smbclient(ctx, address, share, login, pw, f"lcd {tmp}; {cmds}", domain=str(s.get("domain") or ""))
            back = (tmp / f"{name}.in").read_text() if (tmp / f"{name}.in").exists() else None
        elapsed = (time.monotonic() - t0) * 1000
        if back != token:
            raise BrickFailed(f"//{address}/{share}: the file written as {login} read back "
                              f"{'nothing' if back is None else 'different content'}")
        listing = smbclient(ctx, address, share, login, pw, "ls", domain=str(s.get("domain") or ""))
        entries = [line for line in listing.splitlines() if line.startswith("  ") and line.split()[0] not in (".", "..")]
        if any(name in line for line in entries):
            raise BrickFailed(f"//{address}/{share}: the test file {name} is still listed after deleting it")
        ctx.log("share //%s/%s as %s: wrote, read back and deleted a file in %.0f ms; %d entries",
                address, share, login, elapsed, len(entries))
        return self.Outputs(ok=True, round_trip_ms=round(elapsed, 1), entries=len(entries))

    def plan(self, ctx: Context, inputs: Inputs) -> dict[str, Any]:
        if not is_known(inputs.settings):
            return {"effect": f"checks a share from {inputs.host} once its settings are known", "changes": False}
        where = f"//{inputs.settings.get('address')}/{inputs.settings.get('share')}"
        return {"effect": f"write, read back and delete a test file on {where} from {inputs.host}",
                "changes": False}

