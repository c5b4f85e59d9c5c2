"""Schedule triggers: a graph's ``meta.triggers`` entry of kind ``schedule`` starts a run of
its latest revision on every tick of a cron expression (croniter; a sixth field is seconds).

    {"name": "nightly", "kind": "schedule", "cron": "30 2 * * *",
     "inputs": {"selector": "role=web"},   # graph input <- a fixed value
     "concurrency": 1}                     # runs of this trigger at once (alias max_active)

The sweep (nebhx.engine.sweeper) calls ``fire_due`` on each pass, in every process that
sweeps. Per trigger, ``trigger_schedules.last_tick`` is the latest tick handled; a tick is
taken by a compare-and-set on it in the transaction that creates the run, so two sweepers,
or one restarted, never start the same tick twice. A tick when ``concurrency`` runs are
still active is skipped: counted and its reason kept on the row and logged; so is a tick
whose run could not start (the error is the reason). A schedule name two graphs declare
starts neither, as a webhook of two graphs answers 409. Ticks missed
while nothing swept start one run (the latest), which records how many it stands for.
Times are UTC.
"""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from croniter import croniter
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

# The graph validator's check of meta.triggers lives in nebhx.graphs.trigger_checks (no store there).
from nebhx.graphs.trigger_checks import check_triggers as check_triggers
from nebhx.statuses import RunStatus
from nebhx.store.models import RunRow, TriggerScheduleRow, utcnow

if TYPE_CHECKING:
    from nebhx.settings import Settings

log = logging.getLogger("nebhx.schedule")
MAX_MISSED_COUNTED = 1000


def concurrency(spec: dict[str, Any]) -> int:
    value = spec.get("concurrency", spec.get("max_active", 1))
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 1


def latest_tick(cron: str, now: datetime) -> int:
    """The latest tick at or before ``now``, in epoch seconds."""
    return int(croniter(cron, now).get_prev(float))


def next_tick(cron: str, after: float) -> datetime:
    return datetime.fromtimestamp(croniter(cron, after).get_next(float), timezone.utc)


def fire_due(session_for, *, now: datetime | None = None) -> list[dict[str, Any]]:
    """Start the runs of every schedule trigger with a tick due; what each did.
    ``session_for``: a context manager giving one session (one transaction) per trigger."""
    from nebhx.triggers.index import declared  # every graph's triggers, kept per revision
    now = now or utcnow()
    with session_for() as s:
        every = declared(s)
        specs = [t for t in every if t.get("kind") == "schedule" and croniter.is_valid(str(t.get("cron")))]
        # etcd triggers keep their last revision in the same table (nebhx.triggers.etcd).
        _forget_removed(s, {t["name"] for t in specs} | {t["name"] for t in every if t.get("kind") == "etcd"})
    specs = _unambiguous(specs)
    done = []
    for spec in specs:
        try:
            with session_for() as s:
                if (what := _fire_one(s, spec, now)) is not None:
                    done.append(what)
        except IntegrityError:  # another sweeper recorded the trigger's first sight first
            continue
        except Exception as exc:  # one trigger's trouble (an input its graph refuses...) stops no other
            log.exception("schedule trigger %s could not start a run", spec["name"])
            _give_up_tick(session_for, spec, now, exc)
    return done


def _give_up_tick(session_for, spec: dict[str, Any], now: datetime, exc: Exception) -> None:
    """The tick whose run could not start is taken and counted as skipped, with the error as
    its reason (nebhx trigger list shows it): else every sweep, every second, would retry it
    and log the same traceback until the next tick."""
    try:
        with session_for() as s:
            row, tick = s.get(TriggerScheduleRow, spec["name"]), latest_tick(spec["cron"], now)
            if row is not None and tick > row.last_tick and _take(s, spec, row.last_tick, tick):
                _skip(s, spec["name"], tick, f"the run could not start: {exc}")
    except Exception:  # the store itself is out: the next sweep tries the tick again
        log.debug("schedule trigger %s: tick not recorded as skipped", spec["name"], exc_info=True)


_ambiguous_told: set[tuple[str, ...]] = set()


