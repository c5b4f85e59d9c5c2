"""One attempt of one node on a control worker: claimed and finished against the store.

The attempt itself (run the brick, renew, report) is ``nebhx.attempt.execute``'s, the same
code an agent runs with the execution API as its ``Execution`` (``nebhx.agent``).
"""
from __future__ import annotations

from functools import cache

from nebhx.attempt import execute
from nebhx.attempt.claims import Execution
from nebhx.engine.claims import DbExecution
from nebhx.settings import get_settings

run_claimed = execute.run_claimed
execute_claimed = execute.execute_claimed


@cache
def _db_execution(url: str) -> DbExecution:
    return DbExecution(url)


def get_execution() -> DbExecution:
    """The store of this process's settings."""
    return _db_execution(get_settings().db_url)


def execute_node(run_id: str, node_id: str, attempt: int, execution: Execution | None = None) -> None:
    """Run one attempt against ``execution`` (the store by default). A stale message is a no-op."""
    execute.execute_node(run_id, node_id, attempt, execution or get_execution())
