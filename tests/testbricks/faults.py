"""Bricks with a side effect that can be counted, for the fault tests (tests/faults).

Each appends "START <node> <attempt>" to a ledger file, works a while, then appends
"END <node> <attempt>": after a fault, the ledger shows how often each node's side
effect really happened, to hold against the attempts the store recorded.
"""
from __future__ import annotations

import os

from pydantic import Field

from nebhx import Brick, Context, HostRef, Ports


def _note(ledger: str, word: str, ctx: Context) -> None:
    # One write with O_APPEND: lines from several processes never interleave.
    fd = os.open(ledger, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{word} {ctx.node_id} {ctx.attempt}\n".encode())
    finally:
        os.close(fd)


class Counted(Brick):
    """Notes its start and end in a ledger file, sleeping in between."""

    id = "test.counted"
    category = "test"

    class Inputs(Ports):
        ledger: str
        seconds: float = Field(default=0.5, ge=0)

    class Outputs(Ports):
        attempt: int
        pid: int

    def run(self, ctx: Context, inputs: Inputs) -> Outputs:
        _note(inputs.ledger, "START", ctx)
        ctx.sleep(inputs.seconds)
        _note(inputs.ledger, "END", ctx)
        return self.Outputs(attempt=ctx.attempt, pid=os.getpid())


class CountedOnHost(Counted):
    """The same on a host's agent (a HostRef input routes it there)."""

    id = "test.counted_host"

    class Inputs(Counted.Inputs):
        host: HostRef
