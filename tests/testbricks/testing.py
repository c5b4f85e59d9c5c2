"""Bricks that exist only for tests: loaded through NEBHX_BLOCKS_PATH=tests/testbricks."""
from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field

from nebhx import Brick, BrickFailed, Context, HostRef, Ports, Secret


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
    """Fails when asked to. With `counter_file`, fails the first `fail_times` attempts only;
    with `until_file`, fails until that file exists."""

    id = "test.fail"
    category = "test"

    class Inputs(Ports):
        fail: bool = True
        message: str = "asked to fail"
        fail_times: int = 0
        counter_file: str = ""
        until_file: str = ""

    class Outputs(Ports):
        value: str

    def run(self, ctx: Context, inputs: Inputs) -> Outputs:
        if inputs.counter_file:
            counter = Path(inputs.counter_file)
            tries = len(counter.read_text()) if counter.exists() else 0
            counter.write_text("x" * (tries + 1))
            if tries < inputs.fail_times:
                raise BrickFailed(f"{inputs.message} (attempt {tries + 1})")
            return self.Outputs(value="passed")
        if inputs.until_file and Path(inputs.until_file).exists():
            return self.Outputs(value="passed")
        if inputs.fail or inputs.until_file:
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


class Collect(Brick):
    """Joins a list of strings (to see a fan-out's gathered outputs)."""

    id = "test.collect"
    category = "test"

    class Inputs(Ports):
        items: list[str]
        sep: str = ","

    class Outputs(Ports):
        joined: str

    def run(self, ctx: Context, inputs: Inputs) -> Outputs:
        return self.Outputs(joined=inputs.sep.join(inputs.items))


class Where(Brick):
    """Reports which host's runtime ran it (a host brick: routed to the host's agent)."""

    id = "test.where"
    category = "test"

    class Inputs(Ports):
        host: HostRef
        tag: str = ""

    class Outputs(Ports):
        host: str
        home: str
        tag: str

    def run(self, ctx: Context, inputs: Inputs) -> Outputs:
        return self.Outputs(host=ctx.runtime.name, home=str(ctx.runtime.home), tag=inputs.tag)


class EchoSecret(Brick):
    """Echoes its secrets where they must never be kept in clear: a plain output, its log
    and, with `fail`, its error message (the engine must mask them all)."""

    id = "test.echo_secret"
    category = "test"

    class Inputs(Ports):
        secret: Secret
        other: Secret | None = None
        fail: bool = False

    class Outputs(Ports):
        text: str

    def run(self, ctx: Context, inputs: Inputs) -> Outputs:
        values = [s.get_secret_value() for s in (inputs.secret, inputs.other) if s is not None]
        ctx.log("the secrets are %s", " and ".join(values))
        if inputs.fail:
            raise BrickFailed(f"refused with {' and '.join(values)}")
        return self.Outputs(text="echo " + " and ".join(values))
