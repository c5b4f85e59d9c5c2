"""The broker credential an agent gets: a Redis ACL user of its own host, limited to its
own queue's keys and the commands kombu's Redis transport needs to consume it.

A worker consuming ``host.NAME`` (kombu 5.7, remote control off) touches only:

    host.NAME                                 the queue (BRPOP, LLEN; LPUSH to restore)
    _kombu.binding.host.NAME                  its binding, declared on start (SADD)
    _kombu.binding_permanent.host.NAME        the same, kept across restarts (SADD)
    host.NAME.unacked[_index|_mutex]          delivered, not yet acknowledged (ours, per host)

The control plane (holding the broker's own credential) publishes to that queue. The
host's user has no other key, no pub/sub channel, and none of CONFIG, KEYS, FLUSHALL or
any admin command. Its passwords are derived from the control plane's secret keys (one per
key, so a key rotation leaves agents working) and the ids of the host's live tokens (one per
token): a host added again under the same name gets a new token, so a new password, and the
credential a removed host's machine still holds logs in no more. The users are made again
whenever the broker comes back without them (a restart without persistence): see
``restore_users``.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import re
from urllib.parse import quote, urlsplit, urlunsplit

from nebhx.settings import get_settings

log = logging.getLogger("nebhx.broker")
COMMANDS = ("brpop", "llen", "lpush", "rpush", "sadd", "smembers", "srem", "hset", "hget", "hdel",
            "zadd", "zrem", "zrange", "zrangebyscore", "zrevrangebyscore", "get", "set", "del",
            "multi", "exec", "discard", "watch", "unwatch", "evalsha", "eval", "script|load",
            "ping", "hello", "auth", "select", "quit", "reset", "client|setname")
_SAFE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def queue_keys(host: str) -> list[str]:
    queue = f"host.{host}"
    return [queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}",
            *(f"{queue}.{k}" for k in ("unacked", "unacked_index", "unacked_mutex"))]


def user_name(host: str) -> str:
    return f"nbx-host-{host}" if _SAFE.match(host) else f"nbx-host-{hashlib.sha256(host.encode()).hexdigest()[:24]}"


def passwords(host: str, tokens: list[str]) -> list[str]:
    """The host's broker passwords: one per key and live token (``tokens``, its ids), newest
    key first. The token id is the registration's salt: not secret, but new each time."""
    from nebhx.sealing.keys import current_keys
    return [hmac.new(key.encode(), f"nebhx-broker:{host}:{tid}".encode(), hashlib.sha256).hexdigest()
            for key in current_keys() for tid in tokens]


def live_tokens(hosts: list[str]) -> dict[str, list[str]]:
    """Each host's unrevoked, unexpired tokens' ids, newest first."""
    from sqlalchemy import or_, select

    from nebhx.store.db import session_scope
    from nebhx.store.models import TokenRow, utcnow
    out: dict[str, list[str]] = {h: [] for h in hosts}
    # Read-only: a caller's open transaction (revoking a token) may hold SQLite's write lock.
    with session_scope(read_only=True) as s:
        rows = s.execute(select(TokenRow.owner, TokenRow.id).where(
            TokenRow.kind == "host", TokenRow.owner.in_(hosts), TokenRow.revoked_at.is_(None),
            or_(TokenRow.expires_at.is_(None), TokenRow.expires_at > utcnow()))
            .order_by(TokenRow.created_at.desc()))
        for owner, tid in rows:
            out[owner].append(tid)
    return out


def _glob_escape(key: str) -> str:
    return re.sub(r"([*?\[\]\\])", r"\\\1", key)


def acl_rules(host: str, tokens: list[str]) -> list[str]:
    """``ACL SETUSER`` arguments for the host's user (after its name); with no live token,
    no password: nobody logs in as it."""
    return ["reset", "on", *(f">{pw}" for pw in passwords(host, tokens)),
            *(f"~{_glob_escape(k)}" for k in queue_keys(host)), "resetchannels", "-@all",
            *(f"+{c}" for c in COMMANDS)]


