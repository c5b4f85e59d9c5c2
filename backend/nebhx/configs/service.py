"""Config profiles as versioned objects: every save is a new revision, never an overwrite."""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from nebhx.configs.schemas import Explained, ProfileRead, ProfileRevision, ProfileSaved, ProfileSummary
from nebhx.errors import BadInputs, NotFound
from nebhx.runtime.configs import ConfigError, layers, resolve, with_sources
from nebhx.store.models import ProfileRow
from nebhx.templating import TemplateError, parse

NAME_RULE = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$"


def latest_profiles(session: Session) -> dict[str, dict[str, Any]]:
    """Every profile at its newest revision, as the plain dicts ``resolve`` reads."""
    newest = select(ProfileRow.name, func.max(ProfileRow.revision).label("rev")).group_by(ProfileRow.name).subquery()
    rows = session.execute(select(ProfileRow).join(newest, (ProfileRow.name == newest.c.name) &
                                                   (ProfileRow.revision == newest.c.rev))).scalars()
    return {r.name: r.doc for r in rows}


def save_profile(session: Session, *, name: str, doc: dict[str, Any]) -> ProfileSaved:
    """Store a new revision after checking it resolves (known parents, no cycle, templates render)."""
    import re
    if not re.match(NAME_RULE, name):
        raise BadInputs([{"input": "name", "message": f"profile name {name!r} must match {NAME_RULE}"}])
    profiles = {**latest_profiles(session), name: doc}
    try:
        # Structure, known parents, no cycle, templates that parse. Not a full render: a
        # base profile's templates may use values that only its children set.
        layers(profiles, name)
        for fname, text in (doc.get("templates") or {}).items():
            _parse(fname, text)
    except ConfigError as exc:
        raise BadInputs([{"input": name, "message": str(exc)}]) from exc
    last = session.scalar(select(func.max(ProfileRow.revision)).where(ProfileRow.name == name)) or 0
    if last and session.get(ProfileRow, (name, last)).doc == doc:
        return ProfileSaved(name=name, revision=last, changed=False)
    session.add(ProfileRow(name=name, revision=last + 1, doc=doc))
    return ProfileSaved(name=name, revision=last + 1, changed=True)


def _parse(fname: str, text: object) -> None:
    if not isinstance(text, str):
        raise ConfigError(f"template {fname!r} must be text")
    try:
        parse(text, fname)
    except TemplateError as exc:
        raise ConfigError(str(exc)) from exc


def list_profiles(session: Session) -> list[ProfileSummary]:
    rows = session.execute(select(ProfileRow.name, func.max(ProfileRow.revision), func.max(ProfileRow.created_at))
                           .group_by(ProfileRow.name).order_by(ProfileRow.name)).all()
    docs = latest_profiles(session)
    return [ProfileSummary(name=n, revision=rev, updated_at=at, parents=docs[n].get("parents", []))
            for n, rev, at in rows]


def get_profile(session: Session, *, name: str, revision: int | None = None) -> ProfileRead:
    revs = session.execute(select(ProfileRow.revision, ProfileRow.created_at).where(ProfileRow.name == name)
                           .order_by(ProfileRow.revision)).all()
    if not revs:
        raise NotFound(f"no config profile {name!r}")
    number = revision or revs[-1][0]
    row = session.get(ProfileRow, (name, number))
    if row is None:
        raise NotFound(f"config profile {name!r} has no revision {number}")
    return ProfileRead(name=name, revision=number, doc=row.doc,
                       revisions=[ProfileRevision(number=n, created_at=at) for n, at in revs])


def explain_profile(session: Session, *, name: str, host: str | None = None,
                    cluster: str | None = None, store: str = "database") -> Explained:
    """The final values for a host, each key with the layer that set it and, read from etcd,
    the key and revision its layer's profile came from."""
    if store == "etcd":
        profiles, sources = _etcd_profiles()
    else:
        profiles, sources = latest_profiles(session), {}
    if name not in profiles:
        raise NotFound(f"no config profile {name!r}" + (" in etcd" if store == "etcd" else ""))
    try:
        r = resolve(profiles, name, host=host, cluster=cluster)
    except ConfigError as exc:
        raise BadInputs([{"input": name, "message": str(exc)}]) from exc
    return Explained(profile=name, host=host, cluster=cluster, version=r.version, layers=r.layers,
                     values=r.values, explain=with_sources(r.explain, sources), files=r.files)


def _etcd_profiles() -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    from nebhx.runtime.etcd import EtcdError, read_profiles
    from nebhx.settings import get_settings
    settings = get_settings()
    if not settings.config_etcd_url:
        raise BadInputs([{"input": "store", "message": "no etcd endpoint: set NEBHX_CONFIG_ETCD_URL on the server"}])
    try:
        profiles, revisions, _ = read_profiles(settings.config_etcd_url, settings.config_etcd_prefix)
    except EtcdError as exc:
        raise BadInputs([{"input": "store", "message": str(exc)}]) from exc
    where = f"etcd {settings.config_etcd_url} {settings.config_etcd_prefix}"
    return profiles, {n: f"{where}{n} mod_revision {r}" for n, r in revisions.items()}


class StoreProfiles:
    """``ctx.profiles`` on the control plane: the stored profiles at their newest revisions."""

    def latest(self) -> tuple[dict[str, dict[str, Any]], dict[str, int]]:
        from nebhx.store.db import session_scope
        with session_scope() as s:
            return latest_profiles(s), {p.name: p.revision for p in list_profiles(s)}
