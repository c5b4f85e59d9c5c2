"""Claim, lease and finish a node against the store (``nebhx.attempt.claims.Execution``).

Two implementations: ``DbExecution`` here (control-plane workers, and the server side of
the execution API) and ``agent.client.HttpExecution`` (agents on managed hosts, which
hold no database URL and no key). Both hand out a ``Claim`` with the node's inputs already
unsealed and the plain values of the secrets it uses, and take back an ``Outcome``.
"""
from __future__ import annotations

import logging
import os
from collections import OrderedDict
from dataclasses import replace
from typing import Any

from sqlalchemy import update

from nebhx.attempt.claims import PLAIN, Claim, Outcome
from nebhx.engine import scheduler, transitions
from nebhx.engine.dispatch import FOLLOW, Follow
from nebhx.engine.loading import plan_for
from nebhx.engine.plan import TERMINAL
from nebhx.engine.resolve import CONTROL_QUEUE, resolve_inputs, split_id
from nebhx.engine.statements import NODES, changed, sql
from nebhx.statuses import EventStatus, NodeStatus, RunStatus
from nebhx.sealing.crypto import mask_values, secret_values, seal, unseal_tree
from nebhx.store.db import session_scope
from nebhx.store.models import NodeRow, utcnow

log = logging.getLogger("nebhx.engine")
N = NodeStatus
__all__ = ["PLAIN", "Claim", "DbExecution", "Outcome", "seal_plain"]  # Claim, Outcome: nebhx.attempt's


