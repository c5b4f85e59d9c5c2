"""Where a release comes from: an archive, a file or folder, an HTTPS URL with a sha256,
or a pip spec installed into a virtualenv. Each source knows its digest before fetching."""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import tarfile
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from nebhx.bricks.base import BrickFailed

if TYPE_CHECKING:
    from nebhx.bricks.base import Context

ARCHIVES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".zip")
SHA_RE = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Source:
    kind: str
    shown: str
    digest: str  # sha256 of the content (or of the pip spec), known before fetching
    fetch: Callable[[Path, Path, Context | None], None]

    @property
    def derived_id(self) -> str:
        return self.digest[:12]


def describe(source: str, *, sha256: str | None, find_links: str | None,
              index_url: str | None) -> Source:
    want = (sha256 or "").strip().lower() or None
    if want and not SHA_RE.match(want):
        raise BrickFailed(f"sha256 must be 64 hex digits, not {sha256!r}")
    if source.startswith("pip:"):
        spec = source[4:].strip()
        if not spec:
            raise BrickFailed("pip: source needs a package spec, e.g. pip:myapp==1.2")
        key = f"{spec}|{find_links or ''}|{index_url or ''}".encode()
        return Source("pip", source, hashlib.sha256(key).hexdigest(),
                       lambda tmp, final, ctx: _pip(spec, tmp, final, find_links, index_url, ctx))
    if source.startswith(("http://", "https://")):
        if not want:
            raise BrickFailed(f"a sha256 is required to stage from a URL ({source})")
        return Source("http", source, want, lambda tmp, final, ctx: _download(source, want, tmp, ctx))
    path = Path(source).expanduser()
    if not path.exists():
        raise BrickFailed(f"release source {source!r} is neither an existing path, "
                          "an http(s) URL nor pip:SPEC")
    digest = _tree_hash(path) if path.is_dir() else _file_hash(path)
    if want and not path.is_dir() and want != digest:
        raise BrickFailed(f"sha256 mismatch for {path}: expected {want}, got {digest}")
    return Source("dir" if path.is_dir() else "file", str(path.resolve()), digest,
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
