"""Config profiles kept in etcd (v3), over etcd's own JSON gateway (``/v3/kv/*``, ``/v3/watch``).

Each profile is one key, ``<prefix><name>`` (default prefix ``/nebhx/profiles/``), whose value
is the profile document as JSON, the same document ``nebhx config set`` stores in the
database. etcd's ``mod_revision`` of the key is the profile's revision: explain shows it, and
a watch on the key (nebhx.triggers.etcd) starts the graph that renders and applies it.

    etcdctl put /nebhx/profiles/web '{"parents": ["base"], "values": {"port": 8080}}'

No client library: etcd 3.4 serves gRPC as JSON over HTTP, keys and values base64-encoded.
"""
from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from nebhx.bricks.base import BrickFailed

DEFAULT_PREFIX = "/nebhx/profiles/"


class EtcdError(BrickFailed):
    """etcd cannot be reached or answered with an error; the message names the endpoint."""


@dataclass(frozen=True)
class Entry:
    key: str
    value: bytes
    mod_revision: int


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def prefix_end(prefix: str) -> str:
    """The range end that covers every key starting with ``prefix`` (etcd's convention)."""
    raw = bytearray(prefix.encode())
    raw[-1] += 1
    return base64.b64encode(bytes(raw)).decode()


def _entry(kv: dict[str, Any]) -> Entry:
    return Entry(base64.b64decode(kv["key"]).decode(), base64.b64decode(kv.get("value", "")),
                 int(kv.get("mod_revision", 0)))


class Etcd:
    def __init__(self, endpoint: str, timeout: float = 5.0):
        self.endpoint = endpoint.rstrip("/")
        self.timeout = timeout

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            resp = httpx.post(f"{self.endpoint}{path}", json=body, timeout=self.timeout, trust_env=False)
        except httpx.HTTPError as exc:
            raise EtcdError(f"etcd at {self.endpoint} cannot be reached: {exc}") from exc
        if resp.status_code != 200:
            raise EtcdError(f"etcd at {self.endpoint} answered {resp.status_code} to {path}: {resp.text[:300]}")
        return resp.json()

    def range(self, prefix: str) -> tuple[list[Entry], int]:
        """Every key under ``prefix``, and the store's revision at the time of reading."""
        out = self._post("/v3/kv/range", {"key": _b64(prefix), "range_end": prefix_end(prefix)})
        return [_entry(kv) for kv in out.get("kvs", [])], int(out["header"]["revision"])

    def put(self, key: str, value: str) -> int:
        """Write ``key``; the revision the write made."""
        out = self._post("/v3/kv/put", {"key": _b64(key), "value": _b64(value)})
        return int(out["header"]["revision"])

    def delete(self, key: str) -> int:
        out = self._post("/v3/kv/deleterange", {"key": _b64(key)})
        return int(out["header"]["revision"])

    def watch(self, prefix: str, start_revision: int, client: httpx.Client,
              read_timeout: float | None = None) -> Iterator[tuple[int, list[Entry]]]:
        """(revision, changed entries) for every change under ``prefix`` from ``start_revision``,
        as etcd sends them, until the stream breaks (httpx.ReadTimeout after ``read_timeout``
        seconds without a change)."""
        body = {"create_request": {"key": _b64(prefix), "range_end": prefix_end(prefix),
                                   "start_revision": start_revision}}
        with client.stream("POST", f"{self.endpoint}/v3/watch", json=body,
                           timeout=httpx.Timeout(self.timeout, read=read_timeout)) as resp:
            if resp.status_code != 200:
                raise EtcdError(f"etcd at {self.endpoint} refused the watch: {resp.status_code}")
            for line in resp.iter_lines():
                result = json.loads(line).get("result") or {}
                events = result.get("events") or []
                if events:
                    yield int(result["header"]["revision"]), [_entry(e["kv"]) for e in events]


def read_profiles(endpoint: str, prefix: str = DEFAULT_PREFIX) -> tuple[dict[str, dict], dict[str, int], int]:
    """(profiles by name, their mod_revision, etcd's revision) of every key under ``prefix``."""
    entries, revision = Etcd(endpoint).range(prefix)
    profiles, revisions = {}, {}
    for e in entries:
        name = e.key[len(prefix):]
        try:
            doc = json.loads(e.value)
        except ValueError as exc:
            raise EtcdError(f"etcd key {e.key} (revision {e.mod_revision}) is not a JSON profile: {exc}") from exc
        if not isinstance(doc, dict):
            raise EtcdError(f"etcd key {e.key} (revision {e.mod_revision}) must hold a JSON object")
        profiles[name], revisions[name] = doc, e.mod_revision
    return profiles, revisions, revision
