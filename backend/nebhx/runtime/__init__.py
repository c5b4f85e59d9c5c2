"""The host runtime: what an agent does on its machine, through small adapters.

A brick never touches the host directly; it asks ``ctx.runtime`` for an adapter. Each
adapter owns one folder under the host's home and drives one real tool.

    <home>/volumes/<name>/                 data volumes (dir driver)
    <home>/snapshots/<volume>/<snap>/      dir-driver snapshots
    <home>/services/<svc>/releases/<id>/   staged releases, <svc>/current -> releases/<id>
    <home>/services/<svc>/configs/<hash>/  rendered config versions
    <home>/supervisor/                     supervisord config, socket, logs
    <home>/haproxy/<name>/                 HAProxy config, pid, admin socket
"""
from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nebhx.runtime.haproxy import HAProxy
    from nebhx.runtime.releases import Releases
    from nebhx.runtime.supervisor import Supervisor
    from nebhx.runtime.volumes import Volumes


class HostRuntime:
    def __init__(self, name: str, home: Path):
        self.name = name
        self.home = Path(home)
        self.home.mkdir(parents=True, exist_ok=True)

    @classmethod
    def for_host(cls, name: str) -> HostRuntime:
        """The runtime of this machine's agent: ``NEBHX_HOST_HOME`` or ``<NEBHX_HOME>/hosts/<name>``."""
        home = os.environ.get("NEBHX_HOST_HOME")
        if not home:
            from nebhx.settings import get_settings
            home = str(get_settings().home / "hosts" / name)
        return cls(name, Path(home))

    @cached_property
    def address(self) -> str:
        """The address other hosts reach this one at (``NEBHX_AGENT_ADDRESS`` or detected)."""
        from nebhx.hosts.agent import host_address
        return host_address()

    @cached_property
    def volumes(self) -> Volumes:
        from nebhx.runtime.volumes import Volumes
        return Volumes(self.home)

    @cached_property
    def releases(self) -> Releases:
        from nebhx.runtime.releases import Releases
        return Releases(self.home / "services")

    @cached_property
    def supervisor(self) -> Supervisor:
        from nebhx.runtime.supervisor import Supervisor
        return Supervisor(self.home / "supervisor")

    def haproxy(self, name: str) -> HAProxy:
        from nebhx.runtime.haproxy import HAProxy
        return HAProxy(self.home / "haproxy" / name)
