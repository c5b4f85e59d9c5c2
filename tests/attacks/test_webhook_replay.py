"""Issue 18, finding 14 (webhooks): a delivery carries an id and a time, and a replay is refused.

A signed push could be sent again, by anyone who saw it once, and started a run each time.
Nebh-X's own hook now signs its delivery id and time with the body (X-Nebhx-Delivery,
X-Nebhx-Timestamp: refused outside a 5-minute window or seen before); a forge's delivery
(GitHub, Gitea, GitLab) is refused when the same signed body comes again. Second pass: a GitHub
push is refused outside the window too (its body, which is signed, holds the push's time);
Gitea's and GitLab's bodies hold none, so theirs are remembered for good.
"""
from __future__ import annotations

import json
import time
import uuid

import pytest
from apikit import add_user, bearer

from nebhx.triggers.signatures import sign, sign_delivery

SECRET = "hook-s3cret-value"
REPO = "/srv/git/app.git"


@pytest.fixture
def hooked(secured):
    admin = bearer(add_user("ada", "admin"))
    assert secured.put("/api/secrets/hook", json={"value": SECRET}, headers=admin).status_code == 204
    doc = {"format": "nebhx/graph@1", "name": "on-push", "nodes": [{"id": "n", "brick": "test.noop", "params": {}}],
           "edges": [], "meta": {"triggers": [{"name": "push", "secret": "hook", "repository": REPO}]}}
    assert secured.post("/api/graphs", json=doc, headers=admin).status_code == 201
    yield secured, admin


def _runs(api, admin) -> int:
    return len(api.get("/api/runs", headers=admin).json())


def _push(commit: str) -> bytes:
    return json.dumps({"repository": REPO, "ref": "refs/heads/main", "commit": commit}).encode()


def _generic(body: bytes, delivery: str, at: int, secret: str = SECRET) -> dict:
    return {"X-Nebhx-Delivery": delivery, "X-Nebhx-Timestamp": str(at),
            "X-Nebhx-Signature": sign_delivery(body, secret, delivery=delivery, timestamp=at)}


def test_a_forge_delivery_sent_again_is_refused(hooked):
    api, admin = hooked
    body = _github("a" * 40, int(time.time()))
    headers = {"X-Hub-Signature-256": sign(body, SECRET), "X-GitHub-Delivery": str(uuid.uuid4())}
    first = api.post("/api/triggers/push", content=body, headers=headers)
    assert first.status_code == 202 and first.json()["started"] is True, first.text
    again = api.post("/api/triggers/push", content=body, headers={**headers, "X-GitHub-Delivery": str(uuid.uuid4())})
    assert again.status_code == 409 and "received before" in again.json()["detail"], again.text
    assert _runs(api, admin) == 1
    other = _push("b" * 40)  # the next push is a new body
    assert api.post("/api/triggers/push", content=other, headers={"X-Gitea-Signature": sign(other, SECRET)[7:]}
                    ).status_code == 202


def test_nebhx_hook_deliveries_carry_an_id_and_a_time(hooked):
    api, admin = hooked
    body, now = _push("c" * 40), int(time.time())
    delivery = uuid.uuid4().hex
    assert api.post("/api/triggers/push", content=body, headers=_generic(body, delivery, now)).status_code == 202
    again = api.post("/api/triggers/push", content=body, headers=_generic(body, delivery, now))
    assert again.status_code == 409, again.text
    stale = api.post("/api/triggers/push", content=body, headers=_generic(body, uuid.uuid4().hex, now - 600))
    assert stale.status_code == 401 and "window" in stale.json()["detail"], stale.text
    moved = _generic(body, uuid.uuid4().hex, now)
    moved["X-Nebhx-Timestamp"] = str(now + 1)  # the time is signed: changing it breaks the signature
    assert api.post("/api/triggers/push", content=body, headers=moved).status_code == 401
    bare = api.post("/api/triggers/push", content=body, headers={"X-Nebhx-Signature": sign(body, SECRET)})
    assert bare.status_code == 401 and "X-Nebhx-Delivery" in bare.json()["detail"], bare.text
    assert _runs(api, admin) == 1


def _github(commit: str, pushed_at: int) -> bytes:
    """A GitHub push: the push's time is in the signed body."""
    return json.dumps({"ref": "refs/heads/main", "after": commit,
                       "repository": {"clone_url": REPO, "pushed_at": pushed_at}}).encode()


def test_an_old_github_push_is_refused_and_its_time_is_signed(hooked):
    api, admin = hooked
    now = int(time.time())
    old = _github("d" * 40, now - 600)  # captured ten minutes ago, sent now (or redelivered)
    stale = api.post("/api/triggers/push", content=old, headers={"X-Hub-Signature-256": sign(old, SECRET)})
    assert stale.status_code == 401 and "window" in stale.json()["detail"], stale.text
    fresh = _github("d" * 40, now)
    moved = old.replace(str(now - 600).encode(), str(now).encode())  # the time is in what is signed
    assert api.post("/api/triggers/push", content=moved, headers={"X-Hub-Signature-256": sign(old, SECRET)}
                    ).status_code == 401
    timeless = _push("e" * 40)
    bare = api.post("/api/triggers/push", content=timeless, headers={"X-Hub-Signature-256": sign(timeless, SECRET)})
    assert bare.status_code == 401 and "pushed_at" in bare.json()["detail"], bare.text
    assert _runs(api, admin) == 0
    assert api.post("/api/triggers/push", content=fresh, headers={"X-Hub-Signature-256": sign(fresh, SECRET)}
                    ).status_code == 202
    assert _runs(api, admin) == 1


def test_a_gitea_delivery_is_refused_however_long_ago_it_came(hooked):
    """Gitea's body holds no push time: its key is kept past the other deliveries' retention."""
    api, admin = hooked
    body = _push("f" * 40)
    headers = {"X-Gitea-Signature": sign(body, SECRET)[7:]}
    assert api.post("/api/triggers/push", content=body, headers=headers).status_code == 202
    from datetime import timedelta

    from sqlalchemy import update

    from nebhx.store.db import session_scope
    from nebhx.store.models import TriggerDeliveryRow, utcnow
    with session_scope() as s:  # a month passes
        s.execute(update(TriggerDeliveryRow).values(received_at=utcnow() - timedelta(days=30)))
    other = _push("0" * 39 + "1")  # another delivery comes meanwhile (it prunes what is old)
    assert api.post("/api/triggers/push", content=other, headers={"X-Gitea-Signature": sign(other, SECRET)[7:]}
                    ).status_code == 202
    again = api.post("/api/triggers/push", content=body, headers=headers)
    assert again.status_code == 409 and "received before" in again.json()["detail"], again.text
