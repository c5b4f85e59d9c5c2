"""The artifact store as the control plane's bricks reach it (``ctx.artifacts``, database form)."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, BinaryIO


class StoreArtifacts:
    """Records in the store's database, bytes in the blob store (``NEBHX_HOME/artifacts``)."""

    def fetch(self, *, name: str | None, sha256: str, into: BinaryIO) -> dict[str, Any]:
        from nebhx.artifacts.service import blob_path, get_artifact
        from nebhx.store.db import session_scope
        with session_scope() as s:
            record = get_artifact(s, sha256=sha256, name=name)
        with blob_path(sha256=sha256).open("rb") as f:
            shutil.copyfileobj(f, into, 1 << 20)
        return record

    def record(self, *, name: str, path: Path, provenance: dict[str, Any]) -> dict[str, Any]:
        from nebhx.artifacts.service import record_artifact
        from nebhx.store.db import session_scope
        with session_scope() as s:
            return record_artifact(s, name=name, path=path, provenance=provenance).model_dump(mode="json")
