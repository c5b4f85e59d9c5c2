"""Address pools (IPAM): declare a CIDR pool, allocate an address per owner, release it.

These run on the control plane (they keep their state in the store, not on a host, and
reach it through ``ctx.pools``): the address a run allocated is the owner's until
`net.release` (or deleting the pool) frees it. ``ctx.pools`` refuses with ValueError, and
with LookupError (a ValueError too) when a pool is not declared.
"""
from __future__ import annotations

from typing import Any

from pydantic import Field

from nebhx import Address, Brick, BrickFailed, Context, Ports
from nebhx.bricks.base import is_known

OWNER_HELP = "Who holds the address, e.g. 'h1/web' or 'overlay/h2': the same owner always gets the same address"


def _endpoint(address: str, port: int | None) -> str:
    if port is None:
        return address
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


class Pool(Brick):
    """Declare an address pool: a CIDR (IPv4, or IPv6 of /96 or smaller) whose addresses
    `net.allocate` hands out, one per owner, never the same address twice.

    The network and broadcast addresses are never handed out, nor those in `reserved` (a
    gateway, say). Running it again with the same settings changes nothing; changing the
    CIDR is refused while an allocation would fall outside it.
    """

    id = "net.pool"
    on_repeat = ''
    title = "Address pool"
    category = "network"
    icon = "diagram-3"

    class Inputs(Ports):
        name: str = Field(description="Pool name, e.g. 'overlay'", min_length=1, max_length=100,
                          pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
        cidr: str = Field(description="The pool's network, e.g. 10.250.0.0/24", max_length=64)
        reserved: list[Address] = Field(default_factory=list, description="Addresses never handed out")
        description: str = Field(default="", max_length=500)

    class Outputs(Ports):
        pool: str = Field(description="The pool name, for net.allocate")
        cidr: str
        size: int = Field(description="How many addresses it can hand out")
        free: int = Field(description="How many are free now")
        changed: bool

    def run(self, ctx: Context, inputs: Inputs) -> Outputs:
        try:
            view, changed = ctx.pools.declare(name=inputs.name, cidr=inputs.cidr, reserved=list(inputs.reserved),
                                              description=inputs.description)
        except ValueError as exc:
            raise BrickFailed(str(exc)) from None
        ctx.log("pool %s (%s): %d addresses, %d free%s", view["name"], view["cidr"], view["size"],
                view["free"], "" if changed else "; unchanged")
        return self.Outputs(pool=view["name"], cidr=view["cidr"], size=view["size"], free=view["free"],
                            changed=changed)

    def plan(self, ctx: Context, inputs: Inputs) -> dict[str, Any]:
        if not is_known(inputs):
            return {"effect": "declares an address pool once its inputs are known", "changes": None}
        net = ctx.pools.network(inputs.cidr)
        try:
            view = ctx.pools.view(inputs.name)
        except LookupError:
            return {"effect": f"create address pool {inputs.name} ({net})", "changes": True,
                    "outputs": {"pool": inputs.name, "cidr": net, "changed": True},
                    "sets": {"pools": {inputs.name: net}}}
        same = view["cidr"] == net
        return {"effect": f"nothing: pool {inputs.name} is there ({view['cidr']}, {view['free']} free)"
                if same else f"change pool {inputs.name} from {view['cidr']} to {net}",
                "changes": None if same else True, "outputs": {"pool": inputs.name, "cidr": net},
                "sets": {"pools": {inputs.name: net}}}


class Allocate(Brick):
    """Allocate an address from a pool for an owner (the lowest free one).

    The same owner always gets the address it already holds, so running the node again
    changes nothing. Concurrent runs never get the same address: the store refuses a second
    holder of an address. A pool with no free address fails the node, naming the pool.
    Wire `cidr` (e.g. 10.250.0.3/24) into `net.bridge` or `net.vxlan`, `address` into a
    service's settings.
    """

    id = "net.allocate"
    on_repeat = ''
    title = "Allocate address"
    category = "network"
    icon = "123"

    class Inputs(Ports):
        pool: str = Field(description="The pool, from net.pool", min_length=1, max_length=100)
        owner: str = Field(description=OWNER_HELP, min_length=1, max_length=300)
        port: int | None = Field(default=None, ge=1, le=65535,
                                 description="A port to append for `endpoint` (a service's ip:port)")

    class Outputs(Ports):
        address: Address = Field(description="The address, e.g. 10.250.0.3")
        endpoint: Address = Field(description="address:port when `port` is set, else the address")
        cidr: str = Field(description="The address with the pool's prefix length, e.g. 10.250.0.3/24")
        prefixlen: int
        changed: bool = Field(description="True when it was allocated by this run")

    def run(self, ctx: Context, inputs: Inputs) -> Outputs:
        try:
            got, new = ctx.pools.allocate(pool=inputs.pool, owner=inputs.owner, run_id=ctx.run_id)
        except ValueError as exc:
            raise BrickFailed(str(exc)) from None
        ctx.log("%s %s from pool %s for %s", "allocated" if new else "already held", got["cidr"],
                inputs.pool, inputs.owner)
        return self.Outputs(address=got["address"], endpoint=_endpoint(got["address"], inputs.port),
                            cidr=got["cidr"], prefixlen=got["prefixlen"], changed=new)

    def plan(self, ctx: Context, inputs: Inputs) -> dict[str, Any]:
        if not is_known(inputs):
            return {"effect": f"allocates an address from pool {inputs.pool} for {inputs.owner}", "changes": None}
        what = f"allocate an address from pool {inputs.pool} for {inputs.owner}"
        sets = {"allocations": {inputs.pool: {inputs.owner: True}}}
        if ctx.planned is not None and ctx.planned.get("allocations", inputs.pool, inputs.owner):
            return {"effect": f"nothing: a node before this one allocates for {inputs.owner}", "changes": False,
                    "outputs": {"changed": False}, "sets": sets}
        try:
            held = [a for a in ctx.pools.allocations(inputs.pool) if a["owner"] == inputs.owner]
            free = ctx.pools.view(inputs.pool)["free"]
        except LookupError:  # an upstream net.pool makes it (or the run fails saying so)
            made = ctx.planned is not None and ctx.planned.get("pools", inputs.pool)
            return {"effect": f"{what} (a new pool)" if made else f"{what} (no such pool yet)",
                    "changes": True, "outputs": {"changed": True}, "sets": sets}
        except ValueError as exc:
            raise BrickFailed(str(exc)) from None
        if held:
            a = held[0]
            return {"effect": f"nothing: {inputs.owner} holds {a['cidr']}", "changes": False,
                    "outputs": {"address": a["address"], "endpoint": _endpoint(a["address"], inputs.port),
                                "cidr": a["cidr"], "prefixlen": a["prefixlen"], "changed": False}}
        if free <= 0:
            raise BrickFailed(f"address pool {inputs.pool!r} is exhausted: no free address for {inputs.owner}")
        return {"effect": f"{what} ({free} free)", "changes": True, "outputs": {"changed": True}, "sets": sets}


class Release(Brick):
    """Release an owner's address back to its pool (the teardown of `net.allocate`).

    An owner that holds no address is not an error (`released` is empty): tearing down
    twice is safe.
    """

    id = "net.release"
    on_repeat = ''
    title = "Release address"
    category = "network"
    icon = "x-circle"

    class Inputs(Ports):
        pool: str = Field(description="The pool", min_length=1, max_length=100)
        owner: str = Field(description="The owner given to net.allocate", min_length=1, max_length=300)

    class Outputs(Ports):
        released: str = Field(description="The address freed, or '' when the owner held none")

    def run(self, ctx: Context, inputs: Inputs) -> Outputs:
        try:
            addr = ctx.pools.release(pool=inputs.pool, owner=inputs.owner)
        except ValueError as exc:
            raise BrickFailed(str(exc)) from None
        if addr:
            ctx.log("released %s of %s to pool %s", addr, inputs.owner, inputs.pool)
        else:
            ctx.log("%s held no address in pool %s: nothing to release", inputs.owner, inputs.pool)
        return self.Outputs(released=addr or "")

    def plan(self, ctx: Context, inputs: Inputs) -> dict[str, Any]:
        if not is_known(inputs):
            return {"effect": f"releases {inputs.owner}'s address in pool {inputs.pool}", "changes": None}
        try:
            held = [a for a in ctx.pools.allocations(inputs.pool) if a["owner"] == inputs.owner]
        except ValueError as exc:
            raise BrickFailed(str(exc)) from None
        if not held:
            return {"effect": f"nothing: {inputs.owner} holds no address in pool {inputs.pool}",
                    "changes": False, "outputs": {"released": ""}}
        return {"effect": f"release {held[0]['address']} of {inputs.owner} to pool {inputs.pool}",
                "changes": True, "outputs": {"released": held[0]["address"]}}
