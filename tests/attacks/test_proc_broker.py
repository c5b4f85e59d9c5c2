"""Issue 18, finding 4: the broker credential the execution API hands a host's agent
(second pass: it goes with its host, deleted or with its last token revoked).

A private Redis with a password stands for the production broker. Hosts h1 and h2 say
hello as their agents do; h1's credential must consume its own queue as a Celery worker
does, and be refused on h2's queue, the control queue and every admin command.
"""
from __future__ import annotations

import secrets
import shutil
import socket
import subprocess

import kombu
import pytest
import redis
from cryptography.fernet import Fernet

from nebhx.auth.tokens import Principal
from nebhx.auth.broker import queue_keys
from nebhx.settings import reset_settings
from support import free_port, wait_for

ADMIN_PASSWORD = "admin-" + secrets.token_hex(12)


@pytest.fixture
def broker(monkeypatch, tmp_path):
    exe = shutil.which("redis-server")
    assert exe, "redis-server is not installed: apt-get install -y redis-server"
    port = free_port()
    proc = subprocess.Popen([exe, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
                             "--requirepass", ADMIN_PASSWORD], stdout=subprocess.DEVNULL)
    wait_for(lambda: socket.create_connection(("127.0.0.1", port), timeout=0.2), 10, what="redis")
    admin_url = f"redis://:{ADMIN_PASSWORD}@127.0.0.1:{port}/0"
    monkeypatch.setenv("NEBHX_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NEBHX_BROKER_URL", admin_url)
    monkeypatch.setenv("NEBHX_SECRET_KEY", Fernet.generate_key().decode())
    monkeypatch.delenv("NEBHX_AGENT_BROKER_URL", raising=False)
    reset_settings()
    yield redis.Redis.from_url(admin_url)
    proc.terminate()
    proc.wait(timeout=10)
    reset_settings()


def hello(host: str) -> str:
    """What the host's agent is handed at start, with the host's newest token (one is made
    when the host has none: the broker credential is per registration)."""
    from nebhx.auth.broker import live_tokens
    from nebhx.auth.tokens import issue
    from nebhx.execution.service import hello as say_hello
    from nebhx.store.db import session_scope
    tokens = live_tokens([host])[host]
    if not tokens:
        with session_scope() as s:
            tokens = [issue(s, kind="host", owner=host, name="join")[0].id]
    return say_hello(principal=Principal(name=host, role=None, kind="host", token_id=tokens[0]))["broker_url"]


def refused(call) -> bool:
    try:
        call()
    except redis.exceptions.NoPermissionError:
        return True
    return False


def test_a_hosts_broker_credential_reaches_only_its_own_queue(broker):
    url1, url2 = hello("h1"), hello("h2")
    assert ADMIN_PASSWORD not in url1 and url1 != url2
    broker.lpush("host.h2", "h2's message")
    broker.lpush("nebhx", "a control message")
    h1 = redis.Redis.from_url(url1)
    assert h1.ping()
    for queue in ("host.h2", "nebhx"):
        assert refused(lambda q=queue: h1.lrange(q, 0, -1)), queue
        assert refused(lambda q=queue: h1.rpop(q)), queue
        assert refused(lambda q=queue: h1.brpop([q], timeout=1)), queue
        assert refused(lambda q=queue: h1.lpush(q, "forged")), queue
        assert refused(lambda q=queue: h1.delete(q)), queue
    assert refused(lambda: h1.config_get("*"))
    assert refused(lambda: h1.keys("*"))
    assert refused(lambda: h1.scan())
    assert refused(lambda: h1.flushall())
    assert refused(lambda: h1.flushdb())
    assert refused(lambda: h1.execute_command("ACL", "LIST"))
    assert refused(lambda: h1.publish("/0.celery.pidbox", "x"))
    assert broker.lrange("host.h2", 0, -1) == [b"h2's message"]
    assert broker.lrange("nebhx", 0, -1) == [b"a control message"]


def test_an_agent_consumes_its_queue_with_its_own_credential(broker):
    """What a Celery worker on host.h1 does: declare, take, hold unacked, acknowledge; the
    control plane publishes with the broker's own credential (a kombu producer here: the
    process-wide Celery app stays on the broker the other tests use)."""
    import nebhx.broker.redisbroker  # noqa: F401 - the agents' transport (nebhxredis://)
    from nebhx.broker.app import host_queue_options
    from nebhx.settings import get_settings
    queue = kombu.Queue("host.h1", kombu.Exchange("host.h1", "direct"), routing_key="host.h1")
    with kombu.Connection(get_settings().broker_url) as admin:
        admin.Producer().publish([["run-1", "node-1", 1], {}, {}], exchange=queue.exchange,
                                 routing_key="host.h1", declare=[queue], serializer="json")
    got = []
    url = hello("h1")
    with kombu.Connection(url.replace("redis://", "nebhxredis://", 1),
                          transport_options={"visibility_timeout": 3600, **host_queue_options("h1")}) as conn:
        with conn.Consumer(queue, accept=["json"], callbacks=[lambda body, msg: (got.append(body), msg.ack())]):
            conn.drain_events(timeout=10)
        conn.default_channel.qos.restore_visible()  # the periodic restore of unacked messages
    assert got and got[0][0] == ["run-1", "node-1", 1]
    assert broker.llen("host.h1") == 0 and not broker.hlen("host.h1.unacked")


