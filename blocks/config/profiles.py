"""Stored config profiles as a value other bricks can use."""
from __future__ import annotations

from typing import Any

from pydantic import Field

from nebhx import Brick, BrickFailed, Context, Ports


class Profiles(Brick):
    """Read the config profiles stored on the server (`nebhx config set`).

    Outputs every profile at its newest revision (or only those named and their
    ancestors' chain is up to **Render config**, which needs them all: leave `names`
    empty unless you know the set is closed). Wire `profiles` into **Render config**'s
    `profiles` so a deployment uses the versioned profiles instead of a copy in the graph;
    `revisions` records which revision each came from.
    """

    id = "config.profiles"
    on_repeat = ''
    title = "Stored profiles"
    category = "config"

    class Inputs(Ports):
        names: list[str] = Field(default_factory=list, description="Only these profiles (default: all)")

    class Outputs(Ports):
        profiles: dict[str, Any]
        revisions: dict[str, int]

    def run(self, ctx: Context, inputs: Inputs) -> Outputs:
        profiles, revisions = ctx.profiles.latest()
        missing = [n for n in inputs.names if n not in profiles]
        if missing:
            raise BrickFailed(f"no stored config profile {', '.join(map(repr, missing))}")
        if inputs.names:
            profiles = {n: profiles[n] for n in inputs.names}
        ctx.log("profiles: %s", ", ".join(f"{n}@{revisions[n]}" for n in profiles))
        return self.Outputs(profiles=profiles, revisions={n: revisions[n] for n in profiles})
