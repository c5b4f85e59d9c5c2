"""What the hosts of this machine left running: supervisord (with its programs) and HAProxy.

Services survive an agent's restart by design; ``nebhx down`` (or ``nebhx up
--stop-services-on-exit``) stops them: every supervisord and HAProxy under the host homes
of ``NEBHX_HOME`` (and ``NEBHX_HOST_HOME`` when set).
"""
from __future__ import annotations

import os
import xmlrpc.client
from pathlib import Path

from nebhx.runtime.haproxy import HAProxy
from nebhx.runtime.supervisor import Supervisor


def host_homes(home: Path) -> list[Path]:
    homes = sorted(p for p in (Path(home) / "hosts").glob("*") if p.is_dir())
    extra = os.environ.get("NEBHX_HOST_HOME")
    if extra and Path(extra).is_dir() and Path(extra) not in homes:
        homes.append(Path(extra))
    return homes


def _programs(sv: Supervisor) -> list[str]:
    try:
        infos = sv.rpc().supervisor.getAllProcessInfo()
    except (OSError, xmlrpc.client.Error):
        return []
    return [f"{i['name']} ({i['statename'].lower()})" for i in infos]


def running(home: Path) -> list[str]:
    """One line per daemon that runs, with the programs supervisord keeps."""
    found = []
    for host in host_homes(home):
        sv = Supervisor(host / "supervisor")
        if sv.ping():
            programs = ", ".join(_programs(sv)) or "no programs"
            found.append(f"supervisord of {host.name} (pid {sv.daemon_pid()}): {programs}")
        for root in sorted((host / "haproxy").glob("*")):
            lb = HAProxy(root)
            if lb.running():
                found.append(f"haproxy {root.name} of {host.name} (pid {lb.master_pid()})")
    return found


def stop_all(home: Path) -> list[str]:
    """Stop every supervisord (and so its programs) and HAProxy; what was stopped."""
    stopped = running(home)
    for host in host_homes(home):
        sv = Supervisor(host / "supervisor")
        if sv.daemon_pid():
            sv.shutdown()
        for root in sorted((host / "haproxy").glob("*")):
            if HAProxy(root).running():
                HAProxy(root).stop()
    return stopped
