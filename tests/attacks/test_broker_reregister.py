"""Issue 18, trust leftover a: a host's broker credential belongs to one registration.

The password was derived from the host's name alone, so a host deleted and added again under
the same name got the same one back, and the removed machine's old credential worked again.
Now it is derived per live token: each registration (and each token) has its own, and a
revoked token's goes with it while the host's other tokens keep theirs.
"""
from __future__ import annotations

import redis

from test_proc_broker import _cannot_auth, _host_rows, broker, hello  # noqa: F401 - the fixture too


def _live(url: str) -> bool:
    return redis.Redis.from_url(url).ping()


def test_a_host_added_again_does_not_revive_its_old_broker_credential(app_env, broker):  # noqa: F811
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


def test_revoking_one_of_a_hosts_tokens_ends_only_its_broker_credential(app_env, broker):  # noqa: F811
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