def _host_rows(*names: str) -> None:
    from nebhx.store.db import session_scope
    from nebhx.store.models import HostRow, utcnow
    with session_scope() as s:
        for name in names:
            s.merge(HostRow(name=name, labels={}, last_seen=utcnow()))


def _cannot_auth(url: str) -> bool:
    try:
        redis.Redis.from_url(url).ping()
    except (redis.exceptions.AuthenticationError, redis.exceptions.ResponseError):
        return True
    return False


def test_a_deleted_or_revoked_host_loses_its_broker_credential(app_env, broker):
    from apikit import add_user, bearer, client
    admin = bearer(add_user("ada", "admin"))
    with client() as api:
        joins = {h: api.post("/api/hosts", json={"name": h}, headers=admin).json() for h in ("h1", "h2")}
        _host_rows("h1", "h2")
        url1, url2 = hello("h1"), hello("h2")
        h1 = redis.Redis.from_url(url1)
        assert h1.ping()  # an agent connected as h1 when its host is deleted
        broker.lpush("host.h1", "a job for h1")
        answer = api.delete("/api/hosts/h1", headers=admin)
        assert answer.status_code == 200, answer.text
        assert _cannot_auth(url1), "the deleted host's broker credential still logs in"
        assert answer.json()["broker_user_removed"] is True, answer.text
        with pytest.raises(redis.exceptions.ConnectionError):
            h1.brpop(["host.h1"], timeout=1)  # its open connection was closed, not left consuming
        assert broker.exists(*queue_keys("h1")) == 0 and b"nbx-host-h1" not in broker.execute_command("ACL", "USERS")
        tokens = [t["id"] for t in api.get("/api/tokens", headers=admin, params={"all": 1}).json()
                  if t.get("owner") == "h2" and not t.get("revoked_at")]
        assert tokens, joins["h2"]
        for token in tokens:
            assert api.delete(f"/api/tokens/{token}", headers=admin).status_code in (200, 204)
        assert _cannot_auth(url2), "a host whose last token is revoked still logs in to the broker"


# A credential per registration: the password was derived from the host's name alone, so a
# host deleted and added again under the same name got the same one back, and the removed
# machine's old credential worked again. Now it is derived per live token.
def _live(url: str) -> bool:
    return redis.Redis.from_url(url).ping()


def test_a_host_added_again_does_not_revive_its_old_broker_credential(app_env, broker):
    from apikit import add_user, bearer, client
    admin = bearer(add_user("ada", "admin"))
    with client() as api:
        assert api.post("/api/hosts", json={"name": "h1"}, headers=admin).status_code in (200, 201)
        _host_rows("h1")
        old = hello("h1")
        assert _live(old)
        assert api.delete("/api/hosts/h1", headers=admin).status_code == 200
        assert _cannot_auth(old)
        # The same name again, as an admin re-adds a machine (maybe another one).
        assert api.post("/api/hosts", json={"name": "h1"}, headers=admin).status_code in (200, 201)
        _host_rows("h1")
        new = hello("h1")
        assert new != old and _live(new)
        assert _cannot_auth(old), "the removed registration's broker credential works again"


def test_revoking_one_of_a_hosts_tokens_ends_only_its_broker_credential(app_env, broker):
    from apikit import add_user, bearer, client
    admin = bearer(add_user("ada", "admin"))
    with client() as api:
        assert api.post("/api/hosts", json={"name": "h1"}, headers=admin).status_code in (200, 201)
        _host_rows("h1")
        first = hello("h1")
        assert api.post("/api/hosts", json={"name": "h1"}, headers=admin).status_code in (200, 201)
        second = hello("h1")  # the newest token's (a second join of the same host)
        assert first != second and _live(first) and _live(second)
        tokens = [t for t in api.get("/api/tokens", headers=admin, params={"all": 1}).json()
                  if t.get("owner") == "h1" and not t.get("revoked_at")]
        oldest = min(tokens, key=lambda t: t["created_at"])["id"]
        assert api.delete(f"/api/tokens/{oldest}", headers=admin).status_code in (200, 204)
        assert _cannot_auth(first) and _live(second)
