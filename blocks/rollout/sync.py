"""Control bricks around a rollout: a barrier for a synchronous switch, its skew, a report."""
from __future__ import annotations

import time
from typing import Any

from pydantic import Field

from nebhx import Brick, BrickFailed, Context, HostRef, Ports
from nebhx.bricks.base import is_known
from nebhx.templating import render


class Barrier(Brick):
    """Fix the moment every host switches, once all hosts are prepared.

    Wire it after the **Prepare** fan-out (its `prepared` input takes prepare's
    `release_id` list; a failed host fails the barrier, so nothing switches) and give its
    `not_before` to a **Switch** fan-out without batch settings: every instance starts
    at once, does what comes before the switch (drain, snapshot), then waits until
    `not_before` and renames `current`. `delay_s` must cover the time the engine needs to
    hand an instance to every host (a fraction of a second on a LAN). Hosts' clocks
    must agree (NTP): the instances compare their own clock with this time.
    """

    id = "rollout.barrier"
    on_repeat = 'sets a new switch moment'
    title = "Rollout: barrier"
    category = "rollout"
    icon = "sign-stop"

    class Inputs(Ports):
        prepared: list[Any] = Field(default_factory=list,
                                    description="What the prepare fan-out made (one item per host)")
        delay_s: float = Field(default=2.0, ge=0, le=600,
                               description="Seconds from now until the switch moment")

    class Outputs(Ports):
        not_before: float = Field(description="Epoch seconds every switch waits for")
        hosts_prepared: int

    def run(self, ctx: Context, inputs: Inputs) -> Outputs:
        missing = [i for i, item in enumerate(inputs.prepared) if item is None]
        if missing:
            raise BrickFailed(f"items {missing} of the prepare fan-out did not succeed: no host switches")
        at = time.time() + inputs.delay_s
        ctx.log("%d hosts prepared; every switch waits until %.3f (in %.1f s)",
                len(inputs.prepared), at, inputs.delay_s)
        return self.Outputs(not_before=at, hosts_prepared=len(inputs.prepared))

    def plan(self, ctx: Context, inputs: Any) -> dict[str, Any]:
        return {"effect": f"a switch moment {getattr(inputs, 'delay_s', '?')} s after every host is prepared",
                "changes": False}


class Skew(Brick):
    """How far apart the hosts switched: max - min of the switch fan-out's `switched_at`."""

    id = "rollout.skew"
    on_repeat = ''
    title = "Rollout: switch skew"
    category = "rollout"
    icon = "stopwatch"

    class Inputs(Ports):
        hosts: list[HostRef] = Field(description="The hosts, in the switch fan-out's order")
        switched_at: list[float | None] = Field(description="The switch fan-out's switched_at")

    class Outputs(Ports):
        skew_ms: float = Field(description="Latest minus earliest switch, in milliseconds")
        switched_at: dict[str, float] = Field(description="Host -> when `current` was switched")
        first: HostRef
        last: HostRef

    def run(self, ctx: Context, inputs: Inputs) -> Outputs:
        if len(inputs.hosts) != len(inputs.switched_at) or not inputs.hosts:
            raise BrickFailed(f"{len(inputs.hosts)} hosts but {len(inputs.switched_at)} switch times")
        if any(t is None for t in inputs.switched_at):
            raise BrickFailed("a host did not switch: " + ", ".join(
                h for h, t in zip(inputs.hosts, inputs.switched_at) if t is None))
        at = dict(zip(inputs.hosts, inputs.switched_at))
        first, last = min(at, key=at.get), max(at, key=at.get)
        skew = round((at[last] - at[first]) * 1000, 3)
        ctx.log("%d hosts switched within %.1f ms (first %s, last %s)", len(at), skew, first, last)
        return self.Outputs(skew_ms=skew, switched_at=at, first=first, last=last)


class Report(Brick):
    """Render a report (e.g. an e-mail body) over a fan-out's lines and a host list.

    The template sees `hosts` (a list), `lines` (the items' `summary` outputs; an item
    that failed is left out, `failed` counts them) and `values` (anything else).
    """

    id = "rollout.report"
    on_repeat = ''
    title = "Rollout: report"
    category = "rollout"
    icon = "card-text"

    class Inputs(Ports):
        template: str = Field(description="Jinja2 text, e.g. '{% for l in lines %}{{ l }}\\n{% endfor %}'")
        hosts: list[HostRef | None] = Field(default_factory=list, description="Hosts to name "
                                            "(a fan-out's none are left out)")
        lines: list[str | None] = Field(default_factory=list, description="A fan-out's summary list")
        values: dict[str, Any] = Field(default_factory=dict, description="More names for the template")

    class Outputs(Ports):
        text: str

    def run(self, ctx: Context, inputs: Inputs) -> Outputs:
        lines = [line for line in inputs.lines if line]
        hosts = [h for h in inputs.hosts if h]
        text = render(inputs.template, {**inputs.values, "hosts": hosts, "lines": lines,
                                        "failed": len(inputs.lines) - len(lines)},
                      undefined_hint="not hosts, lines, failed or in 'values'")
        return self.Outputs(text=text)

    def plan(self, ctx: Context, inputs: Any) -> dict[str, Any]:
        if not is_known(inputs):
            return {"effect": "renders once its lines are known", "changes": False}
        return {"effect": f"renders {len(self.run(ctx, inputs).text)} characters", "changes": False}
