"""Volume drivers by name: the entry points of group ``nebhx.volumes``.

A vendor ships a driver the way a brick is shipped: a package whose ``pyproject.toml``
declares ``[project.entry-points."nebhx.volumes"] NAME = "module:Class"``; once it is
installed beside nebhx, ``storage.volume`` takes ``driver: NAME``. The built-in drivers are
declared the same way by nebhx itself; ``BUILTIN`` also covers an install whose package
metadata predates them. A driver that fails to import fails only the volumes that use it,
with a message naming the package.
"""
from __future__ import annotations

import importlib
import importlib.metadata
from dataclasses import dataclass
from functools import lru_cache

from nebhx.bricks.errors import BrickFailed
from nebhx.runtime.storage.driver import VolumeDriver

GROUP = "nebhx.volumes"
BUILTIN = {
    "dir": "nebhx.runtime.storage.dirs:DirDriver",
    "btrfs": "nebhx.runtime.storage.btrfs:BtrfsDriver",
    "overlay": "nebhx.runtime.storage.overlay:OverlayDriver",
    "lvm": "nebhx.runtime.storage.lvm:LvmDriver",
}


@dataclass(frozen=True)
class DriverEntry:
    name: str
    target: str  # "module:Class"
    package: str  # the distribution that declares it


@lru_cache(maxsize=1)
def entries() -> dict[str, DriverEntry]:
    """Every installed driver by name (a built-in name taken by a package stays built-in)."""
    found = {name: DriverEntry(name, target, "nebhx") for name, target in BUILTIN.items()}
    for ep in importlib.metadata.entry_points(group=GROUP):
        if ep.name not in BUILTIN:  # a package cannot replace a built-in driver
            found.setdefault(ep.name, DriverEntry(ep.name, ep.value, ep.dist.name if ep.dist else "?"))
    return dict(sorted(found.items()))


def names() -> list[str]:
    return list(entries())


@lru_cache(maxsize=None)
def driver_class(name: str) -> type[VolumeDriver]:
    """The driver class named ``name``; BrickFailed naming the installed ones otherwise."""
    entry = entries().get(name)
    if entry is None:
        raise BrickFailed(f"unknown volume driver {name!r} (installed: {', '.join(names())}; a "
                          f"vendor driver is a package with an entry point in group {GROUP!r})")
    module, _, attr = entry.target.partition(":")
    try:
        cls = getattr(importlib.import_module(module), attr)
    except Exception as exc:  # a broken vendor package fails its own volumes only
        raise BrickFailed(f"volume driver {name!r} from package {entry.package} does not load "
                          f"({entry.target}): {type(exc).__name__}: {exc}") from exc
    if not (isinstance(cls, type) and issubclass(cls, VolumeDriver)) or cls.name != name:
        raise BrickFailed(f"volume driver {name!r} from package {entry.package}: {entry.target} is not "
                          f"a VolumeDriver whose name is {name!r}")
    return cls


def describe() -> list[dict[str, object]]:
    """Each installed driver: name, package, summary, options, and why it cannot run here."""
    out: list[dict[str, object]] = []
    for name, entry in entries().items():
        try:
            cls = driver_class(name)
        except BrickFailed as exc:
            out.append({"name": name, "package": entry.package, "error": str(exc)})
            continue
        out.append({"name": name, "package": entry.package, "summary": cls.summary,
                    "options": dict(cls.options), "unavailable": cls.available()})
    return out
