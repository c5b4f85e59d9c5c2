"""Brick packages: a wheel or a tar of a blocks folder, registered on the control plane and
fetched by every process that runs bricks (an agent through the execution API), pinned by sha256.

    <home>/brick-packages/<sha256>/     one package unpacked, named by the hash of its archive
    <home>/brick-packages/current.json  the packages to load: [{name, version, sha256, format}]

A download reaches its folder only after its sha256 matched the pinned one and it unpacked
whole (a temp folder, then a rename): a tampered or cut download is refused and leaves nothing.
The palette loads each current package's folder like a blocks folder (``registry``).
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tarfile
import tempfile
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

log = logging.getLogger("nebhx.bricks")
FORMATS = ("wheel", "tar")
CURRENT = "current.json"

# What brings the package folder up to date (set by the process: the agent fetches through the
# execution API, the control plane reads its own store); called before the palette (re)loads.
sync_hook: Callable[[], None] | None = None
problems: list[str] = []  # the last sync's refusals, shown as the palette's load errors
# An agent's claim names the control plane's current generation (``wanted``); this process
# syncs again when it differs from the generation it last synced (``synced``).
wanted: str | None = None
synced: str | None = None


class PackageRefused(ValueError):
    """An archive that is not what was pinned, or not a package that can be unpacked safely."""


def root() -> Path:
    from nebhx.settings import get_settings
    return get_settings().home / "brick-packages"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _safe_member(name: str) -> None:
    parts = Path(name).parts
    if name.startswith("/") or ".." in parts:
        raise PackageRefused(f"archive member {name!r} would land outside the package folder")


def unpack(archive: Path, fmt: str, into: Path) -> None:
    """Unpack a wheel (a zip) or a tar (gzip or plain) into ``into``; PackageRefused when
    it is not one, or a member would escape the folder."""
    try:
        if fmt == "wheel":
            with zipfile.ZipFile(archive) as z:
                for name in z.namelist():
                    _safe_member(name)
                z.extractall(into)
        elif fmt == "tar":
            with tarfile.open(archive) as t:
                for m in t.getmembers():
                    _safe_member(m.name)
                t.extractall(into, filter="data")  # no links out, no devices, no set-uid
        else:
            raise PackageRefused(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    except (zipfile.BadZipFile, tarfile.TarError, OSError) as exc:
        raise PackageRefused(f"not a {fmt} archive that unpacks: {exc}") from exc
    if not any(into.rglob("*.py")):
        raise PackageRefused(f"the {fmt} archive holds no Python module (no brick to load)")


def install(entry: dict[str, Any], fetch: Callable[[IO[bytes]], None], base: Path | None = None) -> Path:
    """The package's folder, fetched (``fetch`` writes the archive's bytes into a file),
    checked against ``entry["sha256"]`` and unpacked, unless already there."""
    base = base or root()
    final = base / entry["sha256"]
    if final.is_dir():
        return final
    base.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".fetch-", dir=base))
    try:
        archive = work / "archive"
        with open(archive, "wb") as f:
            fetch(f)
        got = sha256_of(archive)
        if got != entry["sha256"]:
            raise PackageRefused(f"brick package {entry['name']} {entry['version']}: the download's sha256 is "
                                 f"{got}, not the pinned {entry['sha256']}: refused")
        unpack(archive, entry["format"], work / "pkg")
        try:
            os.rename(work / "pkg", final)
        except OSError:
            if not final.is_dir():  # else another process of this host installed it meanwhile
                raise
        return final
    finally:
        shutil.rmtree(work, ignore_errors=True)


def write_current(entries: list[dict[str, Any]], base: Path | None = None) -> None:
    base = base or root()
    base.mkdir(parents=True, exist_ok=True)
    tmp = base / f".{CURRENT}.{uuid.uuid4().hex}"
    tmp.write_text(json.dumps(entries, indent=1))
    os.replace(tmp, base / CURRENT)


def current(base: Path | None = None) -> list[dict[str, Any]]:
    """The packages to load, each installed (a package whose folder is missing is left out)."""
    path = (base or root()) / CURRENT
    try:
        entries = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    return [e for e in entries if ((base or root()) / e["sha256"]).is_dir()]


def folders() -> list[Path]:
    return [root() / e["sha256"] for e in current()]


def package_of(source: str) -> dict[str, Any] | None:
    """The current package a brick's source file came from, if any."""
    for e in current():
        if source.startswith(str((root() / e["sha256"]).resolve()) + os.sep):
            return e
    return None


def sync(entries: list[dict[str, Any]], fetch: Callable[[dict[str, Any], IO[bytes]], None]) -> list[str]:
    """Install every listed package and make the list current; what was refused, each with why
    (a refused package is not loaded: the others are)."""
    installed: list[dict[str, Any]] = []
    problems.clear()
    for e in entries:
        try:
            install(e, lambda f, e=e: fetch(e, f))
            installed.append(e)
        except Exception as exc:  # one bad package must not keep the others out
            problems.append(f"brick package {e.get('name')} {e.get('version')}: {exc}")
            log.error("%s", problems[-1])
    if installed != current():
        write_current(installed)
    global synced
    synced = generation(entries)
    return list(problems)


def generation(entries: list[dict[str, Any]]) -> str:
    """A short name for a list of packages: it changes when any package does."""
    return hashlib.sha256(",".join(sorted(e["sha256"] for e in entries)).encode()).hexdigest()[:16]


def run_sync_hook() -> None:
    if sync_hook is None:
        return
    try:
        sync_hook()
    except Exception as exc:  # the control plane may be restarting: load what is here
        log.warning("brick packages not synced: %s", exc)
