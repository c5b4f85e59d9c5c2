"""Staged releases of a service, an atomic ``current`` switch and retention.

    <root>/<svc>/releases/<id>/          one staged release (read-only by convention)
    <root>/<svc>/releases/<id>/.nebhx-release.json   source, sha256, staged_at
    <root>/<svc>/releases/<id>/.pinned   marker: retention never removes this release
    <root>/<svc>/current  -> releases/<id>     what runs
    <root>/<svc>/previous -> releases/<id>     what ran before the last switch

A release is built in ``releases/.staging-*`` and renamed into place, so a failed or
interrupted stage leaves nothing that looks like a release. Sources:

    /path/app.tar.gz | .tgz | .tar | .zip    extracted into the release
    /path/file, /path/dir/                   copied into the release
    https://host/app.tgz (sha256 required)   streamed to a temp file, verified, then as above
    pip:SPEC                                 installed into a virtualenv at <release>/venv
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tarfile
import time
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from nebhx.bricks.base import BrickFailed

if TYPE_CHECKING:
    from nebhx.bricks.base import Context

ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$")
META = ".nebhx-release.json"
PIN = ".pinned"


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


def check_id(value: str, what: str) -> str:
    if not ID_RE.match(value or "") or ".." in value:
        raise BrickFailed(f"invalid {what} {value!r}: use letters, digits, '.', '_', '+' "
                          "and '-', starting with a letter or digit")
    return value


class Releases:
    """Releases of every service of one host, under ``<home>/services``."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def dir(self, svc: str) -> Path:
        return self.root / check_id(svc, "service name")

    def path(self, svc: str, release: str) -> Path:
        return self.dir(svc) / "releases" / check_id(release, "release id")

    # -- staging ----------------------------------------------------------------------
    def stage(self, svc: str, source: str, *, sha256: str | None = None,
              release_id: str | None = None, keep: int | None = None, pin: bool = False,
              find_links: str | None = None, index_url: str | None = None,
              ctx: Context | None = None) -> Staged:
        """Stage ``source`` (a path, an http(s) URL or ``pip:SPEC``) as a release.

        The id is ``release_id`` or derived from the source's content; staging an id
        that is already there changes nothing (and fails if the content differs).
        """
        src = _describe(source, sha256=sha256, find_links=find_links, index_url=index_url)
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

    def _same_content(self, final: Path, src: _Source) -> None:
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
                                     path.name == prev, _size(path), meta.get("source", "")))
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
            if dirpath == str(path) and name in (META, PIN):
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


# -- sources ------------------------------------------------------------------------------
ARCHIVES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".zip")
SHA_RE = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class _Source:
    kind: str
    shown: str
    digest: str  # sha256 of the content (or of the pip spec), known before fetching
    fetch: Callable[[Path, Path, Context | None], None]

    @property
    def derived_id(self) -> str:
        return self.digest[:12]


def _describe(source: str, *, sha256: str | None, find_links: str | None,
              index_url: str | None) -> _Source:
    want = (sha256 or "").strip().lower() or None
    if want and not SHA_RE.match(want):
        raise BrickFailed(f"sha256 must be 64 hex digits, not {sha256!r}")
    if source.startswith("pip:"):
        spec = source[4:].strip()
        if not spec:
            raise BrickFailed("pip: source needs a package spec, e.g. pip:myapp==1.2")
        key = f"{spec}|{find_links or ''}|{index_url or ''}".encode()
        return _Source("pip", source, hashlib.sha256(key).hexdigest(),
                       lambda tmp, final, ctx: _pip(spec, tmp, final, find_links, index_url, ctx))
    if source.startswith(("http://", "https://")):
        if not want:
            raise BrickFailed(f"a sha256 is required to stage from a URL ({source})")
        return _Source("http", source, want, lambda tmp, final, ctx: _download(source, want, tmp, ctx))
    path = Path(source).expanduser()
    if not path.exists():
        raise BrickFailed(f"release source {source!r} is neither an existing path, "
                          "an http(s) URL nor pip:SPEC")
    digest = _tree_hash(path) if path.is_dir() else _file_hash(path)
    if want and not path.is_dir() and want != digest:
        raise BrickFailed(f"sha256 mismatch for {path}: expected {want}, got {digest}")
    return _Source("dir" if path.is_dir() else "file", str(path.resolve()), digest,
                   lambda tmp, final, ctx: _unpack(path, path.name, tmp))