def seal_plain(obj: Any) -> Any:
    """``{"$plain": v}`` (a Secret output as a brick returned it) -> its sealed form."""
    if isinstance(obj, dict):
        if len(obj) == 1 and PLAIN in obj and isinstance(obj[PLAIN], str):
            return seal(obj[PLAIN])
        return {k: seal_plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [seal_plain(v) for v in obj]
    return obj


def _text(value: str | None) -> str | None:
    # PostgreSQL text cannot hold NUL; a brick's log may print anything.
    return value.replace("\x00", "\ufffd") if value and "\x00" in value else value


def _within_limits(outcome: Outcome) -> Outcome:
    """An outcome the store can keep: outputs within the JSON limits (no NaN, no 2^70, 64
    levels at most), text without NUL. Outputs over a limit fail the node, naming where."""
    from nebhx.limits import LimitError, check_value
    outcome = replace(outcome, error=_text(outcome.error), log=_text(outcome.log) or "")
    try:
        check_value(outcome.outputs, root="/outputs")
        check_value(outcome.wait, root="/wait")
        check_value(outcome.inputs, root="/inputs")
    except LimitError as exc:
        return Outcome(N.FAILED, error=f"the brick's result cannot be kept: {exc}", log=outcome.log)
    return outcome


def _masked(outcome: Outcome, secrets: list[str]) -> Outcome:
    """Whatever reported the outcome, no value of a secret the node used is kept in clear."""
    if not secrets:
        return outcome
    return replace(outcome, outputs=mask_values(outcome.outputs, secrets),
                   error=mask_values(outcome.error, secrets), wait=mask_values(outcome.wait, secrets),
                   inputs=mask_values(outcome.inputs, secrets), log=mask_values(outcome.log, secrets))


class DbExecution:
    """Claim, renew and finish against the store (the control plane's side)."""

    def __init__(self, url: str | None = None, retry_base_s: float | None = None):
        from nebhx.settings import get_settings
        settings = get_settings()
        self.url = url or settings.db_url
        self.retry_base_s = settings.retry_base_s if retry_base_s is None else retry_base_s
        self._secrets: OrderedDict[tuple[str, str, int], list[str]] = OrderedDict()

    def claim(self, run_id: str, node_id: str, attempt: int, *, host: str | None = None,
              expect_host: bool = False, by: str | None = None) -> Claim | None:
        """Mark this attempt running; None if it is stale, already taken, or (``expect_host``)
        not routed to ``host``. Preparation errors come back as ``Claim.error``."""
        with session_scope(self.url, autocommit=True) as s:  # the claim is one statement; the rest reads
            run = scheduler.run_head(s, run_id)  # a claim advances nothing: no run lock
            plan = plan_for(s, run.graph_id, run.revision) if run else None
            base = split_id(node_id)[0]
            if run is None or plan is None or base not in plan.nodes:
                return None
            node = plan.nodes[base]
            on_host = host if expect_host else None
            by = by or os.environ.get("NEBHX_WORKER_ID")
            if not transitions.claim(s, run_id, node_id, attempt, until=scheduler.deadline(node.timeout_s),
                                     on_host=on_host, by=by):
                return None
            claim = self._prepared(s, run, plan, Claim(run_id, node_id, attempt, node.brick, node.timeout_s, host))
        return claim

    def claim_many(self, run_id: str, items: list[tuple[str, int]]) -> list[Claim]:
        """Mark these attempts of items of one fan-out (a control node's: no host) running in one
        statement; the claims of those that were still queued, in the order given."""
        with session_scope(self.url, autocommit=True) as s:
            run = scheduler.run_head(s, run_id)
            plan = plan_for(s, run.graph_id, run.revision) if run else None
            base = split_id(items[0][0])[0] if items else ""
            if run is None or plan is None or base not in plan.nodes:
                return []
            node = plan.nodes[base]
            taken = set(transitions.claim_many(s, run_id, items, until=scheduler.deadline(node.timeout_s),
                                               by=os.environ.get("NEBHX_WORKER_ID")))
            return [self._prepared(s, run, plan, Claim(run_id, nid, attempt, node.brick, node.timeout_s))
                    for nid, attempt in items if nid in taken]

    def _prepared(self, s, run, plan, claim: Claim) -> Claim:
        """The claim with its node's inputs resolved; errors come back as ``Claim.error``."""
        try:
            raw = resolve_inputs(s, run, plan, claim.node_id)
            claim.secrets = secret_values(raw)
            claim.inputs = unseal_tree(raw)
        except Exception as exc:  # bad input, an undecryptable secret, a too-deep param...
            claim.error = f"could not prepare the node's inputs: {type(exc).__name__}: {exc}"[:2000]
            claim.inputs, claim.secrets = {}, []
        self._remember(claim)
        return claim

    def _remember(self, claim: Claim) -> None:
        self._secrets[(claim.run_id, claim.node_id, claim.attempt)] = claim.secrets
        if len(self._secrets) > 4096:
            self._secrets.popitem(last=False)

    def secrets_of(self, run_id: str, node_id: str, attempt: int) -> list[str]:
        """The plain secret values of a claimed node (re-read when another process claimed it)."""
        key = (run_id, node_id, attempt)
        if key not in self._secrets:
            with session_scope(self.url) as s:
                run = scheduler.run_head(s, run_id)
                try:
                    if run is None:
                        raise LookupError(f"no run {run_id}")
                    raw = resolve_inputs(s, run, plan_for(s, run.graph_id, run.revision), node_id)
                    self._secrets[key] = secret_values(raw)
                except Exception:
                    self._secrets[key] = []
        return self._secrets[key]

    def renew(self, claim: Claim, log_chunk: str) -> bool:
        """Renew the lease and append to the log; False once the attempt is no longer running."""
        chunk = _text(mask_values(log_chunk, self.secrets_of(claim.run_id, claim.node_id, claim.attempt)))
        with session_scope(self.url) as s:
            res = s.execute(update(NodeRow).where(
                NodeRow.run_id == claim.run_id, NodeRow.node_id == claim.node_id,
                NodeRow.status == N.RUNNING, NodeRow.attempt == claim.attempt,
            ).values(heartbeat_at=utcnow(), log=NodeRow.log + chunk))
            return changed(res) == 1

    def lock(self, claim: Claim, key: dict[str, str]) -> dict[str, Any] | None:
        """Take the service lock ``key`` for the claim's run (nebhx.engine.locks): None once it
        holds it, else the holder, which the node's ``wait`` shows while it runs and waits."""
        from nebhx.attempt.locks import describe
        from nebhx.engine import locks
        with session_scope(self.url) as s:
            holder = locks.try_lock(s, key, claim.run_id, claim.node_id)
            wait = {"reason": f"waiting for lock held by run {holder['run_id']}: {describe(key, holder)}",
                    "lock": {**key, **holder}} if holder else {}
            s.execute(update(NodeRow).where(
                NodeRow.run_id == claim.run_id, NodeRow.node_id == claim.node_id,
                NodeRow.status == N.RUNNING, NodeRow.attempt == claim.attempt).values(wait=wait))
            return holder

    def finish(self, claim: Claim, outcome: Outcome) -> bool:
        """Record the attempt's outcome; False when it is refused: the attempt is no longer the
        node's running one (it was taken for lost, timed out or cancelled meanwhile)."""
        outcome = self._kept(claim, outcome)
        return _record(claim.run_id, claim.node_id, claim.attempt, outcome, self.url, self.retry_base_s)

    def finish_next(self, claim: Claim, outcome: Outcome) -> tuple[bool, Claim | None]:
        """``finish``, and one successor it readies for the control queue claimed for this
        process in the same transaction, to run next (engine.execute.execute_following):
        whether it was recorded, and that successor's claim, if any."""
        follow = Follow(CONTROL_QUEUE, os.environ.get("NEBHX_WORKER_ID"))
        done = _record(claim.run_id, claim.node_id, claim.attempt, self._kept(claim, outcome), self.url,
                       self.retry_base_s, follow=follow, prepare=self._prepared)
        return done, follow.claim

    def finish_many(self, ends: list[tuple[Claim, Outcome]]) -> None:
        """Record successful ends of items of one run in one transaction (engine.chunks)."""
        _record_many([(claim, self._kept(claim, outcome)) for claim, outcome in ends], self.url, self.retry_base_s)

    def _kept(self, claim: Claim, outcome: Outcome) -> Outcome:
        """The outcome as the store keeps it: secret outputs sealed, limits held, secrets masked."""
        secrets = self._secrets.pop((claim.run_id, claim.node_id, claim.attempt), None)
        if secrets is None:
            secrets = self.secrets_of(claim.run_id, claim.node_id, claim.attempt)
            self._secrets.pop((claim.run_id, claim.node_id, claim.attempt), None)
        return _masked(_within_limits(replace(outcome, outputs=seal_plain(outcome.outputs))), secrets)


def _record(run_id, node_id, attempt, outcome: Outcome, url: str, retry_base: float,
            follow: Follow | None = None, prepare=None) -> bool:
    """Record the outcome and advance the run; a successor claimed for ``follow``'s worker gets
    its claim ``prepare``d (inputs resolved) in the same transaction."""
    with session_scope(url) as s:
        head = scheduler.run_head(s, run_id)
        if head is None:  # deleted while the brick ran
            return False
        plan = plan_for(s, head.graph_id, head.revision)
        node = plan.nodes[split_id(node_id)[0]]
        if follow is not None:
            s.info[FOLLOW] = follow
        if outcome.status not in TERMINAL or outcome.inputs is None or (outcome.status == N.FAILED and node.retries):
            done = _record_other(s, run_id, node_id, attempt, outcome, plan, node, retry_base)
        elif (run := _end(s, head, node_id, attempt, outcome)) is not None:
            scheduler.after_node(s, run, plan, node_id, outcome.status)
            done = True
        else:
            return False
        if follow is not None and follow.taken is not None and prepare is not None:
            nid, taken = follow.taken
            nxt = plan.nodes[split_id(nid)[0]]
            follow.claim = prepare(s, head, plan, Claim(run_id, nid, taken, nxt.brick, nxt.timeout_s))
        return done


def _record_many(ends: list[tuple[Claim, Outcome]], url: str, retry_base: float) -> None:
    """Successful ends of one run's nodes in one transaction: each row ended by its own
    compare-and-set, the run advanced once per fan-out after them (its gather counts rows)."""
    later: list[tuple[Claim, Outcome]] = []
    with session_scope(url) as s:
        head = scheduler.run_head(s, ends[0][0].run_id)
        if head is None:  # deleted while the bricks ran
            return
        plan = plan_for(s, head.graph_id, head.revision)
        run = scheduler.lock_run(s, head.id)  # see scheduler: one advance at a time
        if run is None:
            return
        ok = [o.status == N.SUCCEEDED and o.inputs is not None for _, o in ends]  # else: broke a limit
        later = [end for end, fine in zip(ends, ok) if not fine]
        moved = transitions.finish_many(s, run.id, [
            (c.node_id, c.attempt, o.log, o.inputs or {}, o.outputs or {}) for (c, o), fine in zip(ends, ok) if fine])
        last = {split_id(node_id)[0]: node_id for node_id in moved}  # a fan-out gathers once
        for node_id in last.values():
            scheduler.after_node(s, run, plan, node_id, N.SUCCEEDED)
    for claim, outcome in later:
        _record(claim.run_id, claim.node_id, claim.attempt, outcome, url, retry_base)


def _end(s, head: scheduler.RunHead, node_id: str, attempt: int, outcome: Outcome) -> scheduler.RunHead | None:
    """Lock the run, then end the node if it is still this attempt's: the run as locked, or None."""
    pg = sql(s).pg  # PostgreSQL locks the run in the finishing statement itself
    run = None if pg else scheduler.lock_run(s, head.id)  # see scheduler: one advance at a time
    if not pg and run is None:
        return None
    row = transitions.finish(s, head.id, node_id, attempt, outcome.status, error=outcome.error, log=outcome.log,
                             inputs=outcome.inputs, outputs=outcome.outputs or {})
    if row is None:
        return None
    return replace(head, status=row[0], finished_at=row[1]) if pg else run


def _record_other(s, run_id, node_id, attempt, outcome: Outcome, plan, node, retry_base: float) -> bool:
    """A wait, a retry, or an end before the brick ran (no inputs to show)."""
    run = scheduler.lock_run(s, run_id)
    if run is None:
        return False
    common = dict(log=NODES.c.log + outcome.log, **({"inputs": outcome.inputs} if outcome.inputs is not None else {}))
    row = s.get(NodeRow, (run_id, node_id)) if outcome.status == N.FAILED and node.retries else None
    if row is not None and row.failures < node.retries and run.status == RunStatus.RUNNING:
        if not scheduler.note(s, run_id, node_id, N.RUNNING, attempt=attempt, error=outcome.error, **common):
            return False
        transitions.step(s, run_id, node_id, EventStatus.RETRYING, error=outcome.error, attempt=attempt)
        wait = scheduler.backoff_s(row.failures + 1, retry_base)
        scheduler.queue_node(s, run, plan, node_id, expect=N.RUNNING, countdown=wait, failures=row.failures + 1)
        return True
    values = dict(error=outcome.error, **common)
    if outcome.status == N.WAITING:
        values.update(wait=outcome.wait, deadline_at=scheduler.deadline((outcome.wait or {}).get("timeout_s")))
    else:
        values.update(finished_at=utcnow(), outputs=outcome.outputs or {})
    data = {**({"error": outcome.error} if outcome.error else {}),
            **({"reason": outcome.wait["reason"]} if outcome.wait else {})}
    if not transitions.transition(s, run_id, node_id, outcome.status, expect=N.RUNNING, attempt=attempt,
                                  data=data, **values):
        return False
    if outcome.status != N.WAITING:
        scheduler.after_node(s, run, plan, node_id, outcome.status)
    return True
