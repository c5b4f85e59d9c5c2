"""The errors the domains share (a leaf: importing it loads nothing else of nebhx). The API
maps each to its status (nebhx.api.errors): NotFound 404, Forbidden 403, Conflict and InUse 409,
BadInputs 422."""
from __future__ import annotations

from typing import Any


class NotFound(LookupError):
    pass


class Conflict(Exception):
    """The request does not fit the current state (retry a node that did not fail, a user
    name taken, the last admin...)."""


class Forbidden(PermissionError):
    """The principal may not do this (another user's token...)."""


class InUse(Exception):
    """Deleting it would break what still uses it (answered 409, naming the user)."""


class BadInputs(ValueError):
    def __init__(self, problems: list[dict[str, Any]]):
        super().__init__("; ".join(p["message"] for p in problems))
        self.problems = problems
