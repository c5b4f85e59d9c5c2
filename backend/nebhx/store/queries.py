"""Reads of stored rows that more than one domain needs, kept beside the rows they read so
no domain has to import another for them (secrets asks which graphs name a secret)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from nebhx.store.models import GraphRow, RevisionRow


def latest_docs(session: Session) -> list[tuple[str, dict[str, Any]]]:
    """(graph id, latest revision's document) of every stored graph."""
    rows = session.execute(select(RevisionRow.graph_id, RevisionRow.doc).join(
        GraphRow, (GraphRow.id == RevisionRow.graph_id) & (GraphRow.latest_revision == RevisionRow.number)))
    return [(g, doc if isinstance(doc, dict) else {}) for g, doc in rows]
