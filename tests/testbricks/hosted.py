"""Host bricks for the execution API's tests: they run on an agent and use secrets."""
from __future__ import annotations

import os

from nebhx import Brick, Context, HostRef, Ports, Secret


class HostEcho(Brick):
    """Echoes a secret on its host: into a plain output (to be masked) and as a Secret output
    (to be sealed by the control plane, which alone holds the key)."""

    id = "test.host_echo"
    category = "test"

    class Inputs(Ports):
        host: HostRef
        secret: Secret

    class Outputs(Ports):
        echoed: str
        token: Secret
        host: str
        pid: int

    def run(self, ctx: Context, inputs: Inputs) -> Outputs:
        value = inputs.secret.get_secret_value()
        ctx.log("working with %s", value)
        return self.Outputs(echoed=f"got {value}", token=f"tok-{value}", host=ctx.runtime.name,
                            pid=os.getpid())


class HostNoop(Brick):
    """Does nothing on its host: the engine's own cost for host nodes (benchmarks)."""

    id = "test.host_noop"
    category = "test"

    class Inputs(Ports):
        host: HostRef

    def run(self, ctx: Context, inputs: Inputs) -> Brick.Outputs:
        return self.Outputs()
