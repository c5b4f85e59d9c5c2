"""What is saved is what is exported, on SQLite and PostgreSQL alike; a body over the size
limit, even one sent in chunks without a length, is refused before anything is stored."""
from __future__ import annotations

import json

from support import graph

PARAMS = {
    "template": "Grüße, {{ who }} — 你好 🚀\n\ttab",
    "values": {"who": "wörld", "big": 2**63 - 1, "small": -(2**63), "pi": 3.141592653589793, "tiny": 5e-324,
               "huge": 1.7976931348623157e308, "neg_zero": -0.0, "third": 1 / 3, "exp": 1e300, "two": 2.0,
               "nested": {"a": [1, [2, [3, {"b": None, "c": True, "d": "é\u200b"}]]], "": "empty key"},
               "ключ": ["🙂", "\u00e9", "e\u0301"]},
}


def test_the_export_equals_what_was_saved(api):
    doc = graph("Grüße 🚀", [("t", "core.template", PARAMS, {"label": "étiquette ✓", "position": {"x": 0.1, "y": -1e-7}})],
                description="多言語", meta={"zoom": 1.25, "ids": [2**53 + 1, -2**62], "deep": {"a": {"b": {"c": [0.5]}}}})
    gid = api.post("/api/graphs", json=doc).json()["id"]
    exported = api.get(f"/api/graphs/{gid}/revisions/latest")
    assert exported.json() == doc
    # Equal as text too: 2.0 stays 2.0, 1e300 stays a float, no digit is lost.
    assert json.dumps(exported.json(), sort_keys=True) == json.dumps(doc, sort_keys=True)
    second = {**doc, "meta": {**doc["meta"], "zoom": 0.75}}
    assert api.put(f"/api/graphs/{gid}", json=second).json()["revision"] == 2
    assert api.get(f"/api/graphs/{gid}/revisions/1").json() == doc
    assert api.get(f"/api/graphs/{gid}/revisions/2").json() == second


def test_a_chunked_body_over_the_limit_is_refused_and_nothing_is_stored(api):
    def chunks():  # no Content-Length: httpx sends it chunked
        yield b'{"format": "nebhx/graph@1", "name": "big", "meta": {"pad": "'
        for _ in range(20):
            yield b"x" * (1024 * 1024)
        yield b'"}, "nodes": []}'
    resp = api.post("/api/graphs", content=chunks(), headers={"content-type": "application/json"})
    assert resp.status_code == 413 and "NEBHX_MAX_BODY_BYTES" in resp.text
    assert api.get("/api/graphs").json() == []


def test_reading_stops_at_the_limit_when_chunks_keep_coming(api):
    """Driven at the ASGI level: one chunk a call, as a server hands them over."""
    import anyio
    sent, answer, limit = [0], {}, 16 * 1024 * 1024

    async def receive():
        sent[0] += 1
        return {"type": "http.request", "body": b"x" * (1024 * 1024), "more_body": sent[0] < 20}

    async def send(message):
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
    scope = {"type": "http", "method": "POST", "path": "/api/graphs", "raw_path": b"/api/graphs",
             "query_string": b"", "root_path": "", "scheme": "http", "http_version": "1.1",
             "headers": [(b"host", b"127.0.0.1:8750"), (b"content-type", b"application/json"),
                         (b"transfer-encoding", b"chunked")], "client": ("127.0.0.1", 5), "server": ("127.0.0.1", 8750)}
    anyio.run(api.app, scope, receive, send)
    assert answer["status"] == 413
    assert sent[0] == limit // (1024 * 1024) + 1  # nothing read past the chunk that crossed the limit
    assert api.get("/api/graphs").json() == []
