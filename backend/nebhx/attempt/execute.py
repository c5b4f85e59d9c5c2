"""One attempt of one node, as run by a worker or an agent: claim, run the brick, finish.

Where the claim comes from (the store, or the execution API over HTTP) is the
``Execution`` given; the brick gets its host's runtime from the process that runs it
(``NEBHX_AGENT_HOST``), never from the node's own inputs.
"""
from __future__ import annotations

import logging
import os
import traceback
from collections.abc import Callable
from typing import Any

from pydantic import SecretStr, ValidationError
from pydantic_core import to_jsonable_python

from nebhx.bricks.base import BrickFailed, Cancelled, Context, WaitFor
from nebhx.bricks import packages
from nebhx.bricks.packages import package_of
from nebhx.bricks.registry import find_brick, get_registry
from nebhx.attempt import fence
from nebhx.attempt.claims import PLAIN, Claim, Execution, Outcome
from nebhx.attempt.heartbeat import Heartbeat, NodeTimeout
from nebhx.settings import get_settings
from nebhx.statuses import NodeStatus

log = logging.getLogger("nebhx.engine")
# Called with the host's name after a node finished on that host's agent: the agent reports
# its services at once instead of at its next look (the views showed a switch 10 s late).
after_host_node: list[Callable[[str], None]] = []


def execute_node(run_id: str, node_id: str, attempt: int, ex: Execution) -> None:
    """Run one attempt. A stale or duplicate message is a no-op."""
    claim = ex.claim(run_id, node_id, attempt)
    if claim is not None:
        execute_claimed(claim, ex)


def execute_claimed(claim: Claim, ex: Execution) -> None:
    """Run a claimed attempt and report its outcome."""
    run_id, node_id, attempt = claim.run_id, claim.node_id, claim.attempt
    try:
        held = fence.take(run_id, node_id, attempt)
    except Exception as exc:  # an earlier attempt's processes would not die: never run beside them
        ex.finish(claim, Outcome(NodeStatus.FAILED, error=f"an earlier attempt of {node_id} still runs on this "
                                                 f"machine and could not be stopped: {exc}"))
        return
    try:
        outcome = run_claimed(claim, ex)
    finally:
        fence.release(held)
    if held is not None and held.stopped:
        outcome.log = (f"stopped an earlier attempt of this node still running here (processes "
                       f"{', '.join(map(str, held.stopped))}) before this one started\n") + outcome.log
    ex.finish(claim, outcome)
    _after_host_node(claim)


def _after_host_node(claim: Claim) -> None:
    """A host brick finished on this host's agent: tell the hooks (a control brick changes
    nothing on a host, though `nebhx up`'s one worker runs both)."""
    here = os.environ.get("NEBHX_AGENT_HOST")
    if not here or not after_host_node:
        return
    brick_cls = find_brick(claim.brick)
    if brick_cls is None or not brick_cls.host_input:
        return
    for hook in after_host_node:
        try:
            hook(here)
        except Exception as exc:  # a report is a courtesy: the node has finished
            log.warning("after-node report of host %s failed: %s", here, exc)


def run_claimed(claim: Claim, ex: Execution) -> Outcome:
    if claim.error:
        return Outcome(NodeStatus.FAILED, error=claim.error)
    brick_cls = find_brick(claim.brick)  # reloads the palette once for a brick added since
    if brick_cls is None:
        refused = "".join(f"; {p}" for p in packages.problems)  # a package this worker refused to load
        return Outcome(NodeStatus.FAILED, error=f"brick {claim.brick!r} is not in this worker's palette "
                                       f"(not found after reloading its block folders){refused}")
    here = os.environ.get("NEBHX_AGENT_HOST") or None
    wanted = claim.inputs.get(brick_cls.host_input) if brick_cls.host_input else None
    if brick_cls.host_input and wanted != here:
        where = f"the agent of host {here!r}" if here else "a control worker (no host)"
        return Outcome(NodeStatus.FAILED, error=f"node {claim.node_id} is for host {wanted!r} but reached {where}")
    ctx = Context(run_id=claim.run_id, node_id=claim.node_id, attempt=claim.attempt,
                  secrets=claim.secrets, host=here)
    try:
        inputs = brick_cls.Inputs.model_validate(claim.inputs)
    except ValidationError as exc:
        return Outcome(NodeStatus.FAILED, error=_input_errors(exc, ctx))
    outcome = _run_brick(brick_cls, ctx, inputs, claim, ex)
    if (pkg := package_of(get_registry().sources.get(brick_cls.id, ""))) is not None:
        # Which code ran: the package is refetched when it changes, so the node says which one.
        outcome.log = (f"brick {brick_cls.id} from brick package {pkg['name']} {pkg['version']} "
                       f"(sha256:{pkg['sha256']})\n") + outcome.log
    return outcome


