"""Network shares served by Samba's smbd in user space, one smbd per share, under the
host's launcher (supervisord), everything of it in ``<home>/shares/<name>/``.

The password never appears in a file we write, a command line or a log: it reaches Samba's
password database through ``smbpasswd -s`` on standard input. The database (NT hashes)
sits in the share's ``private`` folder, mode 700. Clients use ``smbclient`` with an
authentication file (mode 600, removed after) for the same reason.
"""
from __future__ import annotations

import ipaddress
import os
import pwd
import re
import shutil
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from nebhx.bricks.errors import BrickFailed
from nebhx.runtime.accounts import ensure_user
from nebhx.runtime.probes import tcp_probe, wait_until
from nebhx.runtime.shell import run
from nebhx.sealing.masking import excerpt

if TYPE_CHECKING:
    from nebhx.bricks.base import Context
    from nebhx.runtime import HostRuntime

SHARE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$")
LOGIN_RE = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")  # a Unix account name useradd accepts
RESERVED = {"global", "homes", "printers", "print$", "ipc$"}
DIRS = ("private", "lock", "state", "cache", "run", "ncalrpc")


def check_share(name: str) -> str:
    if not SHARE_RE.match(name or "") or name.lower() in RESERVED:
        raise BrickFailed(f"share: {name!r} is not a share name (letters, digits, '_', '.', '-'; "
                          f"not {', '.join(sorted(RESERVED))})")
    return name


def check_login(login: str) -> str:
    if not LOGIN_RE.match(login or ""):
        raise BrickFailed(f"login: {login!r} must be a Unix account name (lower case letters, digits, "
                          "'_', '-', at most 32, not starting with a digit)")
    if login == "root":
        raise BrickFailed("login: root is refused; a share's login is an account of its own")
    return login


def split(address: str, default_port: int = 445) -> tuple[str, int]:
    """``host[:port]`` (``[v6]:port`` too) as (host, port)."""
    host, port = address, default_port
    if address.startswith("["):
        host, _, rest = address[1:].partition("]")
        port = int(rest[1:]) if rest.startswith(":") else default_port
    elif address.count(":") == 1:
        host, raw = address.split(":")
        if not raw.isdigit() or not 0 < int(raw) < 65536:
            raise BrickFailed(f"address: {address!r} has no valid port")
        port = int(raw)
    return host, port


def bind_ip(host: str) -> str:
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        try:
            return socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)[0][4][0]
        except OSError as exc:
            raise BrickFailed(f"address: cannot resolve {host!r}: {exc}") from None


@dataclass
class SmbSpec:
    share: str
    path: Path
    address: str  # ip to bind
    port: int
    login: str
    force_user: str
    read_only: bool = False


def render(spec: SmbSpec, root: Path) -> str:
    """smb.conf of one share: a standalone server bound to one address and port, no
    NetBIOS, no printers, no guest; every state folder inside ``root``."""
    glob = {"server role": "standalone server", "smb ports": spec.port, "interfaces": spec.address,
            "bind interfaces only": "yes", "disable netbios": "yes", "map to guest": "never",
            "server min protocol": "SMB2_10", "load printers": "no", "printcap name": "/dev/null",
            "disable spoolss": "yes", "usershare path": "", "log file": root / "smbd.log",
            "max log size": 1000, "passdb backend": f"tdbsam:{root / 'private' / 'passdb.tdb'}",
            "binddns dir": root / "private", "pid directory": root / "run",
            **{f"{d} directory" if d in ("lock", "state", "cache") else f"{d} dir": root / d
               for d in ("private", "lock", "state", "cache", "ncalrpc")}}
    share = {"path": spec.path, "read only": "yes" if spec.read_only else "no",
             "valid users": spec.login, "force user": spec.force_user, "wide links": "no",
             "follow symlinks": "no"}
    for key, value in {**glob, **share}.items():  # a line break would start a section of its own
        if any(c in str(value) for c in "\n\r\0"):
            raise BrickFailed(f"{key}: {str(value)!r} holds a line break; smb.conf cannot take it")
    lines = ["[global]", *(f"  {k} = {v}" for k, v in glob.items()), f"[{spec.share}]",
             *(f"  {k} = {v}" for k, v in share.items())]
    return "\n".join(lines) + "\n"


