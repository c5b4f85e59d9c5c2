from fastapi import APIRouter, Response

from nebhx.store.deps import DbSession
from nebhx.auth.deps import ADMIN, VIEWER
from nebhx.secrets import service
from nebhx.secrets.schemas import SecretName, SecretValue

router = APIRouter(tags=["secrets"], dependencies=[VIEWER])


@router.put("/secrets/{name}", status_code=204, dependencies=[ADMIN])
def put_secret(name: str, body: SecretValue, s: DbSession) -> Response:
    """Store a secret (write-only: it is never returned); graphs use it as {"$secret": name}."""
    service.put_secret(s, name=name, value=body.value)
    return Response(status_code=204)


@router.get("/secrets")
def list_secrets(s: DbSession) -> list[SecretName]:
    """Names of stored secrets and when they changed; never their values."""
    return service.list_secrets(s)


@router.delete("/secrets/{name}", status_code=204, dependencies=[ADMIN])
def delete_secret(name: str, s: DbSession) -> Response:
    """Delete a secret; 409 naming the graphs and nodes while a stored graph refers to it."""
    service.delete_secret(s, name=name)
    return Response(status_code=204)
