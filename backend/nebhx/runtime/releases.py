"""Staged releases of a service, an atomic ``current`` switch and retention.

    <root>/<svc>/releases/<id>/          one staged release (read-only by convention)
    <root>/<svc>/releases/<id>/.nebhx-release.json   source, sha256, staged_at
    <root>/<svc>/releases/<id>/.pinned   marker: retention never removes this release
    <root>/<svc>/releases/<id>/.committed  when a rollout declared this release good
    <root>/<svc>/current  -> releases/<id>     what runs
    <root>/<svc>/previous -> releases/<id>     what ran before the last switch

A release is built in ``releases/.staging-*`` and renamed into place, so a failed or
interrupted stage leaves nothing that looks like a release. Sources:

    /path/app.tar.gz | .tgz | .tar | .zip    extracted into the release
    /path/file, /path/dir/                   copied into the release
    https://host/app.tgz (sha256 required)   streamed to a temp file, verified, then as above
    pip:SPEC                                 installed into a virtualenv at <release>/venv;
                                             id: resolved version + hash of what was resolved
"""
from __future__ import annotations

import json
import os
import re
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from nebhx.bricks.errors import BrickFailed
from nebhx.runtime.paths import confine, managed_folders
from nebhx.runtime.sources import describe
from nebhx.runtime.staging import Source

if TYPE_CHECKING:
    from nebhx.bricks.base import Context
    from nebhx.runtime.registries import RegistryLogin

ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$")
META = ".nebhx-release.json"
PIN = ".pinned"
COMMITTED = ".committed"


@dataclass(frozen=True)
class Staged:
    id: str
    path: Path
    changed: bool
    removed: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReleaseInfo:
    id: str
    staged_at: float
    pinned: bool
    current: bool
    previous: bool
    size: int
    source: str
    committed: float | None = None


def check_id(value: str, what: str) -> str:
    if not ID_RE.match(value or "") or ".." in value:
        raise BrickFailed(f"invalid {what} {value!r}: use letters, digits, '.', '_', '+' "
                          "and '-', starting with a letter or digit")
    return value