def _unpack(path: Path, name: str, tmp: Path) -> None:
    """Extract an archive into ``tmp``, or copy a file or a directory's contents there."""
    try:
        if path.is_dir():
            shutil.copytree(path, tmp, symlinks=True, dirs_exist_ok=True)
        elif name.endswith(".zip"):
            with zipfile.ZipFile(path) as zf:
                zf.extractall(tmp)
        elif name.endswith(ARCHIVES):
            with tarfile.open(path, "r:*") as tf:
                # "data" refuses absolute paths, '..', device files and links out of tmp.
                tf.extractall(tmp, filter="data")
        else:
            shutil.copy2(path, tmp / name)
    except (OSError, ValueError, EOFError, tarfile.TarError, zipfile.BadZipFile) as exc:
        raise BrickFailed(f"cannot unpack {name}: {exc}") from exc


def _download(url: str, want: str, tmp: Path, ctx: Context | None) -> None:
    import httpx
    name = url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] or "download"
    part = tmp.parent / f".download-{uuid.uuid4().hex[:8]}"
    digest = hashlib.sha256()
    try:
        with httpx.stream("GET", url, follow_redirects=True, timeout=30) as resp, \
                part.open("wb") as out:
            if resp.status_code != 200:
                raise BrickFailed(f"download failed: HTTP {resp.status_code} for {url}")
            for chunk in resp.iter_bytes(1 << 20):
                if ctx:
                    ctx.check_cancelled()
                digest.update(chunk)
                out.write(chunk)
        got = digest.hexdigest()
        if got != want:
            raise BrickFailed(f"sha256 mismatch for {url}: expected {want}, got {got}")
        _unpack(part, name, tmp)
    except httpx.HTTPError as exc:
        raise BrickFailed(f"download failed for {url}: {exc}") from exc
    finally:
        part.unlink(missing_ok=True)


def _pip(spec: str, tmp: Path, final: Path, find_links: str | None, index_url: str | None,
         ctx: Context | None) -> None:
    import sys

    from nebhx.runtime import shell
    venv = tmp / "venv"
    shell.run([sys.executable, "-m", "venv", str(venv)], ctx=ctx)
    cmd = [str(venv / "bin" / "python"), "-m", "pip", "install", "--no-cache-dir",
           "--disable-pip-version-check", "--no-input"]
    if find_links:
        cmd += ["--no-index", "--find-links", find_links]
    if index_url:
        cmd += ["--index-url", index_url]
    shell.run([*cmd, spec], ctx=ctx, timeout=1800)
    _relocate_venv(venv, final / "venv")


def _relocate_venv(venv: Path, final: Path) -> None:
    """A venv records its own path in script shebangs and activate scripts; it was built
    under a temp name, so point those at the path it is about to be renamed to."""
    old, new = os.fsencode(venv), os.fsencode(final)
    files = [p for p in (venv / "bin").iterdir() if p.is_file() and not p.is_symlink()]
    for path in [*files, venv / "pyvenv.cfg"]:
        data = path.read_bytes()
        if old in data and b"\0" not in data[:1024]:
            path.write_bytes(data.replace(old, new))


def _file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _tree_hash(root: Path) -> str:
    """A content hash of a directory: relative paths, modes, file contents, link targets."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_symlink():
            digest.update(f"L {rel} {os.readlink(path)}\n".encode())
        elif path.is_file():
            digest.update(f"F {rel} {path.stat().st_mode & 0o777:o} {_file_hash(path)}\n".encode())
        elif path.is_dir():
            digest.update(f"D {rel}\n".encode())
    return digest.hexdigest()
