"""Layered config profiles: an object model of values, resolved with an explain view.

A profile is a plain dict::

    {"parents": ["linux"], "values": {...}, "clusters": {"eu": {...}},
     "hosts": {"h1": {...}}, "templates": {"app.conf": "port={{ app.port }}"}}

``resolve`` linearises the parents the way Python orders base classes (C3: a parent
comes after every profile that extends it, parents keep their declared order), then
deep-merges, least specific first:

    1. ``values`` of each profile, from the farthest ancestor to the profile itself
    2. ``clusters[<cluster>]`` of each, in the same order
    3. ``hosts[<host>]`` of each, in the same order

so a per-host value beats a per-cluster one, which beats a profile's plain value. Each
final key (dotted path) is explained by the layer that set it (``db@host:h1``) and the
values it overrode. Templates are inherited the same way (a child's file of the same name
wins) and rendered in the sandbox of ``nebhx.templating``, with strict undefined.
"""
from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from nebhx.bricks.errors import BrickFailed
from nebhx.templating import TemplateError, render_named

PROFILE_KEYS = {"name", "parents", "values", "clusters", "hosts", "templates"}
META_DIR = ".nebhx"


class ConfigError(BrickFailed):
    """A profile set that cannot be resolved or rendered; the message says why."""


@dataclass(frozen=True)
class Resolved:
    profile: str
    host: str | None
    cluster: str | None
    layers: list[str]
    values: dict[str, Any]
    explain: dict[str, dict[str, Any]]
    files: dict[str, str] = field(default_factory=dict)
    version: str = ""


def linearize(profiles: dict[str, dict], name: str) -> list[str]:
    """C3 order of ``name`` and its ancestors, most specific first."""
    return _c3(profiles, name, [])


def _c3(profiles: dict[str, dict], name: str, stack: list[str]) -> list[str]:
    if name in stack:
        cycle = " -> ".join([*stack[stack.index(name):], name])
        raise ConfigError(f"profile parents form a cycle: {cycle}")
    if name not in profiles:
        if stack:
            raise ConfigError(f"profile {stack[-1]!r} names unknown parent {name!r} "
                              f"(known: {', '.join(sorted(profiles))})")
        raise ConfigError(f"unknown profile {name!r} (known: {', '.join(sorted(profiles))})")
    parents = _profile(profiles, name).get("parents") or []
    seqs = [_c3(profiles, p, [*stack, name]) for p in parents] + [list(parents)]
    order = [name]
    while any(seqs):
        seqs = [s for s in seqs if s]
        head = next((s[0] for s in seqs if not any(s[0] in t[1:] for t in seqs)), None)
        if head is None:
            raise ConfigError(f"cannot order the parents of {name!r} consistently: "
                              f"conflicting orders {[s for s in seqs]}")
        order.append(head)
        seqs = [s[1:] if s[0] == head else s for s in seqs]
    return order


def _profile(profiles: dict[str, dict], name: str) -> dict:
    prof = profiles[name]
    if not isinstance(prof, dict):
        raise ConfigError(f"profile {name!r} must be an object, not {type(prof).__name__}")
    unknown = set(prof) - PROFILE_KEYS
    if unknown:
        raise ConfigError(f"profile {name!r} has unknown keys {sorted(unknown)} "
                          f"(allowed: {sorted(PROFILE_KEYS)})")
    for key in ("values", "clusters", "hosts", "templates"):
        if not isinstance(prof.get(key) or {}, dict):
            raise ConfigError(f"profile {name!r}: {key!r} must be an object")
    if not isinstance(prof.get("parents") or [], list):
        raise ConfigError(f"profile {name!r}: 'parents' must be a list of profile names")
    return prof


def layers(profiles: dict[str, dict], name: str, *, host: str | None = None,
           cluster: str | None = None) -> list[tuple[str, dict]]:
    """The (label, values) layers of a resolution, applied in this order."""
    chain = list(reversed(linearize(profiles, name)))
    out = [(p, profiles[p].get("values") or {}) for p in chain]
    for scope, key in (("cluster", cluster), ("host", host)):
        if key is None:
            continue
        for p in chain:
            over = (profiles[p].get(scope + "s") or {}).get(key)
            if over is not None:
                if not isinstance(over, dict):
                    raise ConfigError(f"profile {p!r}: {scope}s[{key!r}] must be an object")
                out.append((f"{p}@{scope}:{key}", over))
    return out


def resolve(profiles: dict[str, dict], name: str, *, host: str | None = None,
            cluster: str | None = None) -> Resolved:
    """Merge the layers of ``name`` for one host/cluster, explain them, render templates."""
    values: dict[str, Any] = {}
    explain: dict[str, dict[str, Any]] = {}
    applied = layers(profiles, name, host=host, cluster=cluster)
    for label, over in applied:
        _merge(values, over, label, "", explain)
    templates: dict[str, str] = {}
    for p in reversed(linearize(profiles, name)):
        templates.update(profiles[p].get("templates") or {})
    context = {**values, "nebhx": {"profile": name, "host": host, "cluster": cluster}}
    files = {fname: _render(fname, templates, context) for fname in sorted(templates)}
    return Resolved(name, host, cluster, [label for label, _ in applied], values,
                    _tidy(explain), files, content_version(values, files))


