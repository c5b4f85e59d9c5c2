"""Load-balancer bricks: an HAProxy in front of a list of backends, and backend states."""
from __future__ import annotations

import ipaddress
import time
from typing import Any, Literal

from pydantic import Field

from nebhx import Address, Brick, BrickFailed, Context, HostRef, Ports
from nebhx.bricks.base import is_known
from nebhx.runtime.haproxy import HAProxy, server_name


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _find(lb: HAProxy, address: str) -> dict[str, Any]:
    for row in lb.servers_state():
        if row["server"] == server_name(address):
            return row
    raise BrickFailed(f"backend {address} is not in load balancer {lb.name} "
                      f"(servers: {', '.join(r['address'] for r in lb.servers_state()) or 'none'})")


class HAProxyBalancer(Brick):
    """Put an HAProxy load balancer in front of a list of backends.

    Listens on `bind_host:bind_port` and spreads requests round-robin over
    `backends` (each `host:port`). HAProxy runs on the host in the background and
    outlives this brick. Running the brick again with another backend list reloads
    HAProxy without dropping a request: the new process takes over the listening
    socket and the old one finishes the requests it has. The config is checked with
    `haproxy -c` before it is used; a config HAProxy rejects fails the node and
    leaves the running balancer untouched. Nothing is reloaded when nothing changed.

    **Health checks** (on by default): each backend is checked every `check_inter_ms`
    (1 s), with an HTTP GET of `health_path` if set, else by opening a TCP connection; a
    backend that fails `check_fall` checks (2) gets no traffic until it passes
    `check_rise` (1); each check may take `check_timeout_ms` (default: the interval).

    **A balancer on its own host**: with `agent_port`, HAProxy also asks each backend's
    host, on that port, whether to drain it (an agent check, every `agent_inter_ms`), and
    with `stats_port` it answers read-only stats (CSV) to `stats_allow` (default: the
    backends' hosts and 127.0.0.1). A **Rollout: switch** on a backend host then drains its
    own backend through it: give it this brick's `stats` output as `lb_stats` and the same
    `agent_port` as `lb_agent_port`. A backend host without the responder is not affected.
    Every value is checked for its place in haproxy.cfg: one that could add a line or a
    token (a newline, a space in a path, a quote, `#`) is refused naming the input.

    **drain**: backends listed here get no new requests (open ones finish); every
    other backend is set ready. This brick declares the full state: use
    **Backend state** for a step in between, e.g. during a rolling update.
    """

    id = "lb.haproxy"
    on_repeat = ''
    title = "HAProxy load balancer"
    category = "lb"

    class Inputs(Ports):
        host: HostRef = Field(description="Host that runs the balancer")
        name: str = Field(description="Balancer name, unique on the host", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
        bind_port: int = Field(ge=1, le=65535, description="Port clients connect to")
        bind_host: str = Field(default="127.0.0.1", description="Local address to listen on; 0.0.0.0 for all")
        backends: list[Address] = Field(min_length=1, description="Backend addresses, host:port each")
        drain: list[Address] = Field(default_factory=list, description="Backends that get no new requests")
        mode: Literal["http", "tcp"] = Field(default="http", description="Balance HTTP requests or TCP connections")
        health_check: bool = Field(default=True, description="Check backends and skip dead ones")
        health_path: str | None = Field(default=None, description="HTTP path for health checks, e.g. /health")
        advertise_host: str | None = Field(default=None, description="Host part of the address output; default the bind host (the host's address for 0.0.0.0)")
        check_inter_ms: int = Field(default=1000, ge=10, le=3_600_000, description="Health check interval")
        check_fall: int = Field(default=2, ge=1, le=100, description="Failed checks before a backend is down")
        check_rise: int = Field(default=1, ge=1, le=100, description="Passed checks before a backend is up again")
        check_timeout_ms: int | None = Field(default=None, ge=1, le=3_600_000,
                                             description="Longest a check may take; default the interval")
        agent_port: int | None = Field(default=None, ge=1, le=65535, description="Ask each backend's "
                                       "host on this port whether to drain it (rollout.switch's lb_agent_port)")
        agent_inter_ms: int = Field(default=500, ge=10, le=3_600_000, description="How often the agent is asked")
        stats_port: int | None = Field(default=None, ge=1, le=65535, description="Read-only stats "
                                       "(CSV at /;csv) on the bind host, for switches on other hosts")
        stats_allow: list[str] = Field(default_factory=list, description="Sources the stats answer "
                                       "(IPs or networks); default the backends' hosts and 127.0.0.1")

    class Outputs(Ports):
        address: Address
        changed: bool
        servers: list[dict[str, Any]]
        stats: Address | None = Field(default=None, description="The stats listener (lb_stats of a switch)")

    def run(self, ctx: Context, inputs: Inputs) -> Outputs:
        unknown = set(inputs.drain) - set(inputs.backends)
        if unknown:
            raise BrickFailed(f"drain names addresses that are not backends: {', '.join(sorted(unknown))}")
        lb = ctx.runtime.haproxy(inputs.name)
        bind = f"{inputs.bind_host}:{inputs.bind_port}"
        was_running = lb.running()
        changed = lb.apply(bind, list(inputs.backends), mode=inputs.mode,
                           health_path=inputs.health_path, health_check=inputs.health_check,
                           **self.options(ctx, inputs))
        ctx.log("haproxy %s %s on %s with %d backend(s)", inputs.name,
                ("reloaded" if was_running else "started") if changed else "unchanged",
                bind, len(inputs.backends))
        for row in lb.servers_state():
            want = "drain" if row["address"] in inputs.drain else "ready"
            if row["admin"] != want:
                lb.set_server_state(row["backend"], row["server"], want)
                ctx.log("backend %s: %s -> %s", row["address"], row["admin"], want)
        host = inputs.advertise_host or (ctx.runtime.address if inputs.bind_host in ("0.0.0.0", "::", "")
                                         else inputs.bind_host)
        return self.Outputs(address=f"{host}:{inputs.bind_port}", changed=changed,
                            servers=lb.servers_state(),
                            stats=f"{host}:{inputs.stats_port}" if inputs.stats_port else None)

    @staticmethod
    def options(ctx: Context, inputs: Inputs) -> dict[str, Any]:
        """Check timings, the agent check and the stats listener, as LBSpec takes them."""
        hosts = {b.rpartition(":")[0].strip("[]") for b in inputs.backends}
        allow = inputs.stats_allow or sorted({"127.0.0.1", *(h for h in hosts if _is_ip(h))})
        return {"checks": {"inter_ms": inputs.check_inter_ms, "fall": inputs.check_fall,
                           "rise": inputs.check_rise, "timeout_ms": inputs.check_timeout_ms},
                "agent_port": inputs.agent_port, "agent_inter_ms": inputs.agent_inter_ms,
                "stats": f"{inputs.bind_host}:{inputs.stats_port}" if inputs.stats_port else None,
                "stats_allow": allow}

    def plan(self, ctx: Context, inputs: Inputs) -> dict[str, Any]:
        """The balancer's backends before and after, asked of the host's HAProxy."""
        if not is_known(inputs):
            return {"effect": f"balance {inputs.name} once its backends are known", "changes": None}
        unknown = set(inputs.drain) - set(inputs.backends)
        if unknown:
            raise BrickFailed(f"drain names addresses that are not backends: {', '.join(sorted(unknown))}")
        lb = ctx.runtime.haproxy(inputs.name)
        host = inputs.advertise_host or (ctx.runtime.address if inputs.bind_host in ("0.0.0.0", "::", "")
                                         else inputs.bind_host)
        address = f"{host}:{inputs.bind_port}"
        if not lb.running():
            return {"effect": f"start HAProxy {inputs.name} on {inputs.bind_host}:{inputs.bind_port} "
                              f"with {len(inputs.backends)} backend(s)", "changes": True,
                    "balancer": {"lb": inputs.name, "before": [], "after": list(inputs.backends)},
                    "outputs": {"address": address, "changed": True}}
        before = sorted({row["address"] for row in lb.servers_state()})
        after = sorted(set(inputs.backends))
        added, gone = sorted(set(after) - set(before)), sorted(set(before) - set(after))
        words = [f"add {', '.join(added)}"] * bool(added) + [f"remove {', '.join(gone)}"] * bool(gone)
        return {"effect": f"reload HAProxy {inputs.name}: {'; '.join(words)}" if words else
                f"the same backends for HAProxy {inputs.name} (a reload only if another setting changed)",
                "changes": True if words else None,
                "balancer": {"lb": inputs.name, "before": before, "after": after, "drain": list(inputs.drain)},
                "outputs": {"address": address, **({"changed": True} if words else {})}}


class BackendState(Brick):
    """Drain, re-enable or take down one backend of an HAProxy balancer, live.

    Uses HAProxy's runtime API: no reload, takes effect at once.
    - `drain`: no new requests; requests already running finish. With `wait_idle_s`
      the brick waits (up to that long) until the backend has no open sessions, so a
      following restart of that backend drops nothing.
    - `ready`: back in rotation.
    - `maint`: out of rotation at once, including health checks.
    """

    id = "lb.backend_state"
    on_repeat = ''
    title = "Backend state"
    category = "lb"

    class Inputs(Ports):
        host: HostRef = Field(description="Host that runs the balancer")
        name: str = Field(description="Balancer name, as given to the HAProxy brick")
        backend: Address = Field(description="Backend address, host:port")
        state: Literal["drain", "ready", "maint"] = Field(description="The state to set")
        wait_idle_s: float = Field(default=0, ge=0, description="After drain/maint, wait until no sessions are open")

    class Outputs(Ports):
        backend: Address
        state: str
        previous: str
        sessions: int

    def run(self, ctx: Context, inputs: Inputs) -> Outputs:
        lb = ctx.runtime.haproxy(inputs.name)
        if not lb.running():
            raise BrickFailed(f"load balancer {inputs.name} is not running on this host")
        row = _find(lb, inputs.backend)
        lb.set_server_state(row["backend"], row["server"], inputs.state)
        ctx.log("backend %s: %s -> %s", inputs.backend, row["admin"], inputs.state)
        sessions = _find(lb, inputs.backend)["sessions"]
        deadline = time.monotonic() + inputs.wait_idle_s
        while inputs.state != "ready" and sessions and time.monotonic() < deadline:
            ctx.sleep(0.2)
            sessions = _find(lb, inputs.backend)["sessions"]
        if inputs.wait_idle_s and sessions and inputs.state != "ready":
            raise BrickFailed(f"backend {inputs.backend} still has {sessions} open session(s) "
                              f"after {inputs.wait_idle_s}s")
        return self.Outputs(backend=inputs.backend, state=inputs.state, previous=row["admin"],
                            sessions=sessions)
