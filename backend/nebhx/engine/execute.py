"""One attempt of one node, as run by a worker: claim, resolve, run, record, advance."""
from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass, replace
from typing import Any

from pydantic import ValidationError
from pydantic_core import to_jsonable_python

from nebhx.bricks.base import BrickFailed, Cancelled, Context, WaitFor
from nebhx.bricks.registry import get_registry
from nebhx.engine import scheduler
from nebhx.engine.events import emit
from nebhx.engine.heartbeat import Heartbeat, NodeTimeout
from nebhx.engine.plan import TERMINAL, plan_for
from nebhx.engine.resolve import resolve_inputs, split_id
from nebhx.engine.statements import NODES, sql
from nebhx.secrets.crypto import mask_values, secret_values, seal_tree, unseal_tree
from nebhx.settings import get_settings
from nebhx.store.db import session_scope
from nebhx.store.models import NodeRow, utcnow

log = logging.getLogger("nebhx.engine")


@dataclass
class Outcome:
    status: str
    outputs: dict[str, Any] | None = None
    error: str | None = None
    wait: dict[str, Any] | None = None
    inputs: dict[str, Any] | None = None
    log: str = ""


def execute_node(run_id: str, node_id: str, attempt: int) -> list[scheduler.Dispatch]:
    """Run one attempt; returns what to dispatch next. A stale or duplicate message is a no-op."""
    settings = get_settings()
    url = settings.db_url
    with session_scope(url, autocommit=True) as s:  # the claim is one statement; the rest reads
        run = scheduler.run_head(s, run_id)  # a claim advances nothing: no run lock
        plan = plan_for(s, run.graph_id, run.revision) if run else None
        base = split_id(node_id)[0]
        if run is None or plan is None or base not in plan.nodes:
            return []
        node = plan.nodes[base]
        if not _claim(s, run_id, node_id, attempt, scheduler.deadline(node.timeout_s)):
            return []
        try:
            raw = resolve_inputs(s, run, plan, node_id)
        except LookupError as exc:
            raw = exc
    if isinstance(raw, LookupError):
        outcome = Outcome("failed", error=str(raw))
    else:
        outcome = _run_brick(run_id, node_id, attempt, node, raw, settings)
    return _record(run_id, node_id, attempt, outcome, url, settings.retry_base_s)


def _claim(s, run_id: str, node_id: str, attempt: int, until) -> bool:
    """Mark this attempt running, with its event; False if it is stale or already taken."""
    st = sql(s)
    params = {"run": run_id, "node": node_id, "of_attempt": attempt, "at": utcnow(), "until": until}
    if st.pg:
        return s.execute(st.claim_with_event, {**params, "data": {"attempt": attempt}}).first() is not None
    if s.execute(st.claim, params).rowcount != 1:
        return False
    emit(s, run_id, node_id, "node", "running", attempt=attempt)
    return True


def _run_brick(run_id, node_id, attempt, node, raw, settings) -> Outcome:
    brick_cls = get_registry().get(node.brick)
    if brick_cls is None:
        return Outcome("failed", error=f"brick {node.brick!r} is not in this worker's palette")
    ctx = Context(run_id=run_id, node_id=node_id, attempt=attempt, secrets=secret_values(raw),
                  host=raw.get(brick_cls.host_input) if brick_cls.host_input else None)
    try:
        inputs = brick_cls.Inputs.model_validate(unseal_tree(raw))
    except ValidationError as exc:
        return Outcome("failed", error=_input_errors(exc, ctx))
    shown = inputs.model_dump(mode="json")
    hb = Heartbeat(ctx=ctx, attempt=attempt, timeout_s=node.timeout_s, interval=settings.heartbeat_s,
                   db_url=settings.db_url)
    hb.start()
    try:
        try:
            result = brick_cls().run(ctx, inputs)
        finally:
            hb.finish()
        outputs = brick_cls.Outputs.model_validate(result)
        # Sealed first (a Secret output keeps its value, sealed), then any echo of a secret this
        # node used is masked in the plain outputs, whatever brick echoed it.
        sealed = to_jsonable_python(seal_tree(dict(outputs)))
        outcome = Outcome("succeeded", outputs=mask_values(sealed, ctx.secrets))
    except WaitFor as w:
        outcome = Outcome("waiting", wait={"reason": ctx.mask(w.reason), "timeout_s": w.timeout_s, **w.data})
    except NodeTimeout:
        outcome = Outcome("failed", error=f"timed out after {node.timeout_s:g}s (timeout_s)")
    except Cancelled:
        outcome = Outcome("cancelled", error="cancelled")
    except BrickFailed as exc:
        outcome = Outcome("failed", error=ctx.mask(str(exc)))
    except ValidationError as exc:
        outcome = Outcome("failed", error=ctx.mask(f"brick returned bad outputs: {exc}"))
    except Exception as exc:  # a bug in a brick fails its node, never the worker
        ctx.log("%s", traceback.format_exc())
        outcome = Outcome("failed", error=ctx.mask(f"{type(exc).__name__}: {exc}"))
    hb.finish()  # again: an interruption may have cut the first one short
    outcome.inputs = shown
    outcome.log = hb.take_log()
    return outcome


