"""The graph validator's check of ``meta.triggers`` (webhook, schedule and etcd triggers): pure,
no store and no service. It is part of the graph document's checks, so it lives with them and
the triggers domain (above graphs) imports it; graph validation imports no other domain."""
from __future__ import annotations

from typing import Any

from croniter import croniter

from nebhx.graphs.problem import Problem


def check_triggers(doc: dict[str, Any]) -> list[Problem]:
    """Problems of ``meta.triggers``, each naming the trigger and its field (graph validation)."""
    triggers = (doc.get("meta") or {}).get("triggers") if isinstance(doc.get("meta"), dict) else None
    if triggers is None:
        return []
    if not isinstance(triggers, list):
        return [Problem("bad_trigger", "meta.triggers must be a list of triggers", path="/meta/triggers")]
    declared = [i for i in doc.get("inputs") or [] if isinstance(i, dict)]
    names = {i.get("name") for i in declared}
    # A schedule has no push to fill an input: one it must be given and is not fails every tick.
    needed = {i.get("name") for i in declared if i.get("required", True) and i.get("default") is None}
    problems, seen = [], set()
    for i, spec in enumerate(triggers):
        name = spec.get("name") if isinstance(spec, dict) else None
        if isinstance(name, str) and name in seen:  # one name is one webhook path, one schedule row
            problems.append(Problem("bad_trigger", f"trigger {name!r}: name: declared twice in this graph",
                                    path=f"/meta/triggers/{i}/name"))
        seen.add(name)
        if isinstance(spec, dict) and spec.get("kind", "webhook") == "schedule":
            problems += _check_schedule(spec, i, names, needed)
        elif isinstance(spec, dict) and spec.get("kind") == "etcd":
            problems += check_etcd(spec, i, names, needed)
        elif isinstance(spec, dict) and spec.get("kind", "webhook") != "webhook":
            problems.append(Problem("bad_trigger", f"trigger {spec.get('name')!r}: kind {spec.get('kind')!r} "
                                    "is not webhook, schedule or etcd", path=f"/meta/triggers/{i}/kind"))
    return problems


def _check_schedule(spec: dict[str, Any], i: int, inputs: set, needed: set) -> list[Problem]:
    name, where = spec.get("name"), f"/meta/triggers/{i}"
    bad = lambda field, why: Problem("bad_trigger", f"trigger {name!r}: {field}: {why}",  # noqa: E731
                                     path=f"{where}/{field}")
    problems = [] if isinstance(name, str) and name else [bad("name", "a schedule trigger needs a name")]
    cron = spec.get("cron")
    if not isinstance(cron, str) or not croniter.is_valid(cron):
        problems.append(bad("cron", f"{cron!r} is not a cron expression (five fields, or six with "
                                    "seconds last, e.g. '*/5 * * * *')"))
    for field in ("concurrency", "max_active"):
        value = spec.get(field)
        if field in spec and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            problems.append(bad(field, f"{value!r} is not a whole number of runs, at least 1"))
    given = spec.get("inputs") or {}
    if not isinstance(given, dict):
        problems.append(bad("inputs", "a map of graph input -> value"))
    else:
        problems += [bad("inputs", f"{k!r} is not an input of the graph") for k in given if k not in inputs]
        problems += [bad("inputs", f"graph input {k!r} is required and has no default: give it a value")
                     for k in sorted(needed - given.keys(), key=str)]
    return problems


def check_etcd(spec: dict[str, Any], i: int, inputs: set, needed: set) -> list[Problem]:
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


def endpoint_of(spec: dict[str, Any]) -> str:
    from nebhx.settings import get_settings
    return str(spec.get("endpoint") or get_settings().config_etcd_url)