def _admin():
    import redis
    return redis.Redis.from_url(get_settings().broker_url, socket_timeout=5, socket_connect_timeout=5)


def ensure_users(hosts: list[str], tokens: dict[str, list[str]] | None = None) -> None:
    """Make (or remake) the ACL user of each host, in one round trip; ``tokens``: each host's
    live tokens (looked up when not given)."""
    if not hosts:
        return
    tokens = tokens or live_tokens(hosts)
    with _admin() as client:
        pipe = client.pipeline(transaction=False)
        for host in hosts:
            pipe.execute_command("ACL", "SETUSER", user_name(host), *acl_rules(host, tokens[host]))
        pipe.execute()


def remove_user(host: str) -> bool:
    """The host is gone (deleted, or its last token revoked): delete its ACL user (Redis
    closes the connections it authenticated) and its queue's keys. True when done, False
    when the broker is not a Redis of its own or could not be reached (logged)."""
    settings = get_settings()
    if settings.embedded_broker or urlsplit(settings.broker_url).scheme not in ("redis", "rediss"):
        return False
    try:
        with _admin() as client:
            pipe = client.pipeline(transaction=False)
            pipe.execute_command("ACL", "DELUSER", user_name(host))
            pipe.delete(*queue_keys(host))
            pipe.execute()
    except Exception as exc:  # the host's row is gone all the same; the answer says this
        log.warning("could not delete host %s's broker user: %s", host, exc)
        return False
    return True


def token_revoked(host: str, token: str) -> bool:
    """One of the host's tokens was revoked (in the caller's transaction, not yet committed):
    its broker password goes with it; with the host's last token, its user. True when done."""
    settings = get_settings()
    if settings.embedded_broker or urlsplit(settings.broker_url).scheme not in ("redis", "rediss"):
        return False
    left = [t for t in live_tokens([host])[host] if t != token]
    if not left:
        return remove_user(host)
    try:
        ensure_users([host], {host: left})
    except Exception as exc:  # the token is revoked all the same; restore_users remakes users later
        log.warning("could not remake host %s's broker user: %s", host, exc)
        return False
    return True


def agent_url(host: str, token: str | None = None) -> str | None:
    """The broker URL handed to ``host``'s agent that called with token id ``token`` (None: the
    host's newest), its own user made first; None with the embedded broker, which agents on
    other machines cannot reach."""
    settings = get_settings()
    base = settings.agent_broker_url or (None if settings.embedded_broker else settings.broker_url)
    if not base or urlsplit(base).scheme not in ("redis", "rediss"):
        return base  # not Redis: no per-host users to make (the operator's URL, as given)
    live = live_tokens([host])
    ensure_users([host], live)
    tokens = live[host]
    if token not in tokens:
        token = tokens[0] if tokens and token is None else None
    if token is None:
        raise PermissionError(f"host {host} has no live token, so no broker credential")
    user = f"{quote(user_name(host), safe='')}:{passwords(host, [token])[0]}"
    parts = urlsplit(base)
    netloc = f"{user}@{parts.hostname}"
    if ":" in (parts.hostname or ""):
        netloc = f"{user}@[{parts.hostname}]"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def restore_users() -> None:
    """After the broker came back (maybe empty, without its ACL users): every host's again."""
    settings = get_settings()
    if settings.embedded_broker or urlsplit(settings.broker_url).scheme not in ("redis", "rediss"):
        return
    from sqlalchemy import select

    from nebhx.store.db import session_scope
    from nebhx.store.models import HostRow
    with session_scope() as s:
        hosts = list(s.scalars(select(HostRow.name)))
    try:
        ensure_users(hosts)
    except Exception as exc:  # the next "lost" tries again; agents keep retrying meanwhile
        log.warning("could not make the hosts' broker users again: %s", exc)