def _input_errors(exc: ValidationError, ctx: Context) -> str:
    parts = [f"input {'.'.join(map(str, e['loc'])) or '(inputs)'}: {e['msg']}" for e in exc.errors()]
    return ctx.mask("; ".join(parts))


def _record(run_id, node_id, attempt, outcome: Outcome, url: str, retry_base: float):
    with session_scope(url) as s:
        head = scheduler.run_head(s, run_id)
        if head is None:  # deleted while the brick ran
            return []
        plan = plan_for(s, head.graph_id, head.revision)
        node = plan.nodes[split_id(node_id)[0]]
        if outcome.status not in TERMINAL or outcome.inputs is None or (outcome.status == "failed" and node.retries):
            return _record_other(s, run_id, node_id, attempt, outcome, plan, node, retry_base)
        run = _end(s, head, node_id, attempt, outcome)
        if run is None:
            return []
        emit(s, run_id, node_id, "node", outcome.status, **({"error": outcome.error} if outcome.error else {}))
        return scheduler.after_node(s, run, plan, node_id, outcome.status)


def _end(s, head: scheduler.RunHead, node_id: str, attempt: int, outcome: Outcome) -> scheduler.RunHead | None:
    """Lock the run, then end the node if it is still this attempt's: the run as locked, or None."""
    params = {"run": head.id, "node": node_id, "of_attempt": attempt, "to": outcome.status,
              "why": outcome.error, "more_log": outcome.log, "shown": outcome.inputs,
              "outs": outcome.outputs or {}, "now": utcnow()}
    st = sql(s)
    if st.pg:
        row = s.execute(st.finish_locking, params).first()
        return replace(head, status=row[0], finished_at=row[1]) if row else None
    run = scheduler.lock_run(s, head.id)  # see scheduler: one advance at a time
    return run if run is not None and s.execute(st.finish, params).rowcount == 1 else None


def _record_other(s, run_id, node_id, attempt, outcome: Outcome, plan, node, retry_base: float):
    """A wait, a retry, or an end before the brick ran (no inputs to show)."""
    run = scheduler.lock_run(s, run_id)
    if run is None:
        return []
    common = dict(_attempt=attempt, log=NODES.c.log + outcome.log,
                  **({"inputs": outcome.inputs} if outcome.inputs is not None else {}))
    row = s.get(NodeRow, (run_id, node_id)) if outcome.status == "failed" and node.retries else None
    if row is not None and row.failures < node.retries and run.status == "running":
        if not scheduler.cas(s, run_id, node_id, "running", error=outcome.error, **common):
            return []
        emit(s, run_id, node_id, "node", "retrying", error=outcome.error, attempt=attempt)
        wait = scheduler.backoff_s(row.failures + 1, retry_base)
        d = scheduler.queue_node(s, run, plan, node_id, expect="running", countdown=wait,
                                 failures=row.failures + 1)
        return [d] if d else []
    values = dict(status=outcome.status, error=outcome.error, **common)
    if outcome.status == "waiting":
        values.update(wait=outcome.wait, deadline_at=scheduler.deadline(outcome.wait.get("timeout_s")))
    else:
        values.update(finished_at=utcnow(), outputs=outcome.outputs or {})
    if not scheduler.cas(s, run_id, node_id, "running", **values):
        return []
    emit(s, run_id, node_id, "node", outcome.status,
         **({"error": outcome.error} if outcome.error else {}),
         **({"reason": outcome.wait["reason"]} if outcome.wait else {}))
    if outcome.status == "waiting":
        return []
    return scheduler.after_node(s, run, plan, node_id, outcome.status)
