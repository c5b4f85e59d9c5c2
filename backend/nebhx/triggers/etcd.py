"""etcd triggers: a graph's ``meta.triggers`` entry of kind ``etcd`` starts a run of its latest
revision whenever a key under ``prefix`` changes in etcd (a config profile: nebhx.runtime.etcd).

    {"name": "web-config", "kind": "etcd",
     "prefix": "/nebhx/profiles/",              # keys watched (a prefix; one profile's key works too)
     "endpoint": "http://127.0.0.1:2379",       # optional: NEBHX_CONFIG_ETCD_URL
     "inputs": {"host": "h1"}}                  # graph input <- a fixed value

Every process that sweeps (nebhx.engine.sweeper) keeps one watch thread per declared etcd
trigger, (re)started by ``ensure_watches`` on each pass. A change's etcd revision is taken by
compare-and-set on the trigger's progress row (``trigger_schedules.last_tick`` holds the
revision, as it holds a schedule's tick), so two sweepers never start a run for the same
change. While a run of the trigger is still active the change waits and starts one run when
it ends (several changes meanwhile: one run, the newest). Changes made while no watch ran are
caught up at start: a key whose revision is newer than the last one handled starts one run.
The run records ``trigger``: name, kind, prefix, keys, revision.
"""
from __future__ import annotations

import logging
import threading
from typing import Any

import httpx
from sqlalchemy import update

from nebhx.runtime.etcd import Etcd
# The trigger's check (graph validation) lives in nebhx.graphs.trigger_checks, no store there; re-exported.
from nebhx.graphs.trigger_checks import check_etcd as check_spec  # noqa: F401
from nebhx.graphs.trigger_checks import endpoint_of
from nebhx.statuses import RunStatus
from nebhx.store.models import RunRow, TriggerScheduleRow, utcnow

log = logging.getLogger("nebhx.etcd_trigger")
_watches: dict[str, Watch] = {}
_lock = threading.Lock()


def state(s, spec: dict[str, Any]) -> dict[str, Any]:
    """What GET /api/triggers shows of an etcd trigger: what it watches, the last revision taken."""
    row = s.get(TriggerScheduleRow, spec["name"])
    return {"endpoint": endpoint_of(spec), "prefix": spec.get("prefix"),
            "last_revision": row.last_tick if row else None, "last_run_id": row.last_run_id if row else None}


def ensure_watches(session_for) -> None:
    """Start a watch for every declared etcd trigger, stop those no graph declares, and start
    the runs of changes that waited for an active run to end."""
    from nebhx.triggers.index import declared  # every graph's triggers, kept per revision
    with session_for() as s:
        specs = [t for t in declared(s) if t.get("kind") == "etcd" and isinstance(t.get("prefix"), str)]
    names = [t["name"] for t in specs]
    wanted = {t["name"]: t for t in specs if names.count(t["name"]) == 1 and endpoint_of(t)}
    with _lock:
        for name, w in list(_watches.items()):
            spec = wanted.get(name)
            if spec is None or not w.is_alive() or w.key != _key(spec):
                w.stop()
                del _watches[name]
        for name, spec in wanted.items():
            if name not in _watches:
                _watches[name] = Watch(spec, session_for)
                _watches[name].start()
        current = list(_watches.values())
    for w in current:
        w.flush_pending()


def _key(spec: dict[str, Any]) -> tuple:
    return (spec["graph_id"], endpoint_of(spec), spec["prefix"], repr(spec.get("inputs")))


