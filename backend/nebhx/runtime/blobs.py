"""Where artifact bytes live: content-addressed by sha256, under ``$NEBHX_HOME/artifacts``.

    <root>/sha256/<first 2 hex>/<sha256>     one artifact's bytes, never changed once there
    <root>/tmp/                               uploads in progress (a temp name, then a rename)

A file reaches its final name only by ``os.rename`` after its sha256 was computed, so a build
killed half-way leaves at most a temp file, never a half artifact under a real name.
``BlobStore`` is the interface: an S3 backend would implement the same four methods.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import uuid
from pathlib import Path
from typing import BinaryIO, Protocol

SHA_RE = re.compile(r"^[0-9a-f]{64}$")


class BlobStore(Protocol):
    def put_file(self, path: Path) -> tuple[str, int]:
        """Store a copy of ``path``; its (sha256, size)."""

    def exists(self, sha256: str) -> bool: ...

    def open(self, sha256: str) -> BinaryIO:
        """The bytes of an artifact, to stream (FileNotFoundError when absent)."""

    def local_path(self, sha256: str) -> Path | None:
        """A file path when the store is on this machine (FileResponse), else None."""


def check_sha(value: str) -> str:
    value = (value or "").lower()
    if not SHA_RE.match(value):
        raise ValueError(f"sha256 must be 64 hex digits, not {value[:80]!r}")
    return value


def file_sha256(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


class LocalStore:
    """The filesystem backend: a folder on the control plane."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def _path(self, sha256: str) -> Path:
        sha256 = check_sha(sha256)
        return self.root / "sha256" / sha256[:2] / sha256

    def put_file(self, path: Path) -> tuple[str, int]:
        tmp_dir = self.root / "tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        tmp = tmp_dir / f".{uuid.uuid4().hex}"
        try:
            shutil.copyfile(path, tmp)
            sha, size = file_sha256(tmp)  # the copy's hash: what is stored is what is named
            final = self._path(sha)
            if final.exists():
                return sha, size
            final.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
            os.chmod(tmp, 0o444)
            os.rename(tmp, final)
            return sha, size
        finally:
            tmp.unlink(missing_ok=True)

    def exists(self, sha256: str) -> bool:
        return self._path(sha256).is_file()

    def open(self, sha256: str) -> BinaryIO:
        return open(self._path(sha256), "rb")

    def local_path(self, sha256: str) -> Path | None:
        path = self._path(sha256)
        return path if path.is_file() else None


def default_store() -> BlobStore:
    """The control plane's store: ``$NEBHX_HOME/artifacts`` (``NEBHX_ARTIFACTS_DIR`` overrides)."""
    from nebhx.settings import get_settings
    root = os.environ.get("NEBHX_ARTIFACTS_DIR") or str(get_settings().home / "artifacts")
    return LocalStore(Path(root))
