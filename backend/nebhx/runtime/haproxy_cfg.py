"""haproxy.cfg for one balancer, from typed values only.

Every value that reaches the file is checked to be what its place expects (an address, a
path of plain characters, a bounded integer), so none can end its line, open a quote or a
comment, or add a directive: a value that could is refused naming its field.

Backends can carry an **agent check** (``agent_port``): HAProxy asks, every
``agent_inter_ms``, a small responder on each backend's host (``nebhx.runtime.lbagent``)
about that server, and takes ``drain`` / ``ready`` from it. That is how a switch drains
its own backend in a balancer that runs on another host. ``stats`` adds a read-only stats
listener (CSV at ``/;csv``), answered only to ``stats_allow`` sources: the switch reads
there whether the drain took effect, the open sessions, and which other servers serve.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path

from nebhx.bricks.errors import BrickFailed

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][A-Za-z0-9.-]{0,252}|\*)$")
_PATH = re.compile(r"^/[A-Za-z0-9._~!&()*+,;=:@%/?-]*$")  # no space, quote, '#', '\' or '$'
_FILE = re.compile(r"^[A-Za-z0-9_./+-]+$")
_LIMITS = {"inter_ms": (10, 3_600_000), "fall": (1, 100), "rise": (1, 100), "timeout_ms": (1, 3_600_000),
           "agent_inter_ms": (10, 3_600_000)}


def server_name(address: str) -> str:
    """A stable server name per backend address, so a state can be set by address."""
    return "srv_" + re.sub(r"[^A-Za-z0-9]", "_", address)


@dataclass
class CheckTimings:
    """HAProxy's health check timings: every ``inter_ms``; down after ``fall`` failures,
    up after ``rise`` successes; each check may take ``timeout_ms`` (default: inter)."""
    inter_ms: int = 1000
    fall: int = 2
    rise: int = 1
    timeout_ms: int | None = None


@dataclass
class LBSpec:
    name: str
    bind: str  # host:port
    servers: list[str]  # host:port each
    mode: str = "http"  # http | tcp
    health_path: str | None = None  # HTTP check path; None -> TCP connect checks
    health_check: bool = True
    checks: CheckTimings | dict = field(default_factory=CheckTimings)
    agent_port: int | None = None  # the backends' hosts' agent-check responder
    agent_inter_ms: int = 500
    stats: str | None = None  # host:port of a read-only stats listener
    stats_allow: list[str] = field(default_factory=list)  # sources it answers (IPs, CIDRs)


def address(value: str, what: str) -> str:
    """``host:port`` (or ``[v6]:port``) of plain characters, the port 1-65535."""
    host, sep, port = str(value).rpartition(":")
    if not sep or not _HOST.match(host) or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise BrickFailed(f"{what}: {str(value)[:80]!r} is not host:port (a name or an IP address, "
                          "a port 1-65535, nothing else)")
    return value


def integer(value: object, what: str) -> int:
    low, high = _LIMITS[what]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise BrickFailed(f"{what}: {value!r} must be an integer from {low} to {high}")
    return value


def file_path(path: Path, what: str = "path") -> str:
    if not _FILE.match(str(path)):
        raise BrickFailed(f"{what}: {str(path)[:120]!r} has characters haproxy.cfg cannot hold "
                          "unquoted (letters, digits and _ . / + - only)")
    return str(path)


def checked(spec: LBSpec) -> LBSpec:
    """``spec`` with each value checked for its place in haproxy.cfg (BrickFailed naming it)."""
    if not NAME_RE.match(spec.name or ""):
        raise BrickFailed(f"name: invalid balancer name {spec.name!r}")
    if spec.mode not in ("http", "tcp"):
        raise BrickFailed(f"mode: {spec.mode!r} is not http or tcp")
    address(spec.bind, "bind")
    for server in spec.servers:
        address(server, "servers")
    if spec.health_path is not None and not _PATH.match(spec.health_path):
        raise BrickFailed(f"health_path: {spec.health_path[:80]!r} must be a path starting with '/', "
                          "without spaces, quotes, '#', '\\' or '$'")
    timings = spec.checks if isinstance(spec.checks, CheckTimings) else CheckTimings(**spec.checks)
    for key in ("inter_ms", "fall", "rise"):
        integer(getattr(timings, key), key)
    if timings.timeout_ms is not None:
        integer(timings.timeout_ms, "timeout_ms")
    if spec.agent_port is not None and not (isinstance(spec.agent_port, int) and 1 <= spec.agent_port <= 65535):
        raise BrickFailed(f"agent_port: {spec.agent_port!r} must be a port 1-65535")
    integer(spec.agent_inter_ms, "agent_inter_ms")
    if spec.stats:
        address(spec.stats, "stats")
    for source in spec.stats_allow:
        try:
            ipaddress.ip_network(source, strict=False)
        except ValueError:
            raise BrickFailed(f"stats_allow: {source[:80]!r} is not an IP address or network") from None
    spec.checks = timings
    return spec


def render(spec: LBSpec, sock: Path, state_file: Path) -> str:
    spec = checked(spec)
    t: CheckTimings = spec.checks  # type: ignore[assignment]
    check = f" check inter {t.inter_ms}ms fall {t.fall} rise {t.rise}" if spec.health_check else ""
    lines = [
        "global",
        f"    stats socket {file_path(sock)} mode 600 level admin expose-fd listeners",
        "    stats timeout 30s",
        # An old worker keeps serving its open connections after a reload; a stuck
        # client must not keep it alive forever.
        "    hard-stop-after 2m",
        f"    server-state-file {file_path(state_file)}",
        "defaults",
        f"    mode {spec.mode}",
        "    timeout connect 2s",
        "    timeout client 60s",
        "    timeout server 60s",
        *([f"    timeout check {t.timeout_ms}ms"] if t.timeout_ms else []),
        # A connect failure (server just removed or restarting) is retried on another server,
        # and so is a request whose server closed without answering (a backend stopping).
        "    retries 3",
        "    option redispatch",
        *(["    retry-on conn-failure empty-response response-timeout"] if spec.mode == "http" else []),
        "    load-server-state-from-file global",
        f"frontend fe_{spec.name}",
        f"    bind {spec.bind}",
        f"    default_backend be_{spec.name}",
        f"backend be_{spec.name}",
        "    balance roundrobin",
    ]
    if spec.health_check and spec.health_path and spec.mode == "http":
        lines.append(f"    option httpchk GET {spec.health_path}")
    for server in spec.servers:
        agent = (f" agent-check agent-port {spec.agent_port} agent-inter {spec.agent_inter_ms}ms "
                 f'agent-send "{server_name(server)}\\n"' if spec.agent_port else "")
        lines.append(f"    server {server_name(server)} {server}{check}{agent}")
    if spec.stats:
        lines += [f"listen stats_{spec.name}", f"    bind {spec.stats}", "    mode http",
                  f"    http-request deny unless {{ src {' '.join(spec.stats_allow or ['127.0.0.1'])} }}",
                  "    stats enable", "    stats uri /"]
    return "\n".join(lines) + "\n"
