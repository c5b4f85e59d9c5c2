"""Where a host's bricks may write: its managed folders, and the one check every path derived
from an input goes through (``confine``). A leaf of the runtime: its adapters import it, the
``HostRuntime`` facade re-exports it."""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterable

from nebhx.bricks.errors import BrickFailed


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
