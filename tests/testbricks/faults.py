"""Bricks with a side effect that can be counted, for the fault tests (tests/faults).

Each appends "START <node> <attempt>" to a ledger file, works a while, then appends
"END <node> <attempt>": after a fault, the ledger shows how often each node's side
effect really happened, to hold against the attempts the store recorded.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys

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


TICKER = """
import os, sys, time
ledger, tag, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
end = time.time() + seconds
while time.time() < end:
    fd = os.open(ledger, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.write(fd, f"TICK {tag} {time.time():.3f}\\n".encode())
    os.close(fd)
    time.sleep(0.05)
"""


class Ticker(Brick):
    """Runs a command (a child process) that notes "TICK <node> <attempt> <time>" in a ledger
    every 50 ms for `seconds`, and waits for it: when each attempt's command really ran."""

    id = "test.ticker"
    category = "test"

    class Inputs(Ports):
        ledger: str
        seconds: float = Field(default=3.0, ge=0)

    class Outputs(Ports):
        attempt: int

    def run(self, ctx: Context, inputs: Inputs) -> Outputs:
        tag = f"{ctx.node_id} {ctx.attempt}"
        subprocess.run([sys.executable, "-c", TICKER, inputs.ledger, tag, str(inputs.seconds)],
                       check=True, timeout=inputs.seconds + 30)
        return self.Outputs(attempt=ctx.attempt)


class TickerOnHost(Ticker):
    """The same on a host's agent."""

    id = "test.ticker_host"

    class Inputs(Ticker.Inputs):
        host: HostRef


class Crash(Brick):
    """Notes "START <node> <attempt>" in a ledger, then kills the process running it (as a
    segfault or the OOM killer would)."""

    id = "test.crash"
    category = "test"

    class Inputs(Ports):
        ledger: str

    def run(self, ctx: Context, inputs: Inputs) -> Brick.Outputs:
        _note(inputs.ledger, "START", ctx)
        os.kill(os.getpid(), signal.SIGKILL)
        return self.Outputs()