def _merge(dst: dict, over: dict, layer: str, prefix: str, explain: dict) -> None:
    """Deep-merge ``over`` into ``dst`` (maps merge, anything else replaces) and record
    for every leaf it sets which layer set it and what it replaced."""
    for key, value in over.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and isinstance(dst.get(key), dict):
            _merge(dst[key], value, layer, path + ".", explain)
            continue
        replaced = _pop_under(explain, path)
        dst[key] = copy.deepcopy(value)
        for leaf, leaf_value in _leaves(value, path):
            explain[leaf] = {"layer": layer, "value": leaf_value, "overrode": replaced}


def _pop_under(explain: dict, path: str) -> list[dict[str, Any]]:
    """Remove the entries at or below ``path``; return their history, oldest first."""
    history: list[dict[str, Any]] = []
    for key in [k for k in explain if k == path or k.startswith(path + ".")]:
        entry = explain.pop(key)
        history += [*entry["overrode"], {"layer": entry["layer"], "value": entry["value"],
                                         "key": key}]
    return history


def _tidy(explain: dict) -> dict:
    """Sort by key; name an overridden value's key only where it differs from the entry's."""
    out = {}
    for path, entry in sorted(explain.items()):
        overrode = [{k: v for k, v in old.items() if k != "key" or v != path}
                    for old in entry["overrode"]]
        out[path] = {**entry, "overrode": overrode}
    return out


def with_sources(explain: dict[str, dict[str, Any]], sources: dict[str, str]) -> dict[str, dict[str, Any]]:
    """``explain`` with each entry's (and overridden value's) ``source``: where the profile of
    its layer (``db`` of ``db@host:h1``) was read, e.g. an etcd key at a revision."""
    if not sources:
        return explain
    def tag(entry: dict[str, Any]) -> dict[str, Any]:
        source = sources.get(str(entry.get("layer", "")).split("@", 1)[0])
        return {**entry, "source": source} if source else dict(entry)
    return {k: {**tag(e), "overrode": [tag(o) for o in e.get("overrode", [])]} for k, e in explain.items()}


def _leaves(value: Any, path: str) -> list[tuple[str, Any]]:
    if isinstance(value, dict) and value:
        return [leaf for k, v in value.items() for leaf in _leaves(v, f"{path}.{k}")]
    return [(path, copy.deepcopy(value))]


def _render(fname: str, templates: dict[str, str], context: dict[str, Any]) -> str:
    _check_filename(fname)
    try:
        return render_named(fname, templates, context,
                            undefined_hint="no such key in the resolved values")
    except TemplateError as exc:
        raise ConfigError(str(exc)) from exc


def _check_filename(fname: str) -> None:
    p = PurePosixPath(fname)
    if not fname or p.is_absolute() or ".." in p.parts or p.parts[0] == META_DIR:
        raise ConfigError(f"template file name {fname!r} must be a relative path inside "
                          f"the config folder (no '..', not {META_DIR}/)")


def content_version(values: dict[str, Any], files: dict[str, str]) -> str:
    """A short sha256 of the values and rendered files: same content, same version."""
    blob = json.dumps({"values": values, "files": files}, sort_keys=True,
                      separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def same_files(a: Path | None, b: Path | None) -> bool:
    """True when two rendered config folders hold the same files with the same content
    (the values sidecar aside: a value no template uses changes no file)."""
    if a is None or b is None:
        return a == b
    def files(root: Path) -> dict[str, bytes]:
        return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
                if p.is_file() and META_DIR not in p.relative_to(root).parts}
    return Path(a).is_dir() and Path(b).is_dir() and files(Path(a)) == files(Path(b))


def write(resolved: Resolved, configs_dir: Path) -> tuple[Path, bool]:
    """Write the rendered files to ``configs_dir/<version>/``; returns (path, changed).

    Built in a temp folder and renamed, so a version folder is complete or absent.
    """
    final = Path(configs_dir) / resolved.version
    if final.is_dir():
        return final, False
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".tmp-{resolved.version}-{uuid.uuid4().hex[:8]}")
    try:
        for fname, text in resolved.files.items():
            target = tmp / fname
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        # Only what the version hashes: hosts with equal content share the folder.
        (tmp / META_DIR).mkdir(parents=True, exist_ok=True)
        (tmp / META_DIR / "values.json").write_text(
            json.dumps(resolved.values, indent=2, sort_keys=True, default=str))
        try:
            os.rename(tmp, final)
        except OSError:
            if not final.is_dir():
                raise
            return final, False  # a concurrent render of the same version won
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final, True
