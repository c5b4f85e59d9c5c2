"""Overlay networks with iproute2: a bridge and a VXLAN link per host, joined by VNI.

Put `net.vxlan` on every host with the same `vni` and all hosts' underlay addresses as
`remotes` (a host leaves its own out): frames flood to every remote (head-end replication,
no multicast needed), so hosts on the overlay reach each other at the addresses
`net.allocate` handed out, given either to the VXLAN link itself (`cidr`) or to a bridge
(`net.bridge`) the link joins, where containers or namespaces can attach too.
"""
from __future__ import annotations

import ipaddress
from typing import Any, Literal

from pydantic import Field

from nebhx import Address, Brick, BrickFailed, Context, HostRef, Ports
from nebhx.bricks.base import is_known
from nebhx.runtime import netlinks

State = Literal["present", "absent"]
LINK = dict(min_length=1, max_length=15, pattern=r"^[A-Za-z0-9_.-]+$")


def _on_host(ctx: Context, host: str) -> None:
    if ctx.runtime.name != host:
        raise BrickFailed(f"this brick is for host {host!r} but runs on {ctx.runtime.name!r}")


def _ip(value: str, param: str) -> str:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise BrickFailed(f"{param}: {value!r} is not an IP address") from None


def _plan(what: str, changes: netlinks.Changes, outputs: dict[str, Any]) -> dict[str, Any]:
    if not changes:
        return {"effect": f"nothing: {what} is as asked", "changes": False, "outputs": {**outputs, "changed": False}}
    return {"effect": f"{what}: " + "; ".join(changes.steps), "changes": True,
            "outputs": {**outputs, "changed": True}, "steps": changes.steps}


class Bridge(Brick):
    """A Linux bridge on a host, up, optionally with an address (`cidr`, e.g. from
    `net.allocate`). `net.vxlan` links join it with their `bridge` input.

    `state: absent` deletes it (the teardown). A link of that name that is not a bridge is
    never touched: the node fails naming it.
    """

    id = "net.bridge"
    on_repeat = ''
    title = "Bridge"
    category = "network"
    icon = "bezier2"

    class Inputs(Ports):
        host: HostRef = Field(description="The host to make the bridge on")
        name: str = Field(description="Bridge name, at most 15 characters, e.g. 'br-overlay'", **LINK)
        cidr: str = Field(default="", description="Its address with prefix, e.g. 10.250.0.3/24 (net.allocate's cidr)")
        mtu: int | None = Field(default=None, ge=576, le=65535, description="MTU (default: the kernel's)")
        state: State = Field(default="present", description="absent: delete the bridge")

    class Outputs(Ports):
        bridge: str = Field(description="The bridge's name, for net.vxlan's bridge")
        address: str = Field(description="Its address without prefix, or ''")
        changed: bool

    def _converge(self, ctx: Context, inputs: Inputs, apply: bool) -> netlinks.Changes:
        _on_host(ctx, inputs.host)
        if inputs.state == "absent":
            return netlinks.remove(ctx, inputs.name, "bridge", apply=apply)
        cidr = netlinks.check_cidr(inputs.cidr) if inputs.cidr else ""
        return netlinks.ensure_bridge(ctx, inputs.name, cidr=cidr, mtu=inputs.mtu, apply=apply)

    def _outputs(self, inputs: Inputs) -> dict[str, Any]:
        gone = inputs.state == "absent"
        return {"bridge": "" if gone else inputs.name,
                "address": "" if gone or not inputs.cidr else inputs.cidr.split("/")[0]}

    def run(self, ctx: Context, inputs: Inputs) -> Outputs:
        changes = self._converge(ctx, inputs, apply=True)
        ctx.log("bridge %s: %s", inputs.name, "; ".join(changes.steps) or "as asked already")
        return self.Outputs(**self._outputs(inputs), changed=bool(changes))

    def plan(self, ctx: Context, inputs: Inputs) -> dict[str, Any]:
        if not is_known(inputs):
            return {"effect": f"makes bridge {inputs.name} once its inputs are known", "changes": None}
        return _plan(f"bridge {inputs.name} on {inputs.host}", self._converge(ctx, inputs, apply=False),
                     self._outputs(inputs))