class SmbShares:
    """The smbd shares of one host."""

    def __init__(self, runtime: HostRuntime):
        self.runtime = runtime

    def root(self, share: str) -> Path:
        return self.runtime.confine(self.runtime.home / "shares" / check_share(share), param="share")

    @staticmethod
    def program(share: str) -> str:
        return f"smb-{share}"

    def differs(self, spec: SmbSpec) -> bool:
        conf = self.root(spec.share) / "smb.conf"
        sup = self.runtime.supervisor
        return (not conf.exists() or conf.read_text() != render(spec, conf.parent)
                or not sup.ping() or sup.status(self.program(spec.share)) is None)

    def ensure(self, ctx: Context | None, spec: SmbSpec, password: str) -> bool:
        """Serve the share as ``spec`` says with ``password`` for its login; True when the
        configuration changed (smbd then restarts). Waits until smbd accepts connections."""
        if shutil.which("smbd") is None or shutil.which("smbpasswd") is None:
            raise BrickFailed("smbd is not installed on this host: apt-get install -y samba")
        if os.geteuid() != 0:
            raise BrickFailed("share.smb needs an agent running as root: smbd serves each login "
                              "as its own account")
        root = self.root(spec.share)
        for d in ("", *DIRS):
            (root / d).mkdir(mode=0o700, parents=True, exist_ok=True)
        conf, text = root / "smb.conf", render(spec, root)
        changed = not conf.exists() or conf.read_text() != text
        if changed:
            conf.with_suffix(".tmp").write_text(text)
            conf.with_suffix(".tmp").replace(conf)
        ensure_user(spec.login)
        run(["smbpasswd", "-c", str(conf), "-a", "-s", spec.login], ctx=ctx, timeout=60,
            input=f"{password}\n{password}\n")
        sup, name = self.runtime.supervisor, self.program(spec.share)
        command = f"{shutil.which('smbd')} --foreground --no-process-group --debug-stdout --configfile={conf}"
        added = sup.ensure_program(name, command, start_secs=1)
        if changed and not added:
            sup.restart(name)
        where = f"{spec.address}:{spec.port}" if ":" not in spec.address else f"[{spec.address}]:{spec.port}"
        res = wait_until(lambda: tcp_probe(where, timeout=1), 20, 0.1, ctx=ctx)
        if not res.ok:
            raise BrickFailed(f"smbd for share {spec.share} does not accept connections at {where}: "
                              f"{res.error}; its log: {sup.tail(name, 'stdout', 1000)}")
        return changed or added

    def remove(self, ctx: Context | None, share: str) -> bool:
        """Stop the share's smbd and remove its folder (never the data it served)."""
        root = self.root(share)
        had = self.runtime.supervisor.remove(self.program(share)) if self.runtime.supervisor.ping() else False
        if root.exists():
            shutil.rmtree(root)
            had = True
        return had


def path_owner(path: Path) -> str:
    try:
        return pwd.getpwuid(path.stat().st_uid).pw_name
    except (KeyError, OSError) as exc:
        raise BrickFailed(f"path: cannot tell who owns {path}: {exc}") from None


def smbclient(ctx: Context | None, address: str, share: str, login: str, password: str,
              commands: str, *, domain: str = "", timeout: float = 60) -> str:
    """Run smbclient ``commands`` on ``//address/share``; its output. The credentials go in
    an authentication file (mode 600, removed after), never on the command line."""
    host, port = split(address)
    with tempfile.TemporaryDirectory(prefix="nebhx-smb-") as tmp:
        auth = Path(tmp) / "auth"
        fd = os.open(auth, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(f"username={login}\npassword={password}\n" + (f"domain={domain}\n" if domain else ""))
        proc = run(["smbclient", f"//{host}/{share}", "-p", str(port), "-A", str(auth), "-m", "SMB3",
                    "-c", commands], ctx=ctx, timeout=timeout, check=False, cwd=tmp)
    if proc.returncode != 0:
        detail = excerpt(proc.stdout + proc.stderr, 1000, ctx.mask if ctx else None)
        raise BrickFailed(f"smbclient //{host}/{share} port {port} as {login} failed "
                          f"(exit {proc.returncode}): {detail}")
    return proc.stdout
