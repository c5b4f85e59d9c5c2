"""The agents of many hosts in one process, running their nodes (for bench/fleet.py).

Like tests/graphs/plan_agents.py (which it extends: plans are answered the same way), but the
host's *node* messages (``nebhx.run_node`` on queue ``host.NAME``) are run too: each by a
forked child of a small pool, as that host's agent (``NEBHX_AGENT_HOST``, its runtime under
``ROOT/NAME``), every claim and outcome going through the execution API over HTTP with that
host's token, as a remote ``nebhx agent --server`` does. A pool, not 100 workers: 100 Celery
workers would take gigabytes on a shared 2-core machine for hosts that are idle most of the time.

    python fleet_agents.py ROOT TOKENS_JSON [POOL]   # store and broker from NEBHX_*; until killed
"""
from __future__ import annotations

import multiprocessing
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "graphs"))
from plan_agents import SimulatedAgents  # noqa: E402

from nebhx.broker.app import RUN_NODE  # noqa: E402


def run_as_host(host: str, url: str, token: str, run_id: str, node_id: str, attempt: int) -> None:
    """One node attempt in a pool child, as host ``host``'s agent would run it."""
    os.environ["NEBHX_AGENT_HOST"] = host
    from nebhx.bricks import resources
    from nebhx.agent.client import http_execution
    from nebhx.agent.resources import agent_resources
    from nebhx.attempt.execute import execute_node
    resources.install(agent_resources(url, token))
    execute_node(run_id, node_id, attempt, http_execution(url, token))


class FleetAgents(SimulatedAgents):
    def __init__(self, *args, pool: int = 4, **kwargs):
        super().__init__(*args, **kwargs)
        # The palette and the node task's code loaded before the fork, as `nebhx agent` does, so
        # no child pays for them on its first node (seconds each on a busy 2-core machine).
        import nebhx.agent.client  # noqa: F401
        import nebhx.agent.resources  # noqa: F401
        import nebhx.attempt.execute  # noqa: F401
        from nebhx.bricks.registry import get_registry
        get_registry()
        # Forked before any thread starts (the consumer's, httpx's): a fork keeps only its caller.
        self.nodes = multiprocessing.get_context("fork").Pool(pool)
        self.ran = 0

    def _on(self, body, message) -> None:
        if message.headers.get("task") != RUN_NODE:
            # Each host's plan in turn, in this one thread: a fleet's agents plan side by side.
            t0 = time.perf_counter()
            super()._on(body, message)
            print(f"planned {body[0][1]} in {time.perf_counter() - t0:.3f} s", flush=True)
            return
        host = message.delivery_info["routing_key"].removeprefix("host.")
        run_id, node_id, attempt = body[0]
        # Acked at once: a lost child shows as the node's lease running out, which the sweep
        # retries, as it does for an agent that died.
        message.ack()
        self.nodes.apply_async(run_as_host, (host, self.url, self.tokens[host], run_id, node_id, attempt),
                               error_callback=lambda exc: print(f"{host} {node_id}: {exc!r}", flush=True))
        self.ran += 1

    def __exit__(self, *exc) -> None:
        super().__exit__(*exc)
        self.nodes.terminate()


if __name__ == "__main__":
    import json
    import signal
    given = json.loads(Path(sys.argv[2]).read_text())
    agents = FleetAgents(os.environ["NEBHX_DATABASE_URL"], list(given), Path(sys.argv[1]), given,
                         os.environ["NEBHX_URL"], pool=int(sys.argv[3]) if len(sys.argv) > 3 else 4)
    with agents:
        signal.sigwait({signal.SIGTERM, signal.SIGINT})
