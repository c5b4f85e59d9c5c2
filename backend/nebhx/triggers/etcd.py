"""etcd triggers: a graph's ``meta.triggers`` entry of kind ``etcd`` starts a run of its latest
revision whenever a key under ``prefix`` changes in etcd (a config profile: nebhx.configs.etcd).

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

from nebhx.configs.etcd import Etcd
from nebhx.graphs.problem import Problem
from nebhx.statuses import RunStatus
from nebhx.store.models import RunRow, TriggerScheduleRow, utcnow

log = logging.getLogger("nebhx.etcd_trigger")
_watches: dict[str, Watch] = {}
_lock = threading.Lock()


def check_spec(spec: dict[str, Any], i: int, inputs: set, needed: set) -> list[Problem]:
    name, where = spec.get("name"), f"/meta/triggers/{i}"
    bad = lambda field, why: Problem("bad_trigger", f"trigger {name!r}: {field}: {why}",  # noqa: E731
                                     path=f"{where}/{field}")
    problems = [] if isinstance(name, str) and name else [bad("name", "an etcd trigger needs a name")]
    if not isinstance(spec.get("prefix"), str) or not spec["prefix"]:
        problems.append(bad("prefix", "the etcd key prefix to watch, e.g. '/nebhx/profiles/'"))
    endpoint = spec.get("endpoint")
    if endpoint is not None and not (isinstance(endpoint, str) and endpoint.startswith(("http://", "https://"))):
        problems.append(bad("endpoint", f"{endpoint!r} is not an http(s) URL of etcd"))
    elif endpoint is None and not endpoint_of(spec):  # else nothing would ever watch it
        problems.append(bad("endpoint", "no etcd endpoint: give one or set NEBHX_CONFIG_ETCD_URL on the server"))
    given = spec.get("inputs") or {}
    if not isinstance(given, dict):
        return [*problems, bad("inputs", "a map of graph input -> value")]
    problems += [bad("inputs", f"{k!r} is not an input of the graph") for k in given if k not in inputs]
    problems += [bad("inputs", f"graph input {k!r} is required and has no default: give it a value")
                 for k in sorted(needed - given.keys(), key=str)]
    return problems


def state(s, spec: dict[str, Any]) -> dict[str, Any]:
    """What GET /api/triggers shows of an etcd trigger: what it watches, the last revision taken."""
    row = s.get(TriggerScheduleRow, spec["name"])
    return {"endpoint": endpoint_of(spec), "prefix": spec.get("prefix"),
            "last_revision": row.last_tick if row else None, "last_run_id": row.last_run_id if row else None}


def endpoint_of(spec: dict[str, Any]) -> str:
    from nebhx.settings import get_settings
    return str(spec.get("endpoint") or get_settings().config_etcd_url)


def ensure_watches(session_for) -> None:
    """Start a watch for every declared etcd trigger, stop those no graph declares, and start
    the runs of changes that waited for an active run to end."""
    from nebhx.triggers.service import declared
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
