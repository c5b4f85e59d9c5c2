"""Run one brick the way a host's agent would, in this process's network namespace:
``ip netns exec NS python brick_in_ns.py MODULE:CLASS HOST run|plan`` with the inputs as JSON on
standard input (so a Secret never shows on a command line) prints the outputs (or the plan)
as JSON; a BrickFailed exits 3 with its message on stderr. Secret inputs are masked in the
log, as the agent masks the secrets it hands a brick."""
from __future__ import annotations

import importlib
import json
import sys

from pydantic import SecretStr

from nebhx import BrickFailed, Context
from nebhx.bricks.registry import import_builtin
from nebhx.runtime import HostRuntime


def main(target: str, host: str, mode: str) -> int:
    import_builtin()
    module, name = target.split(":")
    brick = getattr(importlib.import_module(f"nebhx_blocks.{module}"), name)()
    try:
        inputs = brick.Inputs(**json.loads(sys.stdin.read()))
        hidden = [v.get_secret_value() for v in dict(inputs).values() if isinstance(v, SecretStr)]
        ctx = Context(host=host, node_id=name, secrets=hidden, runtime=HostRuntime.for_host(host))
        out = brick.plan(ctx, inputs) if mode == "plan" else brick.run(ctx, inputs).model_dump(mode="json")
    except BrickFailed as exc:
        print(str(exc), file=sys.stderr)
        return 3
    print(json.dumps({"result": out, "log": ctx.lines}))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