class Watch(threading.Thread):
    """One trigger's watch: catch up, then follow etcd's stream; reconnect after a break."""

    def __init__(self, spec: dict[str, Any], session_for):
        super().__init__(name=f"etcd-watch-{spec['name']}", daemon=True)
        self.spec, self.session_for, self.key = spec, session_for, _key(spec)
        self.etcd = Etcd(endpoint_of(spec))
        self.stopped = threading.Event()
        self.client = httpx.Client(trust_env=False)
        self.pending: tuple[int, list[str]] | None = None
        self.fire_lock = threading.Lock()

    def stop(self) -> None:
        self.stopped.set()
        # Closing may not wake a read blocked in another thread; the 5 s read timeout does,
        # and a stopped watch fires nothing meanwhile.
        self.client.close()

    def run(self) -> None:
        start: int | None = None
        while not self.stopped.is_set():
            try:
                if start is None:
                    start = self._catch_up()
                for revision, entries in self.etcd.watch(self.spec["prefix"], start, self.client, read_timeout=5):
                    if self.stopped.is_set():
                        return  # a stopped watch starts nothing, even with an event in hand
                    self.fire(revision, [e.key for e in entries])
                    start = revision + 1
            except httpx.ReadTimeout:
                continue  # a quiet prefix: watch again from where it was (and notice a stop)
            except Exception as exc:  # etcd down, stream broken: catch up again shortly
                if not self.stopped.is_set():
                    log.warning("etcd trigger %s: watch interrupted (%s); reconnecting", self.spec["name"], exc)
                start = None
                self.stopped.wait(1.0)

    def _catch_up(self) -> int:
        entries, revision = self.etcd.range(self.spec["prefix"])
        with self.session_for() as s:
            row = s.get(TriggerScheduleRow, self.spec["name"])
            if row is None:  # first sight: changes from now on start runs, none from the past
                s.add(TriggerScheduleRow(name=self.spec["name"], graph_id=self.spec["graph_id"], last_tick=revision))
                return revision + 1
            last = row.last_tick
        missed = [e for e in entries if e.mod_revision > last]
        if missed:
            self.fire(max(e.mod_revision for e in missed), [e.key for e in missed])
        return max(revision, last) + 1

    def flush_pending(self) -> None:
        if self.pending is not None:
            self.fire(*self.pending)

    def fire(self, revision: int, keys: list[str]) -> None:
        with self.fire_lock:
            if self.stopped.is_set():
                return
            if self.pending and self.pending[0] > revision:
                revision, keys = self.pending[0], sorted({*keys, *self.pending[1]})
            with self.session_for() as s:
                self.pending = None if _fire(s, self.spec, revision, keys) is not False else (revision, keys)


def _fire(s, spec: dict[str, Any], revision: int, keys: list[str]) -> str | bool | None:
    """Take ``revision`` and start the run: its id; None when already taken (by another
    sweeper, or an older change); False when a run is still active (try again later)."""
    row = s.get(TriggerScheduleRow, spec["name"])
    last = row.last_tick if row else 0
    if revision <= last:
        return None
    active = s.query(RunRow.id).filter(RunRow.graph_id == spec["graph_id"], RunRow.status == RunStatus.RUNNING,
                                       RunRow.trigger["name"].as_string() == spec["name"]).first()
    if active:
        return False
    taken = s.execute(update(TriggerScheduleRow).where(TriggerScheduleRow.name == spec["name"],
                                                       TriggerScheduleRow.last_tick == last)
                      .values(last_tick=revision, graph_id=spec["graph_id"], updated_at=utcnow()))
    if taken.rowcount != 1:
        return None
    from nebhx.runs import service as runs
    run_id, _ = runs.create_run(s, graph_id=spec["graph_id"], inputs=dict(spec.get("inputs") or {}))
    s.get(RunRow, run_id).trigger = {"name": spec["name"], "kind": "etcd", "prefix": spec["prefix"],
                                     "keys": sorted(keys), "revision": revision,
                                     "received_at": utcnow().isoformat(timespec="seconds")}
    s.execute(update(TriggerScheduleRow).where(TriggerScheduleRow.name == spec["name"]).values(last_run_id=run_id))
    log.info("etcd trigger %s started run %s for revision %d (%s)", spec["name"], run_id, revision, ", ".join(keys))
    return run_id


def watch_all(settings: Any) -> None:
    """The sweep's job (``nebhx.process.sweeper``): keep the watches of etcd triggers running in
    the process that sweeps."""
    from nebhx.store.db import session_scope
    try:
        ensure_watches(lambda: session_scope(settings.db_url))
    except Exception:  # logged here: an etcd trigger's trouble must not pass for a store outage
        log.exception("etcd triggers could not be checked")
