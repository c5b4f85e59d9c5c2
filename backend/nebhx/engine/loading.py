"""A run's plan loaded from its stored revision, its composites' inner nodes inlined; built
once per process per revision (revisions never change)."""
from __future__ import annotations

from collections import OrderedDict

from sqlalchemy.orm import Session

from nebhx.engine.composite import inline_all
from nebhx.engine.plan import Plan
from nebhx.graph_model import Graph

_plans: OrderedDict[tuple[str, str, int], Plan] = OrderedDict()


def plan_for(session: Session, graph_id: str, revision: int) -> Plan:
    """Revisions never change, so a plan is built once per process (LRU of 256); composites are
    pinned revisions, so their inner nodes are part of it."""
    from nebhx.store.models import RevisionRow
    key = (str(session.get_bind().engine.url), graph_id, revision)
    plan = _plans.get(key)
    if plan is None:
        row = session.get(RevisionRow, (graph_id, revision))
        if row is None:
            raise LookupError(f"graph {graph_id} has no revision {revision}")
        plan = _plans[key] = inline_all(Plan.of(Graph.model_validate(row.doc)), session)
        if len(_plans) > 256:
            _plans.popitem(last=False)
    _plans.move_to_end(key)
    return plan
