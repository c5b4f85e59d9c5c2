"""Users, tokens and hosts' join tokens on the control plane, and signing the CLI in and out.

``user``, ``token`` and ``hosts add`` work on the store directly (like ``airflow users
create``): the first admin has to exist before anyone can sign in. They go through the same
service functions as the API's routes, which write the audit row of each change (actor
``cli:<account>``). ``login`` and ``logout`` talk to the server at NEBHX_URL.
"""
from __future__ import annotations

import getpass
import json
import socket
import sys
from typing import Any
from urllib.parse import quote

import httpx
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from nebhx.auth.audit import cli_door
from nebhx.cli.client import call, client, err, load_credentials, save_credentials, server_url, show_error
from nebhx.bricks.inventory import parse_labels
from nebhx.cli.runs import shown_labels

console = Console()
user_app = typer.Typer(help="Users and their roles (on the store directly).", no_args_is_help=True)
token_app = typer.Typer(help="API tokens (on the store directly).", no_args_is_help=True)
hosts_app = typer.Typer(help="Hosts: list them, add one (a join token for its agent), label one.")
ROLE_HELP = "admin | operator | viewer"


def _store(fn, **kwargs: Any) -> Any:
    """Run a service function in one transaction, its answer as the API's JSON; its refusals
    become messages and exit 1."""
    from pydantic import BaseModel

    from nebhx.errors import Conflict, NotFound
    from nebhx.store.db import session_scope
    try:
        with session_scope() as s:
            found = fn(s, **kwargs)
    except (Conflict, NotFound, ValueError) as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from exc
    if isinstance(found, list):
        return [f.model_dump(mode="json") if isinstance(f, BaseModel) else f for f in found]
    return found.model_dump(mode="json") if isinstance(found, BaseModel) else found


def _role(role: str) -> str:
    from nebhx.auth.tokens import ROLES
    if role not in ROLES:
        err.print(f"[red]role {role!r}[/]: expected {ROLE_HELP}")
        raise typer.Exit(2)
    return role


def _password(from_stdin: bool, confirm: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=confirm)


