"""The host runtime: what an agent does on its machine, through small adapters.

A brick never touches the host directly; it asks ``ctx.runtime`` for an adapter. Each
adapter owns one folder under the host's home and drives one real tool.

    <home>/volumes/<name>/                 data volumes (dir driver)
    <home>/snapshots/<volume>/<snap>/      dir-driver snapshots
    <home>/services/<svc>/releases/<id>/   staged releases, <svc>/current -> releases/<id>
    <home>/services/<svc>/configs/<hash>/  rendered config versions
    <home>/supervisor/                     supervisord config, socket, logs
    <home>/systemd/env/<program>.env       the environment files of systemd units
    <home>/haproxy/<name>/                 HAProxy config, pid, admin socket
    <home>/services/<svc>/rollout/<inst>.json  the journal of a staged update (rollout.*)

A brick writes only under the host's managed folders: the home, plus the folders an
operator lists in ``NEBHX_HOST_MANAGED_PATHS`` (a btrfs mount for btrfs volumes).
``HostRuntime.confine`` is the one check every path derived from an input goes through.
"""
from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from nebhx.bricks.errors import BrickFailed

# The path rules live in nebhx.runtime.paths (the adapters use them); re-exported here.
from nebhx.runtime.paths import HOST_NAME_RE as HOST_NAME_RE
from nebhx.runtime.paths import check_host_name, confine, managed_folders

if TYPE_CHECKING:
    from nebhx.runtime.haproxy import HAProxy
    from nebhx.runtime.releases import Releases
    from nebhx.runtime.rollout import Instance
    from nebhx.runtime.process import ProcessManager
    from nebhx.runtime.supervisor import Supervisor
    from nebhx.runtime.systemd import Systemd
    from nebhx.runtime.volumes import Volumes


class HostRuntime:
    def __init__(self, name: str, home: Path):
        self.name = name
        self.home = Path(home)
        self.home.mkdir(parents=True, exist_ok=True)

    @classmethod
    def for_host(cls, name: str) -> HostRuntime:
        """The runtime of this machine's agent: ``NEBHX_HOST_HOME`` or ``<NEBHX_HOME>/hosts/<name>``."""
        check_host_name(name)
        home = os.environ.get("NEBHX_HOST_HOME")
        if not home:
            from nebhx.settings import get_settings
            home = str(get_settings().home / "hosts" / name)
        return cls(name, Path(home))

    @cached_property
    def managed(self) -> tuple[Path, ...]:
        """The folders bricks may write in: the home first, then NEBHX_HOST_MANAGED_PATHS."""
        return managed_folders(self.home)

    @cached_property
    def plan_readable(self) -> tuple[Path, ...]:
        """The folders whose files a plan may read (to hash a path source): ``managed`` and
        NEBHX_HOST_SOURCE_PATHS."""
        from nebhx.settings import get_settings
        extra = [p for p in get_settings().host_source_paths.split(os.pathsep) if p.strip()]
        return tuple(dict.fromkeys([*self.managed, *(Path(p).resolve() for p in extra)]))

    def confine(self, path: Path | str, *, param: str) -> Path:
        """``path`` resolved, or BrickFailed naming ``param`` when it leads outside
        ``managed`` (``..``, an absolute path elsewhere, a symlink pointing out)."""
        return confine(path, self.managed, param=param)

    @cached_property
    def address(self) -> str:
        """The address other hosts reach this one at (``NEBHX_AGENT_ADDRESS`` or detected)."""
        from nebhx.runtime.address import host_address
        return host_address()

    @cached_property
    def volumes(self) -> Volumes:
        from nebhx.runtime.volumes import Volumes
        return Volumes(self.home, self.managed)

    @cached_property
    def releases(self) -> Releases:
        from nebhx.runtime.releases import Releases
        return Releases(self.home / "services", self.managed)

    @cached_property
    def supervisor(self) -> Supervisor:
        from nebhx.runtime.supervisor import Supervisor
        return Supervisor(self.home / "supervisor")

    @cached_property
    def systemd(self) -> Systemd:
        """This machine's systemd; units are named ``nbx-<host>-<program>`` so that the agents
        of several hosts on one machine never share one."""
        import shlex
        from nebhx.runtime.systemd import Systemd
        from nebhx.settings import get_settings
        settings = get_settings()
        return Systemd(self.home / "systemd", unit_dir=settings.systemd_unit_dir,
                       systemctl=shlex.split(settings.systemctl), prefix=f"nbx-{self.name}-")

    def launcher(self, kind: str | None = None) -> ProcessManager:
        """``supervisord`` or ``systemd``; none: systemd where PID 1 is systemd, else supervisord."""
        from nebhx.runtime.systemd import default_launcher
        kind = kind or default_launcher()
        if kind not in ("supervisord", "systemd"):
            raise BrickFailed(f"launcher: {kind!r} is not supervisord or systemd")
        return self.systemd if kind == "systemd" else self.supervisor

    def haproxy(self, name: str) -> HAProxy:
        from nebhx.runtime.haproxy import HAProxy, check_name
        return HAProxy(self.confine(self.home / "haproxy" / check_name(name), param="name"))

    def service_instance(self, service: str, instance: str = "") -> Instance:
        """One instance of a service, as the rollout bricks switch and roll it back."""
        from nebhx.runtime.rollout import Instance
        return Instance(self, service, instance)