class Vxlan(Brick):
    """A VXLAN link on a host: layer 2 over UDP (`port`, 4789) to the other hosts' underlay
    addresses (`remotes`; this host's own `local` may be in the list: it is left out).

    Unknown and broadcast frames go to every remote (static flood entries, `bridge fdb`),
    so no multicast is needed on the underlay. Give the link an overlay address (`cidr`,
    from `net.allocate`) or attach it to a bridge (`bridge`, from `net.bridge`) that has
    one. The MTU defaults to 1450 (1500 less VXLAN's 50 bytes). A link whose VNI, port or
    local address differs is made again; `state: absent` deletes it.
    """

    id = "net.vxlan"
    on_repeat = ''
    title = "VXLAN link"
    category = "network"
    icon = "share"

    class Inputs(Ports):
        host: HostRef = Field(description="The host to make the link on")
        vni: int = Field(ge=1, le=16777215, description="VXLAN network identifier, the same on every host")
        local: Address = Field(default="", description="This host's underlay address (default: its agent's address)")
        remotes: list[Address] = Field(default_factory=list, description="Every host's underlay address")
        name: str = Field(default="", description="Link name (default vx<vni>)", max_length=15,
                          pattern=r"^[A-Za-z0-9_.-]*$")
        port: int = Field(default=4789, ge=1, le=65535, description="UDP port")
        dev: str = Field(default="", max_length=15, pattern=r"^[A-Za-z0-9_.-]*$",
                         description="Underlay device (default: routed by `local`)")
        cidr: str = Field(default="", description="Overlay address with prefix, e.g. 10.250.0.3/24")
        bridge: str = Field(default="", max_length=15, pattern=r"^[A-Za-z0-9_.-]*$",
                            description="Join this bridge (net.bridge) instead of taking `cidr` itself")
        mtu: int = Field(default=1450, ge=576, le=65535)
        state: State = Field(default="present", description="absent: delete the link")

    class Outputs(Ports):
        link: str
        vni: int
        address: str = Field(description="The overlay address without prefix, or ''")
        remotes: list[Address] = Field(description="The remotes the link floods to")
        changed: bool

    def _spec(self, ctx: Context, inputs: Inputs) -> netlinks.Vxlan:
        local = _ip(inputs.local or ctx.runtime.address, "local")
        remotes = sorted({_ip(r, "remotes") for r in inputs.remotes} - {local})
        if inputs.cidr and inputs.bridge:
            raise BrickFailed("cidr and bridge: give the address to the bridge (net.bridge), not to a link on it")
        cidr = netlinks.check_cidr(inputs.cidr) if inputs.cidr else ""
        return netlinks.Vxlan(name=inputs.name or f"vx{inputs.vni}", vni=inputs.vni, local=local, remotes=remotes,
                              port=inputs.port, dev=inputs.dev, cidr=cidr, bridge=inputs.bridge, mtu=inputs.mtu)

    def _converge(self, ctx: Context, inputs: Inputs, apply: bool) -> tuple[netlinks.Vxlan, netlinks.Changes]:
        _on_host(ctx, inputs.host)
        vx = self._spec(ctx, inputs)
        if inputs.state == "absent":
            return vx, netlinks.remove(ctx, vx.name, "vxlan", apply=apply)
        return vx, netlinks.ensure_vxlan(ctx, vx, apply=apply)

    def _outputs(self, vx: netlinks.Vxlan, state: str) -> dict[str, Any]:
        gone = state == "absent"
        return {"link": "" if gone else vx.name, "vni": vx.vni, "remotes": [] if gone else vx.remotes,
                "address": "" if gone or not vx.cidr else vx.cidr.split("/")[0]}

    def run(self, ctx: Context, inputs: Inputs) -> Outputs:
        vx, changes = self._converge(ctx, inputs, apply=True)
        ctx.log("vxlan %s (vni %d) to %s: %s", vx.name, vx.vni, ", ".join(vx.remotes) or "no remote",
                "; ".join(changes.steps) or "as asked already")
        return self.Outputs(**self._outputs(vx, inputs.state), changed=bool(changes))

    def plan(self, ctx: Context, inputs: Inputs) -> dict[str, Any]:
        if not is_known(inputs):
            return {"effect": f"makes VXLAN vni {inputs.vni} on {inputs.host} once its inputs are known",
                    "changes": None}
        vx, changes = self._converge(ctx, inputs, apply=False)
        return _plan(f"vxlan {vx.name} (vni {vx.vni}) on {inputs.host}", changes, self._outputs(vx, inputs.state))
