"""Host groups: pick hosts by their labels, split them for a canary."""
from __future__ import annotations

from typing import Any

from pydantic import Field

from nebhx import Address, BrickFailed, Context, HostRef, Ports
from nebhx.bricks.base import Brick, is_known
from nebhx.bricks.inventory import HostInfo, SelectorError
from nebhx_blocks.core.glue import Split

SHOWN = 10  # hosts named in a message before "and N more"


def _names(hosts: list[HostInfo], *, detail: bool = False) -> str:
    hosts = sorted(hosts, key=lambda h: h.name)
    words = [h.shown() if detail else h.name for h in hosts[:SHOWN]]
    more = f" and {len(hosts) - SHOWN} more" if len(hosts) > SHOWN else ""
    return (", ".join(words) or "none") + more


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


class Select(Brick):
    """Pick the hosts whose labels match a selector (`nebhx agent --label role=web`, or
    set by an admin with `nebhx hosts label HOST role=web`: an admin's value wins).

    `selector` is a comma-separated list of terms that must all hold: `role=web`,
    `zone!=b`, `zone in (a,b)`, `zone notin (c)`, `canary` (the label is set) and
    `!canary` (it is not); `name` matches the host's own name. An empty selector picks
    every host. With `only_up` (the default) a host whose agent stopped heartbeating is
    left out.

    `hosts` is sorted by name. The run records which hosts were picked: they are this
    node's outputs, kept with the run (and its log names them). A selection that is empty
    fails the node, naming the selector and the hosts known; so does a selector that does
    not parse.
    """

    id = "hosts.select"
    on_repeat = 'picks the hosts that match now, which may differ from the first time'
    title = "Select hosts"
    category = "hosts"
    icon = "hdd-network"

    class Inputs(Ports):
        selector: str = Field(default="", max_length=2000,
                              description="Labels to match, e.g. 'role=web,zone in (a,b)'")
        only_up: bool = Field(default=True, description="Leave out hosts that are down")

    class Outputs(Ports):
        hosts: list[HostRef] = Field(description="The hosts picked, sorted by name")
        addresses: list[Address] = Field(default_factory=list,
                                         description="Their agents' addresses, in the same order (e.g. net.vxlan's remotes)")
        count: int

    def pick(self, ctx: Context, inputs: Inputs) -> list[HostInfo]:
        try:
            picked = ctx.inventory.select(inputs.selector, only_up=inputs.only_up)
        except SelectorError as exc:
            raise BrickFailed(str(exc)) from None
        if not picked:
            which = "that is up" if inputs.only_up else "at all"
            raise BrickFailed(f"selector {inputs.selector or '(empty)'} matches no host {which}; hosts "
                              f"known: {_names(ctx.inventory.hosts(), detail=True)}")
        return picked

    def run(self, ctx: Context, inputs: Inputs) -> Outputs:
        picked = self.pick(ctx, inputs)
        ctx.log("selector %s picked %s: %s", inputs.selector or "(empty)", _count(len(picked), "host"),
                ", ".join(h.name for h in picked))
        return self.Outputs(hosts=[h.name for h in picked], addresses=[h.address for h in picked],
                            count=len(picked))

    def plan(self, ctx: Context, inputs: Inputs) -> dict[str, Any]:
        # Picking only reads the inventory: no host changes. A BrickFailed is "would fail".
        if not is_known(inputs.selector):
            return {"effect": f"picks the hosts matching {inputs.selector} (known at run time)", "changes": False}
        picked = self.pick(ctx, inputs)
        return {"effect": f"would pick {_count(len(picked), 'host')} now: {_names(picked)}", "changes": False,
                "outputs": {"hosts": [h.name for h in picked], "addresses": [h.address for h in picked],
                            "count": len(picked)}}


class HostSplit(Split):
    """Split a list of hosts in two: the first ones (`head`, e.g. a canary) and the rest.

    `first` is a count or a percentage ("10%"), rounded up and at least 1 when there are
    hosts. The ports are typed `HostRef[]`, so `head` and `rest` wire into a host brick's
    `for_each` input as hosts, not as any list.
    """

    id = "hosts.split"
    title = "Split hosts"
    category = "hosts"

    class Inputs(Split.Inputs):
        items: list[HostRef] = Field(description="The hosts to split, e.g. from hosts.select")

    class Outputs(Ports):
        head: list[HostRef]
        rest: list[HostRef]