class Releases:
    """Releases of every service of one host, under ``<home>/services``.

    Paths are resolved and must stay inside ``managed`` (by default ``root`` and the
    folders of ``NEBHX_HOST_MANAGED_PATHS``): a service or release folder that is a
    symlink leading elsewhere is refused, not written through.
    """

    def __init__(self, root: Path, managed: Iterable[Path] | None = None):
        self.root = Path(root)
        self.managed = tuple(managed) if managed is not None else managed_folders(self.root)

    def dir(self, svc: str) -> Path:
        return confine(self.root / check_id(svc, "service name"), self.managed, param="service")

    def path(self, svc: str, release: str) -> Path:
        return confine(self.dir(svc) / "releases" / check_id(release, "release id"),
                       self.managed, param="release_id")

    # -- staging ----------------------------------------------------------------------
    def stage(self, svc: str, source: str, *, sha256: str | None = None,
              release_id: str | None = None, keep: int | None = None, pin: bool = False,
              find_links: str | None = None, index_url: str | None = None,
              ctx: Context | None = None, engine: str = "podman",
              login: RegistryLogin | None = None) -> Staged:
        """Stage ``source`` (a path, an http(s) URL, ``pip:SPEC``, ``artifact:`` or ``oci:``) as a release.

        The id is ``release_id`` or derived from the source's content; staging an id
        that is already there changes nothing (and fails if the content differs).
        """
        src = describe(source, sha256=sha256, find_links=find_links, index_url=index_url, ctx=ctx,
                       home=self.root.parent, engine=engine, login=login)
        rid = check_id(release_id or src.derived_id, "release id")
        final = self.path(svc, rid)
        if final.exists():
            self._same_content(final, src)
            if pin:
                self.pin(svc, rid)
            return Staged(rid, final, False, self.prune(svc, keep) if keep else ())
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.parent / f".staging-{rid}-{uuid.uuid4().hex[:8]}"
        try:
            tmp.mkdir()
            src.fetch(tmp, final, ctx)
            meta = {"id": rid, "source": src.shown, "kind": src.kind, "sha256": src.digest,
                    "staged_at": time.time()}
            (tmp / META).write_text(json.dumps(meta, indent=2))
            if pin:
                (tmp / PIN).touch()
            changed = _rename_dir(tmp, final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        if ctx:
            ctx.log("release %s of %s %s at %s", rid, svc, "staged" if changed else "was there",
                    final)
        return Staged(rid, final, changed, self.prune(svc, keep) if keep else ())

    def _same_content(self, final: Path, src: Source) -> None:
        had = _read_json(final / META)
        if not had:
            raise BrickFailed(f"{final} exists but is not a staged release; remove it or "
                              "give another release id")
        if src.digest and had.get("sha256") and had["sha256"] != src.digest:
            raise BrickFailed(f"release {final.name!r} is already staged from other content "
                              f"({had.get('source')}, sha256 {had['sha256'][:12]}); "
                              "give a new release id")

    # -- switching --------------------------------------------------------------------
    def current(self, svc: str) -> str | None:
        return _link_target(self.dir(svc) / "current")

    def previous(self, svc: str) -> str | None:
        return _link_target(self.dir(svc) / "previous")

    def switch(self, svc: str, release: str) -> tuple[str | None, str, bool]:
        """Point ``current`` at ``release``; returns (previous, current, changed)."""
        target = self.path(svc, release)
        if not (target / META).is_file():
            known = ", ".join(r.id for r in self.list(svc)) or "none"
            raise BrickFailed(f"release {release!r} of {svc!r} is not staged (staged: {known})")
        old = self.current(svc)
        if old == release:
            return self.previous(svc), release, False
        if old:
            _atomic_link(self.dir(svc) / "previous", f"releases/{old}")
        _atomic_link(self.dir(svc) / "current", f"releases/{release}")
        return old, release, True

    # -- pins, listing, retention -----------------------------------------------------
    def pin(self, svc: str, release: str) -> None:
        self._existing(svc, release).joinpath(PIN).touch()

    def unpin(self, svc: str, release: str) -> None:
        self._existing(svc, release).joinpath(PIN).unlink(missing_ok=True)

    def commit(self, svc: str, release: str) -> tuple[float, bool]:
        """Mark ``release`` committed (a rollout declared it good); returns (when, changed)."""
        marker = self._existing(svc, release) / COMMITTED
        had = _read_json(marker).get("committed_at")
        if had:
            return had, False
        now = time.time()
        tmp = marker.with_name(f".{COMMITTED}-{uuid.uuid4().hex[:8]}")
        tmp.write_text(json.dumps({"committed_at": now}))
        os.replace(tmp, marker)
        return now, True

    def _existing(self, svc: str, release: str) -> Path:
        path = self.path(svc, release)
        if not (path / META).is_file():
            raise BrickFailed(f"release {release!r} of {svc!r} is not staged")
        return path

    def list(self, svc: str) -> list[ReleaseInfo]:
        """Staged releases, oldest first."""
        folder = self.dir(svc) / "releases"
        cur, prev = self.current(svc), self.previous(svc)
        found = []
        for path in folder.iterdir() if folder.is_dir() else []:
            meta = _read_json(path / META)
            if path.name.startswith(".") or not meta:
                continue
            found.append(ReleaseInfo(path.name, meta.get("staged_at", 0.0),
                                     (path / PIN).exists(), path.name == cur,
                                     path.name == prev, _size(path), meta.get("source", ""),
                                     _read_json(path / COMMITTED).get("committed_at")))
        return sorted(found, key=lambda r: (r.staged_at, r.id))

    def prune(self, svc: str, keep: int) -> tuple[str, ...]:
        """Remove all but the newest ``keep`` releases, the pinned, current and previous."""
        if keep < 1:
            raise BrickFailed(f"keep must be at least 1, not {keep}")
        releases = self.list(svc)
        newest = {r.id for r in releases[-keep:]}
        removed = []
        for rel in releases:
            if rel.id in newest or rel.pinned or rel.current or rel.previous:
                continue
            self.remove(svc, rel.id)
            removed.append(rel.id)
        return tuple(removed)

    def remove(self, svc: str, release: str) -> None:
        path = self._existing(svc, release)
        if release in (self.current(svc), self.previous(svc)):
            raise BrickFailed(f"release {release!r} of {svc!r} is current or previous")
        # Rename first: a crash mid-delete must not leave a half release that looks whole.
        trash = path.with_name(f".trash-{release}-{uuid.uuid4().hex[:8]}")
        os.rename(path, trash)
        shutil.rmtree(trash, ignore_errors=True)


def _rename_dir(tmp: Path, final: Path) -> bool:
    """Move the staged dir into place; False when a concurrent stage got there first."""
    try:
        os.rename(tmp, final)
        return True
    except OSError:
        if (final / META).is_file():
            return False
        raise


def _atomic_link(link: Path, target: str) -> None:
    tmp = link.with_name(f".{link.name}-{uuid.uuid4().hex[:8]}")
    os.symlink(target, tmp)
    os.replace(tmp, link)


def _link_target(link: Path) -> str | None:
    try:
        return Path(os.readlink(link)).name
    except OSError:
        return None


def _size(path: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            if dirpath == str(path) and name in (META, PIN, COMMITTED):
                continue  # the payload's size, not our bookkeeping
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                pass
    return total


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
