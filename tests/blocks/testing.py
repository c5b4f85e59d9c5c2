"""Bricks that exist only for tests: loaded through NEBHX_BLOCKS_PATH=tests/blocks."""
from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field

from nebhx import Brick, BrickFailed, Context, Ports


class Noop(Brick):
    """Does nothing and says so."""

    id = "test.noop"
    category = "test"

    class Outputs(Ports):
        value: str = "ok"

    def run(self, ctx: Context, inputs: Brick.Inputs) -> Outputs:
        return self.Outputs()


class Echo(Brick):
    """Passes its text through."""

    id = "test.echo"
    category = "test"

    class Inputs(Ports):
        text: str

    class Outputs(Ports):
        text: str

    def run(self, ctx: Context, inputs: Inputs) -> Outputs:
        ctx.log("echo %s", inputs.text)
        return self.Outputs(text=inputs.text)


class Fail(Brick):
    """Fails when asked to; with `until_file`, fails until that file exists (for retries)."""

    id = "test.fail"
    category = "test"

    class Inputs(Ports):
        fail: bool = True
        message: str = "asked to fail"
        until_file: str = ""

    class Outputs(Ports):
        value: str

    def run(self, ctx: Context, inputs: Inputs) -> Outputs:
        if inputs.until_file:
            marker = Path(inputs.until_file)
            if not marker.exists():
                marker.with_suffix(".tries").open("a").write("x")
                raise BrickFailed(inputs.message)
            return self.Outputs(value="passed")
        if inputs.fail:
            raise BrickFailed(inputs.message)
        return self.Outputs(value="passed")


class Sleep(Brick):
    """Sleeps (waking on cancel) and reports its pid; writes `marker` when it starts."""

    id = "test.sleep"
    category = "test"

    class Inputs(Ports):
        seconds: float = Field(default=1.0, ge=0)
        marker: str = ""

    class Outputs(Ports):
        pid: int
        slept: float

    def run(self, ctx: Context, inputs: Inputs) -> Outputs:
        if inputs.marker:
            Path(inputs.marker).write_text(str(os.getpid()))
        ctx.log("sleeping %ss", inputs.seconds)
        ctx.sleep(inputs.seconds)
        return self.Outputs(pid=os.getpid(), slept=inputs.seconds)