def _run_brick(brick_cls, ctx: Context, inputs, claim: Claim, ex: Execution) -> Outcome:
    settings = get_settings()
    hb = Heartbeat(ctx=ctx, attempt=claim.attempt, timeout_s=claim.timeout_s, interval=settings.heartbeat_s,
                   renew=lambda chunk: ex.renew(claim, chunk))
    hb.start()
    try:
        try:
            _take_lock(brick_cls, ctx, inputs, claim, ex)
            result = brick_cls().run(ctx, inputs)
        finally:
            hb.finish()
        outputs = brick_cls.Outputs.model_validate(result)
        outcome = Outcome(NodeStatus.SUCCEEDED, outputs=to_jsonable_python(_mark_secrets(dict(outputs))))
    except WaitFor as w:
        outcome = Outcome(NodeStatus.WAITING, wait={"reason": ctx.mask(w.reason), "timeout_s": w.timeout_s, **w.data})
    except NodeTimeout:
        outcome = Outcome(NodeStatus.FAILED, error=f"timed out after {claim.timeout_s:g}s (timeout_s)")
    except Cancelled:
        outcome = Outcome(NodeStatus.CANCELLED, error="cancelled")
    except BrickFailed as exc:
        outcome = Outcome(NodeStatus.FAILED, error=ctx.mask(str(exc)))
    except ValidationError as exc:
        outcome = Outcome(NodeStatus.FAILED, error=ctx.mask(f"brick returned bad outputs: {exc}"))
    except Exception as exc:  # a bug in a brick fails its node, never the worker
        ctx.log("%s", traceback.format_exc())
        outcome = Outcome(NodeStatus.FAILED, error=ctx.mask(f"{type(exc).__name__}: {exc}"))
    hb.finish()  # again: an interruption may have cut the first one short
    outcome.inputs = inputs.model_dump(mode="json")
    outcome.log = hb.take_log()
    return outcome


def _take_lock(brick_cls, ctx: Context, inputs, claim: Claim, ex: Execution) -> None:
    """The service lock of a brick that switches or restarts a service (engine.locks): wait
    for it (the lease renewed, a cancel noticed) or, with ``on_lock`` refuse, fail at once."""
    from nebhx.attempt.locks import REFUSE, describe, lock_key
    key = lock_key(brick_cls, inputs)
    if key is None:
        return
    told = None
    while (holder := ex.lock(claim, key)) is not None:
        if getattr(inputs, "on_lock", None) == REFUSE:
            raise BrickFailed(f"{describe(key, holder)}; on_lock is 'refuse'")
        if holder["run_id"] != told:
            ctx.log("waiting for lock held by run %s: %s", holder["run_id"], describe(key, holder))
            told = holder["run_id"]
        ctx.sleep(min(0.5, get_settings().heartbeat_s))
    if told:
        ctx.log("took the lock on service %s on host %s", key["service"], key["host"])


def _mark_secrets(obj: Any) -> Any:
    """Secret outputs travel as ``{"$plain": value}`` to whoever holds the key, which seals them."""
    if isinstance(obj, SecretStr):
        return {PLAIN: obj.get_secret_value()}
    if isinstance(obj, dict):
        return {k: _mark_secrets(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_mark_secrets(v) for v in obj]
    return obj


def _input_errors(exc: ValidationError, ctx: Context) -> str:
    parts = [f"input {'.'.join(map(str, e['loc'])) or '(inputs)'}: {e['msg']}" for e in exc.errors()]
    return ctx.mask("; ".join(parts))
