from typing import Literal

from pydantic import BaseModel, Field

from nebhx.auth.service import MIN_PASSWORD, NAME_PATTERN

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
    labels: dict[str, str] = Field(default_factory=dict)
