"""Triggers: a graph declares them in its document's ``meta.triggers``; a signed push to
``POST /api/triggers/{name}`` starts a run of the graph's latest revision.

    "meta": {"triggers": [{
        "name": "build-on-push",              # the webhook's path: /api/triggers/build-on-push
        "secret": "build-on-push-hook",       # a stored secret (nebhx secret NAME): the HMAC key
        "repository": "/srv/git/app.git",     # the repositories it answers (glob patterns; a list too)
        "refs": ["refs/heads/main"],          # optional: only these refs (glob patterns)
        "inputs": {"repository": "repository", "commit": "commit"}   # graph input <- push field
    }]}

A trigger of ``"kind": "schedule"`` (a cron expression) is started by the sweep instead:
see nebhx.triggers.schedule. Push fields: repository, ref, commit, before, branch, tag. The run records the trigger
(``runs.trigger``: name, sender kind, repository, ref, commit, received_at).
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nebhx.errors import NotFound
from nebhx.runs import service as runs
from nebhx.secrets.service import secret_value
from nebhx.store.models import RunRow, TriggerDeliveryRow, utcnow
from nebhx.triggers import payloads
from nebhx.triggers.schemas import RunTrigger, TriggerFired, TriggerRead, TriggerRun
from nebhx.triggers.signatures import WINDOWED, BadSignature, Delivery, verify

DEFAULT_INPUTS = {"repository": "repository", "ref": "ref", "commit": "commit"}


def declared(session: Session) -> list[dict[str, Any]]:
    """Every trigger of every graph's latest revision, with its graph (nebhx.triggers.index
    keeps the documents already read: a webhook does not read every graph's)."""
    from nebhx.triggers.index import declared as indexed
    return indexed(session)


def find_trigger(session: Session, *, name: str) -> dict[str, Any]:
    hits = [t for t in declared(session) if t["name"] == name]
    if not hits:
        raise NotFound(f"no trigger {name!r} (a graph declares triggers in meta.triggers)")
    if len(hits) > 1:
        raise runs.Conflict(f"trigger {name!r} is declared by graphs {', '.join(t['graph_id'] for t in hits)}")
    return hits[0]


def fire(session: Session, *, name: str, headers: Any, body: bytes) -> TriggerFired:
    """Check the signature, match the repository and ref, start the run; what happened.

    BadSignature (401) for a missing or wrong signature, Replayed (409) for a delivery taken
    before, NotFound (404) for an unknown trigger or repository; a ref the trigger does not
    follow or a deleted branch starts nothing."""
    trigger = find_trigger(session, name=name)
    if trigger.get("kind") == "schedule":
        raise NotFound(f"trigger {name!r} is a schedule (cron {trigger.get('cron')!r}), not a webhook")
    if trigger.get("kind") == "etcd":
        raise NotFound(f"trigger {name!r} watches etcd ({trigger.get('prefix')!r}), it is not a webhook")
    secret = secret_value(session, name=str(trigger.get("secret") or ""))
    if not secret:
        raise BadSignature(f"trigger {name!r} has no stored secret {trigger.get('secret')!r} "
                           "(nebhx secret NAME): nothing can be verified")
    delivery = verify(headers, body, secret)
    kind = delivery.kind
    _take(session, name, delivery)
    try:
        push = payloads.parse(json.loads(body or b"null"))
    except ValueError as exc:
        raise runs.BadInputs([{"input": "body", "message": str(exc)}]) from exc
    repository = payloads.matching_repository(push, trigger.get("repository"))
    if repository is None:
        raise NotFound(f"trigger {name!r} does not build repository {push.repositories[0]!r}")
    record = {"name": name, "kind": kind, "repository": repository, "ref": push.ref,
              "commit": push.commit, "received_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    if push.commit.strip("0") == "" or not payloads.ref_wanted(push.ref, trigger.get("refs")):
        why = "a deleted ref" if push.commit.strip("0") == "" else f"ref {push.ref} is not in the trigger's refs"
        return TriggerFired(started=False, reason=why, trigger=record)
    fields = push.fields(repository)
    mapping = trigger.get("inputs") or {k: v for k, v in DEFAULT_INPUTS.items() if k in trigger["input_names"]}
    inputs = {graph_input: fields.get(field, "") for graph_input, field in mapping.items()}
    run_id, _ = runs.create_run(session, graph_id=trigger["graph_id"], inputs=inputs)
    session.get(RunRow, run_id).trigger = record
    return TriggerFired(started=True, run_id=run_id, graph_id=trigger["graph_id"], inputs=inputs, trigger=record)


class Replayed(Exception):
    """A delivery the trigger took before."""


# How long a delivery with a signed time is remembered (far past its window); one without
# (Gitea, GitLab: nothing in their bodies says when the push was made) is kept for good.
RETAIN = timedelta(days=1)


def _take(session: Session, name: str, delivery: Delivery) -> None:
    """Remember ``delivery`` for the trigger; Replayed when it was taken before."""
    if session.get(TriggerDeliveryRow, (name, delivery.key)) is not None:
        raise Replayed(f"delivery {delivery.key} to trigger {name!r} was received before: a replay is refused "
                       "(push again to start a new run)")
    now = utcnow()
    session.execute(delete(TriggerDeliveryRow).where(TriggerDeliveryRow.received_at < now - RETAIN,
                                                     or_(*(TriggerDeliveryRow.key.startswith(f"{kind}:")
                                                           for kind in WINDOWED))))
    session.add(TriggerDeliveryRow(trigger=name, key=delivery.key, received_at=now))
    try:
        session.flush()
    except IntegrityError:  # the same delivery, taken by a concurrent request
        raise Replayed(f"delivery {delivery.key} to trigger {name!r} was received before") from None


def list_triggers(session: Session, *, recent: int = 5) -> list[TriggerRead]:
    """Declared triggers (the secret by name only) with their latest runs."""
    rows = session.execute(select(RunRow).where(RunRow.trigger.is_not(None))
                           .order_by(RunRow.created_at.desc()).limit(500)).scalars().all()
    from nebhx.triggers.etcd import state as etcd_state
    from nebhx.triggers.schedule import state
    out = []
    for t in declared(session):
        mine = [r for r in rows if (r.trigger or {}).get("name") == t["name"]][:recent]
        kind = t.get("kind") or "webhook"
        # Only a schedule has "schedule", only an etcd trigger "etcd": the route leaves unset fields out.
        extra = {"schedule": state(session, t)} if kind == "schedule" else \
            {"etcd": etcd_state(session, t)} if kind == "etcd" else {}
        out.append(TriggerRead(name=t["name"], kind=kind, graph_id=t["graph_id"], graph_name=t["graph_name"], **extra,
                               secret=t.get("secret"), repository=t.get("repository"), refs=t.get("refs"),
                               inputs=t.get("inputs") or DEFAULT_INPUTS,
                               runs=[TriggerRun(id=r.id, status=r.status, created_at=r.created_at,
                                                commit=r.trigger.get("commit"), ref=r.trigger.get("ref")) for r in mine]))
    return out


def run_trigger(session: Session, *, run_id: str) -> RunTrigger:
    """What triggered a run (``trigger`` None: a person or a client started it)."""
    row = session.get(RunRow, run_id)
    if row is None:
        raise NotFound(f"no run {run_id!r}")
    return RunTrigger(run_id=run_id, trigger=row.trigger)
