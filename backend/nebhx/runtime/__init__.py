"""The host runtime: what an agent does on its machine, through small adapters.

A brick never touches the host directly; it asks ``ctx.runtime`` for an adapter. Each
adapter owns one folder under the host's home and drives one real tool.

    <home>/volumes/<name>/                 data volumes (dir driver)
    <home>/snapshots/<volume>/<snap>/      dir-driver snapshots
    <home>/services/<svc>/releases/<id>/   staged releases, <svc>/current -> releases/<id>
    <home>/services/<svc>/configs/<hash>/  rendered config versions
    <home>/supervisor/                     supervisord config, socket, logs
    <home>/haproxy/<name>/                 HAProxy config, pid, admin socket
    <home>/services/<svc>/rollout/<inst>.json  the journal of a staged update (rollout.*)

A brick writes only under the host's managed folders: the home, plus the folders an
operator lists in ``NEBHX_HOST_MANAGED_PATHS`` (a btrfs mount for btrfs volumes).
``HostRuntime.confine`` is the one check every path derived from an input goes through.
"""
from __future__ import annotations

import os
import re
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from nebhx.bricks.errors import BrickFailed

if TYPE_CHECKING:
    from nebhx.runtime.haproxy import HAProxy
    from nebhx.runtime.releases import Releases
    from nebhx.runtime.rollout import Instance
    from nebhx.runtime.supervisor import Supervisor
    from nebhx.runtime.volumes import Volumes


def managed_folders(home: Path | str) -> tuple[Path, ...]:
    """``home`` and the folders of ``NEBHX_HOST_MANAGED_PATHS``, symlinks resolved."""
    from nebhx.settings import get_settings
    extra = [p for p in get_settings().host_managed_paths.split(os.pathsep) if p.strip()]
    return tuple(dict.fromkeys(Path(p).resolve() for p in [home, *extra]))


HOST_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$")


def check_host_name(name: object) -> str:
    """``name`` when it can name a host (as `nebhx hosts add` takes it); BrickFailed otherwise:
    a host's name becomes a folder and a queue, so ``..`` or a slash must never get that far."""
    if not isinstance(name, str) or not HOST_NAME_RE.match(name):
        raise BrickFailed(f"host {name!r} is not a host name (letters, digits, '_', '.' and '-', "
                          "starting with a letter or digit)")
    return name


def confine(path: Path | str, folders: Iterable[Path], *, param: str) -> Path:
    """``path`` with its symlinks resolved, provided it stays inside one of ``folders``.

    A relative path or one with ``..`` is refused outright: what it means depends on a
    working directory or on symlinks half-way, and neither is for an input to decide.
    """
    folders = tuple(folders)
    raw = Path(path)
    if not raw.is_absolute():
        raise BrickFailed(f"{param}: {str(path)!r} must be an absolute path")
    if ".." in raw.parts:
        raise BrickFailed(f"{param}: {path} may not contain '..'")
    real = raw.resolve()
    if any(real.is_relative_to(folder) for folder in folders):
        return real
    via = f" leads to {real}, which" if real != raw else ""
    shown = ", ".join(str(f) for f in folders)
    raise BrickFailed(f"{param}: {path}{via} is outside this host's managed folders ({shown}); "
                      "set NEBHX_HOST_MANAGED_PATHS to allow more")


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

    def haproxy(self, name: str) -> HAProxy:
        from nebhx.runtime.haproxy import HAProxy, check_name
        return HAProxy(self.confine(self.home / "haproxy" / check_name(name), param="name"))

    def service_instance(self, service: str, instance: str = "") -> Instance:
        """One instance of a service, as the rollout bricks switch and roll it back."""
        from nebhx.runtime.rollout import Instance
        return Instance(self, service, instance)
