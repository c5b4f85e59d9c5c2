"""Issue 18, finding 10: one audited path for every state change, whichever door.

`nebhx user add|role|disable` and `token create|revoke` wrote the store directly and left no
audit row; an agent's register (its labels and address) left none either. They now go
through the service functions that write the row, with the same actions as the API's.
"""
from __future__ import annotations

from typer.testing import CliRunner

from apikit import add_host, bearer

from nebhx.auth.audit import list_audit
from nebhx.cli.main import app
from nebhx.store.db import session_scope


def _rows(**filters) -> list[dict]:
    with session_scope() as s:
        return list(reversed(list_audit(s, **filters)))


def _cli(*args: str, stdin: str | None = None) -> str:
    result = CliRunner().invoke(app, list(args), input=stdin)
    assert result.exit_code == 0, result.output
    return result.output


def test_the_cli_leaves_an_audit_row_for_each_change(app_env):
    _cli("user", "add", "ada", "--role", "admin", "--password-stdin", stdin="a long password\n")
    _cli("user", "add", "bob", "--role", "viewer", "--password-stdin", stdin="another password\n")
    _cli("user", "role", "bob", "operator")
    _cli("user", "disable", "bob")
    token = _cli("token", "create", "--name", "ci", "--user", "ada").strip().splitlines()[-1]
    token_id = next(r for r in _rows() if r["action"] == "tokens.create_token")["data"]["token"]
    _cli("token", "revoke", token_id)
    _cli("hosts", "add", "web1")
    rows = _rows()
    assert [(r["action"], r["data"].get("user") or r["data"].get("host") or r["data"].get("token")) for r in rows] == [
        ("users.create_user", "ada"), ("users.create_user", "bob"), ("users.update_user", "bob"),
        ("users.update_user", "bob"), ("tokens.create_token", token_id), ("tokens.revoke_token", token_id),
        ("hosts.add_host", "web1")]
    assert {r["data"]["via"] for r in rows} == {"cli"} and all(r["actor"].startswith("cli:") for r in rows)
    assert rows[2]["data"]["role"] == "operator" and rows[3]["data"]["disabled"] is True
    assert token not in repr(rows) and "password" not in repr([r["data"] for r in rows])


def test_an_agents_register_is_audited(secured):
    token = add_host("d1")
    answer = secured.post("/api/exec/register", json={"address": "10.0.0.9", "labels": {"role": "web", "name": "x"},
                                                      "version": "1.0"}, headers=bearer(token))
    assert answer.status_code == 204, answer.text
    rows = _rows(action="execution.register")
    assert len(rows) == 1 and rows[0]["actor"] == "host:d1" and rows[0]["address"] == "testclient", rows
    assert rows[0]["data"]["address"] == "10.0.0.9" and rows[0]["data"]["labels"] == {"role": "web", "name": "x"}
    assert rows[0]["data"]["held"] == {"name": "reserved"}


def test_a_local_agents_register_is_audited(app_env):
    from nebhx.hosts.agent import register
    register("local", {"role": "web"})
    rows = _rows(action="execution.register")
    assert len(rows) == 1 and rows[0]["actor"] == "host:local" and rows[0]["data"]["labels"] == {"role": "web"}
