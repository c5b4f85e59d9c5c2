"""Helpers of the auth tests: users made as `nebhx user add` makes them, bearer headers."""


def add_user(name: str, role: str, password: str = "correct horse") -> str:
    """A user made the way `nebhx user add` does; returns an API token of theirs."""
    from nebhx.auth import service
    from nebhx.store.db import session_scope
    with session_scope() as s:
        service.create_user(s, name=name, password=password, role=role)
        return service.create_token(s, owner=name, name="test").token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
