"""Issue 18, finding 4: the broker credential the execution API hands a host's agent.

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
    from nebhx.execution.service import hello as say_hello
    return say_hello(principal=Principal(name=host, role=None, kind="host"))["broker_url"]


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
    import nebhx.engine.redisbroker  # noqa: F401 - the agents' transport (nebhxredis://)
    from nebhx.execution.broker import transport_options
    from nebhx.settings import get_settings
    queue = kombu.Queue("host.h1", kombu.Exchange("host.h1", "direct"), routing_key="host.h1")
    with kombu.Connection(get_settings().broker_url) as admin:
        admin.Producer().publish([["run-1", "node-1", 1], {}, {}], exchange=queue.exchange,
                                 routing_key="host.h1", declare=[queue], serializer="json")
    got = []
    url = hello("h1")
    with kombu.Connection(url.replace("redis://", "nebhxredis://", 1),
                          transport_options={"visibility_timeout": 3600, **transport_options("h1")}) as conn:
        with conn.Consumer(queue, accept=["json"], callbacks=[lambda body, msg: (got.append(body), msg.ack())]):
            conn.drain_events(timeout=10)
        conn.default_channel.qos.restore_visible()  # the periodic restore of unacked messages
    assert got and got[0][0] == ["run-1", "node-1", 1]
    assert broker.llen("host.h1") == 0 and not broker.hlen("host.h1.unacked")
