"""Releases view and rollback by hand.

The view reads what each host's agent last reported on its heartbeat (the hosts table's
``services``, extended by ``nebhx.runtime.services.release_view``): per service instance
the active, previous and prepared release, pinned and committed ones, one rolled back by
the last rollout, the config version and the health its probe found. Rollback by hand
starts one ordinary run of a one-node graph (``rollout.rollback`` fanned out over the
hosts, ``batch`` at a time), stored as nebhx's own graph ``ROLLBACK_GRAPH``: its runs are
listed like any run, the graph is in no graph list or palette.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from nebhx.errors import Conflict, NotFound
from nebhx.graphs.schemas import PlanRead
from nebhx.graphs.service import ensure_graph
from nebhx.hosts.service import host_state, seen_at
from nebhx.releases.schemas import Health, ReleaseRow
from nebhx.runs import service as runs
from nebhx.runs.schemas import RunRead
from nebhx.store.models import HostRow

ROLLBACK_GRAPH = "nebhx-rollback"


def _row(host: HostRow, svc: dict[str, Any]) -> ReleaseRow:
    releases = svc.get("releases") or []
    pick = lambda flag: next((r["id"] for r in releases if r.get(flag)), None)  # noqa: E731
    rollout = svc.get("rollout") or {}
    probe = svc.get("last_probe") or {}
    return ReleaseRow(host=host.name, host_state=host_state(host), seen_at=seen_at(host, svc),
                      service=svc.get("service"), instance=svc.get("instance"), program=svc.get("program"),
                      active=svc.get("release") or pick("active"), previous=pick("previous"),
                      prepared=pick("prepared"), config_version=svc.get("config_version"),
                      state=svc.get("state"), pid=svc.get("pid"), runtime=svc.get("runtime"),
                      image=svc.get("image"),
                      health=Health(ok=probe.get("ok"), error=probe.get("error"), at=probe.get("at")),
                      liveness=svc.get("liveness"), phase=rollout.get("phase"), error=rollout.get("error"),
                      releases=releases)


def list_releases(session: Session, *, host: str | None = None,
                  service: str | None = None) -> list[ReleaseRow]:
    """One row per service instance per host, sorted by host, service and instance."""
    query = select(HostRow).order_by(HostRow.name)
    if host:
        query = query.where(HostRow.name == host)
    rows = [_row(h, svc) for h in session.execute(query).scalars() for svc in (h.services or [])
            if not service or svc.get("service") == service]
    return sorted(rows, key=lambda r: (r.host, r.service or "", r.instance or ""))


def rollback_graph(batch: int = 1) -> dict[str, Any]:
    text = {"type": "string", "required": False}
    return {
        "format": "nebhx/graph@1", "name": ROLLBACK_GRAPH,
        "description": "Roll a service instance back by hand (nebhx rollback) on one or more hosts, "
                       "`batch` at a time, in one run: the release and config each ran before its "
                       "last switch (with switched_by, only hosts that run switched), the data as "
                       "data_policy says.",
        "inputs": [{"name": "hosts", "type": "HostRef[]", "required": True},
                   {"name": "service", "type": "string", "required": True},
                   {"name": "instance", **text, "default": ""},
                   {"name": "data_policy", **text, "default": "keep_new"},
                   {"name": "lb_name", **text, "default": ""},
                   {"name": "lb_stats", "type": "Address", "required": False, "default": ""},
                   {"name": "lb_agent_port", "type": "integer", "required": False},
                   {"name": "switched_by", **text, "default": ""},
                   {"name": "release_id", **text, "default": ""}],
        "nodes": [{"id": "rollback", "brick": "rollout.rollback", "position": {"x": 0, "y": 0},
                   "for_each": "host", "batch": batch,
                   "params": {"host": {"$input": "hosts"}, **{k: {"$input": k} for k in (
                       "service", "instance", "data_policy", "lb_name", "lb_stats", "lb_agent_port",
                       "switched_by", "release_id")}}}],
        "edges": [],
        "outputs": [{"name": k, "from": {"node": "rollback", "port": k}}
                    for k in ("rolled_back_host", "release_id", "restored_snapshot", "summary")],
    }


def _hosts_running(session: Session, service: str) -> list[str]:
    return [h.name for h in session.execute(select(HostRow).order_by(HostRow.name)).scalars()
            if any(svc.get("service") == service for svc in h.services or [])]


def _rollback_inputs(session: Session, *, service: str, host: str | None = None,
                     hosts: list[str] | None = None, run: str | None = None, instance: str = "",
                     data_policy: str = "keep_new", lb_name: str = "", lb_stats: str = "",
                     lb_agent_port: int | None = None, batch: int = 1, release: str | None = None) -> dict[str, Any]:
    """The rollback graph's inputs; with ``run``, hosts that run did not switch are left alone
    (default: every host reporting ``service``). Every host must be known; a chosen ``release``
    must be staged on them and not run there already."""
    names = list(dict.fromkeys([*([host] if host else []), *(hosts or [])])) or \
        (_hosts_running(session, service) if run else [])
    if not names:
        raise NotFound(f"no host reports service {service!r}: name hosts with --host")
    for name in names:
        if session.get(HostRow, name) is None:
            raise NotFound(f"no host {name!r}: see `nebhx hosts`")
    chosen = chosen_release(session, hosts=names, service=service, instance=instance, release=release,
                            every=not run) if release else ""
    return {"hosts": names, "service": service, "instance": instance, "data_policy": data_policy,
            "lb_name": lb_name, "lb_stats": lb_stats, "switched_by": run or "", "release_id": chosen,
            **({"lb_agent_port": lb_agent_port} if lb_agent_port else {})}


def _match(staged: list[dict[str, Any]], given: str) -> list[dict[str, Any]]:
    """The staged releases ``given`` names: by id, else by sha256 or build commit (8+ hex digits
    of its start, ``sha256:`` allowed)."""
    exact = [r for r in staged if r.get("id") == given]
    digits = given.lower().removeprefix("sha256:")
    if exact or len(digits) < 8 or not all(c in "0123456789abcdef" for c in digits):
        return exact
    return [r for r in staged if any(str(r.get(k) or "").lower().startswith(digits) for k in ("sha256", "commit"))]


def chosen_release(session: Session, *, hosts: list[str], service: str, instance: str, release: str,
                   every: bool = True) -> str:
    """The id of the staged ``release`` to go back to, as each host's agent last reported: a
    Conflict names the host where it is gone (retention removed it), already runs, or is
    ambiguous. Not ``every`` (a run's hosts): the hosts that have it are enough."""
    ids, problems = set(), []
    for name in hosts:
        svc = next((x for x in session.get(HostRow, name).services or [] if x.get("service") == service
                    and (x.get("instance") or "") == (instance or "")), {})
        staged = svc.get("releases") or []
        found = _match(staged, release)
        if len(found) != 1:
            known = ", ".join(r["id"] for r in staged) or "none"
            problems.append(f"release {release!r} of {service!r} is " + (
                f"ambiguous on host {name}: it names {', '.join(r['id'] for r in found)}" if found else
                f"not staged on host {name} (removed by retention, or never staged there; staged: {known})"))
        elif found[0]["id"] == (svc.get("release") or next((r["id"] for r in staged if r.get("active")), None)):
            problems.append(f"release {found[0]['id']!r} is what {service!r} runs on host {name} now: "
                            "choose an earlier one")
        else:
            ids.add(found[0]["id"])
    if problems and (every or not ids):
        raise Conflict("; ".join(problems))
    if len(ids) > 1:
        raise Conflict(f"release {release!r} names different releases on the hosts ({', '.join(sorted(ids))}): give its id")
    return ids.pop()


def start_rollback(session: Session, *, batch: int = 1, **given: Any) -> RunRead:
    """Start one rollback run over the hosts (``batch`` at a time); the run as started."""
    inputs = _rollback_inputs(session, **given)
    graph_id, revision = ensure_graph(session, doc=rollback_graph(batch), system=True)
    run_id, _ = runs.create_run(session, graph_id=graph_id, revision=revision, inputs=inputs)
    return runs.get_run(session, run_id=run_id)


def plan_rollback(*, batch: int = 1, **given: Any) -> PlanRead:
    """The plan of the run ``start_rollback`` would start (each host's agent says what comes
    back), the same plan the editor's Plan dialog shows for a graph."""
    from nebhx.plans.dryrun import plan_request
    from nebhx.store.db import session_scope
    with session_scope() as s:
        inputs = _rollback_inputs(s, **given)
    doc = rollback_graph(batch)
    if "lb_agent_port" not in inputs:  # a plan takes an input not given for "not known yet";
        del doc["nodes"][0]["params"]["lb_agent_port"]  # the run's brick takes its default
    return PlanRead.model_validate(plan_request(graph=doc, inputs=inputs))
