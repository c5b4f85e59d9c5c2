"""Brick packages on the control plane: a wheel or a tar of a blocks folder, stored in the
artifact store under ``brickpkg.<name>`` with its version and format, pinned by its sha256.
The newest registration of each name is the current one; agents fetch the current list
through the execution API (``nebhx.bricks.packages`` installs them)."""
from __future__ import annotations

import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from nebhx.artifacts import service as artifacts
from nebhx.artifacts.schemas import ArtifactRead, BrickPackage
from nebhx.runtime.blobs import default_store
from nebhx.auth.audit import Door, record_change
from nebhx.bricks import packages
from nebhx.store.models import ArtifactRow

PREFIX = "brickpkg."
KIND = "brick-package"
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,79}$")
VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,59}$")


def _check(name: str, version: str, fmt: str) -> None:
    if not NAME_RE.match(name or ""):
        raise ValueError(f"name: {name[:80]!r} is not a package name (lower-case letters, digits, _ and -)")
    if not VERSION_RE.match(version or ""):
        raise ValueError(f"version: {version[:80]!r} is not a version (letters, digits, . _ + -)")
    if fmt not in packages.FORMATS:
        raise ValueError(f"format: must be one of {', '.join(packages.FORMATS)}, not {fmt!r}")


def register(session: Session, *, name: str, version: str, fmt: str, path: Path,
             door: Door | None = None) -> BrickPackage:
    """Check that the archive unpacks into Python modules, then store and record it (ValueError
    naming the field or the archive's problem otherwise; nothing is stored then)."""
    _check(name, version, fmt)
    with tempfile.TemporaryDirectory() as scratch:
        try:
            packages.unpack(path, fmt, Path(scratch) / "pkg")
        except packages.PackageRefused as exc:
            raise ValueError(f"archive: {exc}") from exc
    record = artifacts.record_artifact(session, name=PREFIX + name, path=path,
                                       provenance={"kind": KIND, "version": version, "format": fmt})
    entry = _entry(record)
    record_change(session, door, action="brick_packages.register", target=name,
                  data={"version": entry.version, "sha256": entry.sha256})
    return entry


def register_stream(session: Session, *, name: str, version: str, fmt: str, body: IO[bytes],
                    door: Door | None = None) -> BrickPackage:
    with tempfile.NamedTemporaryFile(prefix="nebhx-brickpkg-") as tmp:
        shutil.copyfileobj(body, tmp)
        tmp.flush()
        return register(session, name=name, version=version, fmt=fmt, path=Path(tmp.name), door=door)


def register_upload(*, name: str, version: str, fmt: str, body: IO[bytes]) -> BrickPackage:
    """``register_stream`` in its own transaction, committed before it returns: the palette
    reload and every claim after it must see the new package."""
    from nebhx.store.db import session_scope
    with session_scope() as s:
        entry = register_stream(s, name=name, version=version, fmt=fmt, body=body)
    forget_generation()
    return entry


def _entry(record: ArtifactRead) -> BrickPackage:
    prov = record.provenance
    return BrickPackage(name=record.name[len(PREFIX):], version=prov.get("version", ""),
                        format=prov.get("format", "tar"), sha256=record.sha256, size=record.size,
                        created_at=record.created_at)


def current_packages(session: Session) -> list[BrickPackage]:
    """The newest registration of each package name, by name."""
    rows = session.execute(select(ArtifactRow).where(ArtifactRow.name.startswith(PREFIX))
                           .order_by(ArtifactRow.id.desc())).scalars()
    newest: dict[str, BrickPackage] = {}
    for row in rows:
        if (row.provenance or {}).get("kind") == KIND:
            newest.setdefault(row.name, _entry(artifacts.view(row)))
    return [newest[k] for k in sorted(newest)]


def current(session: Session) -> list[dict[str, Any]]:
    """``current_packages`` as JSON: what agents receive and ``nebhx.bricks.packages`` installs."""
    return [p.model_dump(mode="json") for p in current_packages(session)]


_generation: tuple[float, str] | None = None  # (when, generation): claims ask for it per node


def current_generation() -> str:
    """The generation of the current packages, named in every agent's claim (looked up in the
    store at most once a second; a registration through this process forgets it at once)."""
    global _generation
    if _generation is None or time.monotonic() - _generation[0] > 1.0:
        from nebhx.store.db import session_scope
        with session_scope(read_only=True) as s:
            _generation = (time.monotonic(), packages.generation(current(s)))
    return _generation[1]


def forget_generation() -> None:
    """After a registration committed: the next claim names the new generation."""
    global _generation
    _generation = None


def sync_local() -> None:
    """The control plane's own palette: the current packages from its store, no HTTP."""
    from nebhx.store.db import session_scope
    with session_scope(read_only=True) as s:
        entries = current(s)
    store = default_store()

    def fetch(entry: dict[str, Any], into: IO[bytes]) -> None:
        with store.open(entry["sha256"]) as f:
            shutil.copyfileobj(f, into)
    packages.sync(entries, fetch)
