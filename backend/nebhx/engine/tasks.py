"""The engine's Celery tasks: run one attempt of one node (sent by name, ``celery_app.RUN_NODE``)
and the successors it readies that this worker follows (``execute.execute_following``),
or of several items of one fan-out, one after another (``RUN_ITEMS``, see dispatch.chunks)."""
from __future__ import annotations

from nebhx.engine.celery_app import RUN_ITEMS, RUN_NODE, app


@app.task(name=RUN_NODE, acks_late=True)
def run_node(run_id: str, node_id: str, attempt: int) -> None:
    from nebhx.engine.execute import execute_following, get_execution
    from nebhx.engine.patience import StorePatient
    execute_following(run_id, node_id, attempt, StorePatient(get_execution()))


@app.task(name=RUN_ITEMS, acks_late=True)
def run_items(run_id: str, items: list[list]) -> None:
    from nebhx.engine.chunks import execute_items
    execute_items(run_id, [(node_id, int(attempt)) for node_id, attempt in items])
