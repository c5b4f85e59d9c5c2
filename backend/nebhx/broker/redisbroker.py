"""Kombu's Redis transport, surviving a Redis restart.

When the broker goes away, Celery's consumer first *collects* the connection (which
detaches the transport: ``transport.client = None``) and then *closes* it. Closing the
channel puts its unacknowledged messages back, which needs a Redis client, which is built
from ``transport.client``: ``AttributeError: 'NoneType' object has no attribute
'hostname'``. That is not one of the transport's connection errors, so it escapes the
consumer's reconnect logic and the worker stops ("Unrecoverable error", exit 0 through
``worker_main``). Seen with kombu 5.7.0 / Celery 5.7.0 (the newest releases) on every
restart of Redis while a task was in flight (kombu issue #582 is the same trace from 2016).

Here the channel of a detached transport says what really happened: the connection is
gone (a connection error), which the consumer handles by reconnecting. The messages it
could not put back are those of nodes already running (their state is in the store) or
lost with Redis' memory; the sweep sends queued nodes again (engine/sweeper.py).
"""
from __future__ import annotations

from kombu.transport import TRANSPORT_ALIASES, redis

ALIASES = {"redis": "nebhxredis", "rediss": "nebhxrediss"}


class Channel(redis.Channel):
    def _connparams(self, asynchronous=False):
        if self.connection is None or self.connection.client is None:
            raise redis.redis.exceptions.ConnectionError("the broker connection was already closed")
        return super()._connparams(asynchronous=asynchronous)


class Transport(redis.Transport):
    Channel = Channel


def patched_url(url: str) -> str:
    """``redis://...`` -> this transport's alias, same address; other URLs unchanged."""
    scheme, sep, rest = url.partition("://")
    return f"{ALIASES[scheme]}{sep}{rest}" if sep and scheme in ALIASES else url


for _alias in ALIASES.values():
    TRANSPORT_ALIASES[_alias] = "nebhx.broker.redisbroker:Transport"
