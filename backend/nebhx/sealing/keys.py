"""The Fernet keys: ``NEBHX_SECRET_KEY``, else a key file kept apart from the store.

The file holds one key a line, newest first: values are sealed with the first and opened
with any, so a key can be rotated while every process keeps running. Processes re-read
the file when it changes (cached by path, inode, size and mtime).
"""
from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

from cryptography.fernet import Fernet

log = logging.getLogger(__name__)

_cache: dict[Path, tuple[tuple[int, int, int], list[str]]] = {}
_lock = threading.Lock()


def key_file() -> Path:
    from nebhx.settings import get_settings
    return get_settings().secret_key_file.expanduser()


def env_key() -> str | None:
    from nebhx.settings import get_settings
    return get_settings().secret_key


def current_keys() -> list[str]:
    """Every usable key, newest first."""
    key = env_key()
    if key:
        return [key]
    path = key_file()
    while True:
        try:
            return _read_cached(path)
        except FileNotFoundError:
            _create(path)


def _read_cached(path: Path) -> list[str]:
    st = path.stat()
    stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
    hit = _cache.get(path)
    # File times tick coarsely (a few ms): a file rewritten in place within one tick keeps
    # its stamp, so a file changed in the last second is read again rather than trusted.
    if hit is not None and hit[0] == stamp and time.time() - st.st_mtime > 1.0:
        return hit[1]
    keys = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    if not keys:
        raise ValueError(f"the key file {path} holds no key")
    with _lock:
        _cache[path] = (stamp, keys)
    return keys


def _private_dir(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)


def _link_new(path: Path, text: str) -> bool:
    """Put ``text`` at ``path`` unless a file is there already; True when this call did.

    Several processes may start at once: each writes a whole file aside and links it
    into place; whoever links first wins and everyone reads that file.
    """
    _private_dir(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    _write_private(tmp, text)
    try:
        os.link(tmp, path)
        return True
    except FileExistsError:
        return False
    finally:
        tmp.unlink()


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())


def _create(path: Path) -> None:
    """Move the key of an older install (``$NEBHX_HOME/secret.key``) here, else make one."""
    from nebhx.settings import get_settings
    old = get_settings().home / "secret.key"
    try:
        text = old.read_text()
    except FileNotFoundError:
        _link_new(path, Fernet.generate_key().decode() + "\n")
        return
    if old.resolve() == path.resolve():
        return
    # Linked before the old file goes: at every moment one of the two holds the key.
    if _link_new(path, text):
        log.warning("moved the secret key from %s to %s (kept apart from the database)", old, path)
    old.unlink(missing_ok=True)


def write_keys(keys: list[str]) -> None:
    """Replace the key file atomically (a crash leaves the old file or the new, never half)."""
    path = key_file()
    _private_dir(path)
    tmp = path.with_name(f".{path.name}.rotate.{os.getpid()}")
    _write_private(tmp, "".join(k + "\n" for k in keys))
    os.replace(tmp, path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)  # the rename itself survives a power cut
    finally:
        os.close(fd)
