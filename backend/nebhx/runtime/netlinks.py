"""Bridges and VXLAN links on this host with iproute2 (`ip`, `bridge`), made to converge.

Each ``ensure_*`` reads the link's state (``ip -j -d link``), changes only what differs and
says whether it changed anything; each ``plan_*`` says what it would change, changing
nothing. A link of another kind under the same name is never touched: the host's own
interfaces cannot be clobbered by a graph that picked a name already in use.
"""
from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nebhx.bricks.errors import BrickFailed
from nebhx.runtime.shell import run

if TYPE_CHECKING:
    from nebhx.bricks.base import Context

LINK_RE = re.compile(r"^[A-Za-z0-9_.-]{1,15}$")  # IFNAMSIZ: at most 15 characters
ANY_MAC = "00:00:00:00:00:00"  # an fdb entry for it floods unknown and broadcast frames to dst


def check_link(name: str, *, param: str = "name") -> str:
    if not LINK_RE.match(name or ""):
        raise BrickFailed(f"{param}: {name!r} is not a link name (1 to 15 letters, digits, '_', '.', '-')")
    return name


def check_cidr(cidr: str, *, param: str = "cidr") -> str:
    """``cidr`` as an interface address with its prefix (10.250.0.3/24)."""
    try:
        iface = ipaddress.ip_interface(cidr)
    except ValueError:
        raise BrickFailed(f"{param}: {cidr!r} is not an address with a prefix, e.g. 10.250.0.3/24") from None
    if "/" not in cidr:
        raise BrickFailed(f"{param}: {cidr!r} needs its prefix length, e.g. {cidr}/24")
    return str(iface)


def link(name: str) -> dict[str, Any] | None:
    """The link's details (``ip -j -d link show``), or None when there is none."""
    proc = run(["ip", "-j", "-d", "addr", "show", "dev", check_link(name)], check=False, timeout=30)
    if proc.returncode != 0:
        if "does not exist" in proc.stderr or "Cannot find" in proc.stderr:
            return None
        raise BrickFailed(f"ip addr show dev {name}: {proc.stderr.strip()}")
    links = json.loads(proc.stdout or "[]")
    return links[0] if links else None


def kind(info: dict[str, Any]) -> str:
    return (info.get("linkinfo") or {}).get("info_kind", "")


def addresses(info: dict[str, Any]) -> list[str]:
    return [f"{a['local']}/{a['prefixlen']}" for a in info.get("addr_info", [])
            if a.get("family") in ("inet", "inet6") and a.get("scope") != "link"]


def _own(info: dict[str, Any] | None, name: str, want: str) -> None:
    if info is not None and kind(info) != want:
        raise BrickFailed(f"link {name} exists and is a {kind(info) or 'physical/other'} link, not a "
                          f"{want}: pick another name (an existing interface is never changed)")


@dataclass
class Changes:
    """What converging a link did (or, in a plan, would do), one line per step."""
    steps: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.steps)


def _do(ctx: Context | None, changes: Changes, apply: bool, what: str, cmd: list[str]) -> None:
    changes.steps.append(what)
    if apply:
        run(cmd, ctx=ctx, timeout=30)


def _converge_common(ctx, name, info, changes, apply, *, cidr, mtu, master=None) -> None:
    if mtu and (info is None or info.get("mtu") != mtu):
        _do(ctx, changes, apply, f"set mtu {mtu}", ["ip", "link", "set", name, "mtu", str(mtu)])
    if master and (info is None or info.get("master") != master):
        _do(ctx, changes, apply, f"attach to bridge {master}", ["ip", "link", "set", name, "master", master])
    if cidr and (info is None or cidr not in addresses(info)):
        _do(ctx, changes, apply, f"add address {cidr}", ["ip", "addr", "add", cidr, "dev", name])
    if info is None or "UP" not in info.get("flags", []):
        _do(ctx, changes, apply, "bring up", ["ip", "link", "set", name, "up"])


def ensure_bridge(ctx: Context | None, name: str, *, cidr: str = "", mtu: int | None = None,
                  apply: bool = True) -> Changes:
    """A bridge ``name`` that is up, with ``cidr`` among its addresses."""
    info = link(name)
    _own(info, name, "bridge")
    changes = Changes()
    if info is None:
        _do(ctx, changes, apply, f"create bridge {name}", ["ip", "link", "add", name, "type", "bridge"])
    _converge_common(ctx, name, info, changes, apply, cidr=cidr, mtu=mtu)
    return changes


@dataclass
class Vxlan:
    name: str
    vni: int
    local: str
    remotes: list[str]
    port: int = 4789
    dev: str = ""
    cidr: str = ""
    bridge: str = ""
    mtu: int | None = 1450  # the 1500 of the underlay less VXLAN's 50 bytes of headers

    def add_cmd(self) -> list[str]:
        cmd = ["ip", "link", "add", self.name, "type", "vxlan", "id", str(self.vni),
               "dstport", str(self.port), "local", self.local, "nolearning"]
        return cmd + (["dev", self.dev] if self.dev else [])

    def differs(self, info: dict[str, Any]) -> str:
        """Why the existing link is not this one ('' when it is)."""
        data = (info.get("linkinfo") or {}).get("info_data") or {}
        for key, want in (("id", self.vni), ("port", self.port), ("local", self.local)):
            if data.get(key) != want:
                return f"its {key} is {data.get(key)}, not {want}"
        return ""


def fdb_remotes(name: str) -> set[str]:
    out = run(["bridge", "-j", "fdb", "show", "dev", name], timeout=30).stdout
    return {e["dst"] for e in json.loads(out or "[]") if e.get("mac") == ANY_MAC and e.get("dst")}


def ensure_vxlan(ctx: Context | None, vx: Vxlan, *, apply: bool = True) -> Changes:
    """A VXLAN link with exactly ``vx.remotes`` as flood destinations, up, on its bridge
    or with its address. A link with another VNI, port or local address is made again."""
    info = link(check_link(vx.name))
    _own(info, vx.name, "vxlan")
    changes = Changes()
    why = vx.differs(info) if info is not None else ""
    if why:
        _do(ctx, changes, apply, f"replace {vx.name} ({why})", ["ip", "link", "del", vx.name])
        info = None
    if info is None:
        _do(ctx, changes, apply, f"create vxlan {vx.name} vni {vx.vni} port {vx.port} local {vx.local}",
            vx.add_cmd())
    have = fdb_remotes(vx.name) if info is not None else set()
    for dst in sorted(set(vx.remotes) - have):
        _do(ctx, changes, apply, f"add remote {dst}",
            ["bridge", "fdb", "append", ANY_MAC, "dev", vx.name, "dst", dst])
    for dst in sorted(have - set(vx.remotes)):
        _do(ctx, changes, apply, f"drop remote {dst}", ["bridge", "fdb", "del", ANY_MAC, "dev", vx.name, "dst", dst])
    _converge_common(ctx, vx.name, info, changes, apply, cidr=vx.cidr, mtu=vx.mtu, master=vx.bridge)
    return changes


def remove(ctx: Context | None, name: str, want: str, *, apply: bool = True) -> Changes:
    """Delete the link ``name`` of kind ``want`` (``bridge``, ``vxlan``); nothing when absent."""
    info = link(check_link(name))
    _own(info, name, want)
    changes = Changes()
    if info is not None:
        _do(ctx, changes, apply, f"delete {want} {name}", ["ip", "link", "del", name])
    return changes
