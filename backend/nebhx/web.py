"""What route modules share, below every domain: the 422 a route raises for its own input
checks, shaped like every other refusal (nebhx.api.errors). The API's edge (nebhx.api.edge)
uses it too; a route never imports the API package above it."""
from __future__ import annotations

from fastapi import HTTPException


def problems(path: str, message: str) -> list[dict]:
    """The detail of a 422, shaped like every other (api/errors.py): it names the field."""
    return [{"node": None, "port": None, "code": "limit", "message": f"{path.strip('/')}: {message}",
             "path": path}]


def unprocessable(path: str, message: str) -> HTTPException:
    """For a route's own input checks: ``raise unprocessable("/path/number", "...")``."""
    return HTTPException(422, problems(path, message))
