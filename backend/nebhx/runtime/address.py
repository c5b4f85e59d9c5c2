"""This host's own address, as other hosts reach it (the agent registers it, bricks read it
as ``ctx.runtime.address``)."""
from __future__ import annotations

import os
import subprocess


def host_address() -> str:
    """NEBHX_AGENT_ADDRESS, else this machine's first global IPv4 address, else loopback."""
    if os.environ.get("NEBHX_AGENT_ADDRESS"):
        return os.environ["NEBHX_AGENT_ADDRESS"]
    try:
        out = subprocess.run(["ip", "-4", "-o", "addr", "show", "scope", "global"],
                             capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.TimeoutExpired):
        out = ""
    for line in out.splitlines():
        parts = line.split()
        if "inet" in parts:
            return parts[parts.index("inet") + 1].split("/")[0]
    return "127.0.0.1"