@user_app.command("add")
def user_add(name: str, role: str = typer.Option(..., help=ROLE_HELP),
             password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from stdin")) -> None:
    """Add a user (the password is asked twice)."""
    import re

    from nebhx.auth import service
    if not re.match(service.NAME_PATTERN, name):
        err.print(f"[red]user name {name!r}[/]: lower-case letters, digits and _.- , starting with a letter")
        raise typer.Exit(2)
    user = _store(service.create_user, name=name, password=_password(password_stdin, True), role=_role(role),
                  door=cli_door())
    console.print(f"user {user['name']} added ({user['role']})")


@user_app.command("list")
def user_list(as_json: bool = typer.Option(False, "--json")) -> None:
    """List users with their roles."""
    from nebhx.auth import service
    users = _store(service.list_users)
    if as_json:
        print(json.dumps(users, indent=2))
        return
    table = Table("user", "role", "state", "created")
    for u in users:
        table.add_row(u["name"], u["role"], "[red]disabled[/]" if u["disabled"] else "enabled", u["created_at"])
    console.print(table)


@user_app.command("role")
def user_role(name: str, role: str) -> None:
    """Change a user's role."""
    from nebhx.auth import service
    _store(service.update_user, name=name, role=_role(role), door=cli_door())
    console.print(f"user {name} is now {role}")


@user_app.command("disable")
def user_disable(name: str) -> None:
    """Disable a user: their sessions and tokens stop working at once."""
    from nebhx.auth import service
    _store(service.update_user, name=name, disabled=True, door=cli_door())
    console.print(f"user {name} disabled")


def _only_admin(session) -> str:
    from sqlalchemy import select

    from nebhx.store.models import UserRow
    admins = session.scalars(select(UserRow.name).where(UserRow.role == "admin", UserRow.disabled.is_(False))).all()
    if len(admins) != 1:
        raise ValueError("give --user: whose token is it?")
    return admins[0]


@token_app.command("create")
def token_create(name: str = typer.Option(..., help="What the token is for"),
                 user: str = typer.Option(None, help="Its owner (default: the only admin)"),
                 expires_days: int = typer.Option(None, help="Days until it expires (default: never)")) -> None:
    """Create an API token and print it (the only time it is shown)."""
    from nebhx.auth import service

    def create(s):
        return service.create_token(s, owner=user or _only_admin(s), name=name, expires_in_days=expires_days,
                                    door=cli_door())
    created = _store(create)
    console.print(f"token {created['id']}" + (f", expires {created['expires_at']}" if created["expires_at"] else ""))
    print(created["token"])


@token_app.command("list")
def token_list(as_json: bool = typer.Option(False, "--json")) -> None:
    """List API and host tokens (never their secrets)."""
    from nebhx.auth import service
    rows = _store(service.list_tokens)
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table("id", "kind", "owner", "name", "expires", "last used", "state")
    for t in rows:
        table.add_row(t["id"], t["kind"], t["owner"], t["name"], t["expires_at"] or "never",
                      t["last_used_at"] or "", "[red]revoked[/]" if t["revoked_at"] else "active")
    console.print(table)


@token_app.command("revoke")
def token_revoke(token_id: str) -> None:
    """Revoke a token: the next call with it is refused."""
    from nebhx.auth import service
    _store(service.revoke_token, token_id=token_id, door=cli_door())
    console.print(f"token {token_id} revoked")


@hosts_app.callback(invoke_without_command=True)
def hosts_list(ctx: typer.Context, as_json: bool = typer.Option(False, "--json")) -> None:
    """List the hosts whose agents registered, with their state."""
    if ctx.invoked_subcommand is None:
        from nebhx.cli.runs import hosts
        hosts(as_json=as_json)


def _labels(pairs: list[str], *, agent: bool = False) -> dict[str, str]:
    """k=v arguments as a dict, or exit 2 naming the one that is not a label (or, for labels
    an agent declares, the one that names the host: selectors never take that from an agent)."""
    try:
        labels = parse_labels(pairs)
    except ValueError as exc:
        err.print(f"[red]{escape(str(exc))}[/]", soft_wrap=True)
        raise typer.Exit(2) from None
    if agent and "name" in labels:
        err.print("[red]--label name=...[/]: a host's name is its own (--host), never a label its agent declares")
        raise typer.Exit(2)
    return labels


@hosts_app.command("add")
def hosts_add(name: str, label: list[str] = typer.Option([], help="Label k=v, repeatable")) -> None:
    """Make a join token for a new host and print the command that starts its agent."""
    from nebhx.auth import service
    labels = _labels(label, agent=True)
    added = _store(service.add_host, name=name, labels=labels, server=server_url(), door=cli_door())
    console.print(f"join token for host {name} (shown once); on that host run:")
    print(added["command"])


@hosts_app.command("delete")
def hosts_delete(name: str) -> None:
    """Forget a host and revoke its agent's tokens (through the API: refused while a run uses it)."""
    from nebhx.cli.client import call
    done = call("DELETE", f"/hosts/{name}")
    console.print(f"host {name} deleted; revoked tokens: {', '.join(done['revoked_tokens']) or 'none'}")


@hosts_app.command("label")
def hosts_label(name: str, labels: list[str] = typer.Argument(None, help="key=value to set, repeatable"),
                remove: list[str] = typer.Option([], "--remove", help="Admin label to drop, repeatable")) -> None:
    """Set or remove a host's admin labels (admin only); they win over its agent's --label."""
    if not (labels or remove):
        err.print("[red]give key=value or --remove key[/]")
        raise typer.Exit(2)
    body = {"set": _labels(labels or []), "remove": remove}
    host = call("PATCH", f"/hosts/{quote(name, safe='')}/labels", json=body)
    console.print(f"host {host['name']}: {shown_labels(host) or '(no labels)'}")


@hosts_app.command("approve")
def hosts_approve(name: str, key: list[str] = typer.Option([], "--key", help="Only this label, repeatable")) -> None:
    """Approve the labels a host's agent declares (admin; with NEBHX_LABEL_APPROVAL=required)."""
    host = call("POST", f"/hosts/{quote(name, safe='')}/labels/approve", json={"keys": key or None})
    held = ", ".join(f"{k} ({why})" for k, why in sorted((host.get("held_labels") or {}).items()))
    console.print(f"host {host['name']}: {shown_labels(host) or '(no labels)'}" + (f"; held: {held}" if held else ""))


def login(user: str = typer.Option(None, help="User name (default: asked)"),
          password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from stdin"),
          expires_days: int = typer.Option(None, help="Days until the token expires (default: never)")) -> None:
    """Sign in to the server at NEBHX_URL and keep its token in ~/.config/nebhx/credentials.json."""
    user = user or typer.prompt("User", default=getpass.getuser())
    password = _password(password_stdin, False)
    created = call("POST", "/auth/token", json={"username": user, "password": password,
                                                "name": f"cli@{socket.gethostname()}"[:200],
                                                "expires_in_days": expires_days})
    creds = load_credentials()
    creds[server_url()] = {"user": user, "id": created["id"], "token": created["token"]}
    save_credentials(creds)
    console.print(f"signed in to {server_url()} as {user}")


def logout() -> None:
    """Revoke the token stored for NEBHX_URL and forget it."""
    creds = load_credentials()
    stored = creds.get(server_url())
    if stored is None:
        console.print(f"not signed in to {server_url()}")
        return
    try:
        with client() as c:
            resp = c.delete(f"/tokens/{stored['id']}")
    except httpx.TransportError as exc:
        err.print(f"[red]no Nebh-X server at {server_url()}[/] ({exc}); the token stays stored")
        raise typer.Exit(2) from exc
    if resp.status_code not in (204, 401, 404):  # 401/404: revoked or gone already
        show_error(resp)
        raise typer.Exit(1)
    del creds[server_url()]
    save_credentials(creds)
    console.print(f"signed out of {server_url()}")