def _unambiguous(specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop a schedule name two graphs declare: its progress row is keyed by name, so the
    graph swept first would take every tick and the other would silently never run (a
    webhook of two graphs answers 409 for the same reason). Logged once per set of graphs."""
    graphs: dict[str, list[str]] = {}
    for t in specs:
        graphs.setdefault(t["name"], []).append(t["graph_id"])
    for name, ids in graphs.items():
        if len(ids) > 1 and (name, *ids) not in _ambiguous_told:
            _ambiguous_told.add((name, *ids))
            log.error("schedule trigger %s is declared by graphs %s: none of them is started until "
                      "only one declares it", name, ", ".join(ids))
    return [t for t in specs if len(graphs[t["name"]]) == 1]


def _forget_removed(s: Session, names: set[str]) -> None:
    """A schedule no graph declares any more loses its row: declared again later, it starts
    afresh at its next tick instead of catching up on the ticks of its absence."""
    stale = [n for n in s.execute(select(TriggerScheduleRow.name)).scalars() if n not in names]
    if stale:  # the common case writes nothing: no lock taken on every sweep
        s.execute(delete(TriggerScheduleRow).where(TriggerScheduleRow.name.in_(stale)))


def _fire_one(s: Session, spec: dict[str, Any], now: datetime) -> dict[str, Any] | None:
    name, cron = spec["name"], spec["cron"]
    tick = latest_tick(cron, now)
    row = s.get(TriggerScheduleRow, name)
    if row is None:  # first sight: the next tick is the first to fire, none from the past
        s.add(TriggerScheduleRow(name=name, graph_id=spec["graph_id"], last_tick=tick))
        s.flush()
        return None
    last = row.last_tick  # read now: the UPDATE below also refreshes ``row``
    if tick <= last:
        return None
    if not _take(s, spec, last, tick):
        return None  # another sweeper took this tick
    missed = _missed(cron, last, tick)
    active = _active_runs(s, spec)
    if len(active) >= concurrency(spec):
        return _skip(s, name, tick, f"{len(active)} run(s) of trigger {name!r} still active "
                                    f"({', '.join(active)}); concurrency {concurrency(spec)}")
    return _start(s, spec, tick, missed)


def _take(s: Session, spec: dict[str, Any], last: int, tick: int) -> bool:
    """Compare-and-set ``last_tick`` from ``last`` to ``tick``: False when another sweeper did."""
    taken = s.execute(update(TriggerScheduleRow).where(TriggerScheduleRow.name == spec["name"],
                                                       TriggerScheduleRow.last_tick == last)
                      .values(last_tick=tick, graph_id=spec["graph_id"], updated_at=utcnow()))
    return taken.rowcount == 1


def _missed(cron: str, last: int, tick: int) -> int:
    it, count = croniter(cron, float(last)), 0
    while count < MAX_MISSED_COUNTED and it.get_next(float) < tick:
        count += 1
    return count


def _active_runs(s: Session, spec: dict[str, Any]) -> list[str]:
    query = select(RunRow.id).where(RunRow.graph_id == spec["graph_id"], RunRow.status == RunStatus.RUNNING,
                                    RunRow.trigger["name"].as_string() == spec["name"])
    return list(s.execute(query).scalars())


def _skip(s: Session, name: str, tick: int, reason: str) -> dict[str, Any]:
    at = datetime.fromtimestamp(tick, timezone.utc).isoformat()
    s.execute(update(TriggerScheduleRow).where(TriggerScheduleRow.name == name)
              .values(skipped=TriggerScheduleRow.skipped + 1, last_skip_reason=f"tick {at} skipped: {reason}",
                      last_skip_at=utcnow()))
    log.warning("schedule trigger %s: tick %s skipped: %s", name, at, reason)
    return {"name": name, "tick": at, "started": False, "reason": reason}


def _start(s: Session, spec: dict[str, Any], tick: int, missed: int) -> dict[str, Any]:
    from nebhx.runs import service as runs
    record = {"name": spec["name"], "kind": "schedule", "cron": spec["cron"],
              "tick": datetime.fromtimestamp(tick, timezone.utc).isoformat(),
              "received_at": utcnow().isoformat(timespec="seconds")}
    if missed:
        record["missed"] = missed  # ticks no sweep saw (the control plane was down): one run for all
    run_id, _ = runs.create_run(s, graph_id=spec["graph_id"], inputs=dict(spec.get("inputs") or {}))
    s.get(RunRow, run_id).trigger = record
    s.execute(update(TriggerScheduleRow).where(TriggerScheduleRow.name == spec["name"])
              .values(last_run_id=run_id))
    log.info("schedule trigger %s started run %s for tick %s", spec["name"], run_id, record["tick"])
    return {**record, "started": True, "run_id": run_id}


def state(s: Session, spec: dict[str, Any]) -> dict[str, Any]:
    """What GET /api/triggers shows of a schedule: next tick, last tick, skips."""
    row = s.get(TriggerScheduleRow, spec["name"])
    last = row.last_tick if row else None
    valid = croniter.is_valid(str(spec.get("cron")))
    after = max(last or 0, utcnow().timestamp())
    return {"cron": spec.get("cron"), "concurrency": concurrency(spec),
            "next_at": next_tick(spec["cron"], after).isoformat() if valid else None,
            "last_tick": datetime.fromtimestamp(last, timezone.utc).isoformat() if last else None,
            "last_run_id": row.last_run_id if row else None, "skipped": row.skipped if row else 0,
            "last_skip_reason": row.last_skip_reason if row else None}


def fire_schedules(settings: Settings) -> None:
    """The sweep's job (``nebhx.process.sweeper``): start the runs of due schedule ticks."""
    # Here rather than in a daemon of its own: the sweep already runs wherever the control
    # plane does, and each tick is taken by compare-and-set, so several sweepers are safe.
    from nebhx.store.db import session_scope
    try:
        fire_due(lambda: session_scope(settings.db_url))
    except Exception:  # logged here: a schedule's trouble must not pass for a store outage
        log.exception("schedule triggers could not be checked")
