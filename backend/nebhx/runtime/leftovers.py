"""What the hosts of this machine left running: supervisord (with its programs), systemd
units of the systemd launcher, and HAProxy.

Services survive an agent's restart by design; ``nebhx down`` (or ``nebhx up
--stop-services-on-exit``) stops them: every supervisord, launcher unit and HAProxy under the
host homes of ``NEBHX_HOME`` (and ``NEBHX_HOST_HOME`` when set). A unit is stopped, not
removed: like a supervisord program, it comes back when its launcher starts it again.
"""
from __future__ import annotations

import os
import xmlrpc.client
from pathlib import Path

from nebhx.bricks.errors import BrickFailed
from nebhx.runtime import HostRuntime
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


def _units(host: Path) -> list[tuple[str, str]]:
    """(program, state) of each systemd unit the host's launcher installed (an environment
    file each) that is up now."""
    names = sorted(p.stem for p in (host / "systemd" / "env").glob("*.env"))
    if not names:
        return []
    sd = HostRuntime(host.name, host).systemd
    found = []
    for name in names:
        try:
            status = sd.status(name)
        except BrickFailed:  # no systemd answers: nothing of it runs
            return []
        if status and status.up:
            found.append((name, status.state.lower()))
    return found


def running(home: Path) -> list[str]:
    """One line per daemon that runs, with the programs supervisord keeps."""
    found = []
    for host in host_homes(home):
        sv = Supervisor(host / "supervisor")
        if sv.ping():
            programs = ", ".join(_programs(sv)) or "no programs"
            found.append(f"supervisord of {host.name} (pid {sv.daemon_pid()}): {programs}")
        units = _units(host)
        if units:
            sd = HostRuntime(host.name, host).systemd
            found.append(f"systemd units of {host.name}: " + ", ".join(f"{sd.unit(n)} ({s})" for n, s in units))
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
        for name, _ in _units(host):
            HostRuntime(host.name, host).systemd.stop(name)
        for root in sorted((host / "haproxy").glob("*")):
            if HAProxy(root).running():
                HAProxy(root).stop()
    return stopped
