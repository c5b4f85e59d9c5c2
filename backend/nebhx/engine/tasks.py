"""The engine's Celery task: run one attempt of one node (sent by name, ``celery_app.RUN_NODE``)."""
from __future__ import annotations

from nebhx.engine.celery_app import RUN_NODE, app


@app.task(name=RUN_NODE, acks_late=True)
def run_node(run_id: str, node_id: str, attempt: int) -> None:
    from nebhx.engine.claims import DbExecution
    from nebhx.engine.execute import execute_node, get_execution
    from nebhx.engine.patience import StorePatient
    ex = get_execution()  # an agent's HTTP client has its own retries
    execute_node(run_id, node_id, attempt, StorePatient(ex) if isinstance(ex, DbExecution) else ex)
