"""The artifact table: what a build stored, with its provenance (repository, commit, recipe,
builder, times, tools). Bytes live in the blob store (``nebhx.runtime.blobs``)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from nebhx.runtime.blobs import BlobStore, check_sha, default_store
# How a release source names an artifact is the runtime's (it stages them); re-exported here.
from nebhx.runtime.artifact_ref import NAME_RE as NAME_RE
from nebhx.runtime.artifact_ref import REF_RE as REF_RE
from nebhx.runtime.artifact_ref import check_name, reference
from nebhx.runtime.artifact_ref import parse_reference as parse_reference
from nebhx.artifacts.schemas import ArtifactRead
from nebhx.errors import NotFound
from nebhx.store.models import ArtifactRow


def view(row: ArtifactRow) -> ArtifactRead:
    return ArtifactRead(name=row.name, sha256=row.sha256, size=row.size, provenance=row.provenance or {},
                        created_at=row.created_at, source=reference(row.name, row.sha256))


def record_artifact(session: Session, *, name: str, path: Path, provenance: dict[str, Any],
                    store: BlobStore | None = None) -> ArtifactRead:
    """Put ``path`` in the store and record it; the same name and content again keeps the
    first record (its provenance names the build that made it first)."""
    store = store or default_store()
    sha, size = store.put_file(path)
    row = session.execute(select(ArtifactRow).where(ArtifactRow.name == check_name(name),
                                                    ArtifactRow.sha256 == sha)).scalar_one_or_none()
    if row is None:
        row = ArtifactRow(name=name, sha256=sha, size=size, provenance=provenance)
        session.add(row)
        session.flush()
    return view(row)


def list_artifacts(session: Session, *, name: str | None = None, limit: int = 200) -> list[ArtifactRead]:
    query = select(ArtifactRow).order_by(ArtifactRow.id.desc()).limit(limit)
    if name:
        query = query.where(ArtifactRow.name == name)
    return [view(r) for r in session.execute(query).scalars()]


def find_artifact(session: Session, *, sha256: str, name: str | None = None) -> ArtifactRead:
    """The record of an artifact whose bytes are in the store; NotFound otherwise."""
    try:
        sha256 = check_sha(sha256)
    except ValueError as exc:
        raise NotFound(str(exc)) from exc
    query = select(ArtifactRow).where(ArtifactRow.sha256 == sha256).order_by(ArtifactRow.id)
    rows = session.execute(query).scalars().all()
    named = [r for r in rows if name is None or r.name == name]
    if not named:
        known = f" (it is stored as {', '.join(r.name for r in rows)})" if rows else ""
        raise NotFound(f"no artifact {name + '@' if name else ''}sha256:{sha256} in the store{known}")
    return view(named[0])


def get_artifact(session: Session, *, sha256: str, name: str | None = None) -> dict[str, Any]:
    """``find_artifact`` as JSON: what a brick's ``ctx.artifacts`` and an agent receive."""
    return find_artifact(session, sha256=sha256, name=name).model_dump(mode="json")


def stored_artifact(*, sha256: str) -> ArtifactRead:
    """``find_artifact`` in a read-only transaction of its own (for the execution API)."""
    from nebhx.store.db import session_scope
    with session_scope(read_only=True) as s:
        return find_artifact(s, sha256=sha256)


def blob_path(*, sha256: str) -> Path:
    path = default_store().local_path(sha256)
    if path is None:
        raise NotFound(f"the bytes of sha256:{sha256} are not in the artifact store")
    return path
