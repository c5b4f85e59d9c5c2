from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from nebhx.auth.deps import ADMIN, VIEWER
from nebhx.secrets import service
from nebhx.store.db import session_scope

router = APIRouter(tags=["secrets"], dependencies=[VIEWER])


class SecretValue(BaseModel):
    value: str = Field(min_length=1, max_length=65536)


@router.put("/secrets/{name}", status_code=204, dependencies=[ADMIN])
def put_secret(name: str, body: SecretValue) -> Response:
    """Store a secret (write-only: it is never returned); graphs use it as {"$secret": name}."""
    with session_scope() as s:
        service.put_secret(s, name=name, value=body.value)
    return Response(status_code=204)


@router.get("/secrets")
def list_secrets() -> list[dict[str, Any]]:
    """Names of stored secrets and when they changed; never their values."""
    with session_scope() as s:
        return service.list_secrets(s)
