"""What the auth routes take and answer (a leaf of nebhx.auth: the service builds these)."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from nebhx.bricks.inventory import LabelKey, LabelValue
from nebhx.timestamps import Timestamp

NAME_PATTERN = r"^[a-z][a-z0-9_.-]{0,63}$"
MIN_PASSWORD = 8
Role = Literal["viewer", "operator", "admin"]
Days = Field(default=None, ge=1, le=3650, description="Default: never expires")


class Login(BaseModel):
    username: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=1024)


class TokenLogin(Login):
    name: str = Field(default="cli", min_length=1, max_length=200, description="What the token is for")
    expires_in_days: int | None = Days


class TokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    expires_in_days: int | None = Days


class UserCreate(BaseModel):
    name: str = Field(pattern=NAME_PATTERN)
    password: str = Field(min_length=MIN_PASSWORD, max_length=1024)
    role: Role


class UserUpdate(BaseModel):
    role: Role | None = None
    password: str | None = Field(default=None, min_length=MIN_PASSWORD, max_length=1024)
    disabled: bool | None = None


class HostCreate(BaseModel):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$")
    labels: dict[LabelKey, LabelValue] = Field(default_factory=dict, max_length=100)


class Me(BaseModel):
    """Who the caller is (GET /api/auth/me, POST /api/auth/login)."""
    user: str | None
    role: Role | None
    auth: Literal["open", "required"] = Field(
        description='"open": the single-user embedded mode (no sign-in, user "local", role admin)')
    csrf: str | None = Field(description="The session's CSRF token, sent back as X-CSRF-Token")


class UserRead(BaseModel):
    name: str
    role: Role
    disabled: bool
    created_at: Timestamp | None


class TokenRead(BaseModel):
    """An API, session or host token; never its secret."""
    id: str
    kind: str
    owner: str | None
    name: str | None
    created_at: Timestamp | None
    expires_at: Timestamp | None
    revoked_at: Timestamp | None
    last_used_at: Timestamp | None


class TokenCreated(BaseModel):
    """A new token: the only answer that holds its text."""
    id: str
    token: str
    expires_at: Timestamp | None


class AuditEntry(BaseModel):
    id: int
    at: Timestamp | None
    actor: str
    action: str
    target: str
    address: str | None
    data: dict[str, Any] | None


class HostJoin(BaseModel):
    """A new host's join token and the command that starts its agent: the only time it is shown."""
    name: str
    token: str
    command: str
