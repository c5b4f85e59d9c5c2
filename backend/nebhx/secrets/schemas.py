"""What the secret routes take and answer: a value goes in, only names come out."""
from __future__ import annotations

from pydantic import BaseModel, Field


class SecretValue(BaseModel):
    value: str = Field(min_length=1, max_length=65536)


class SecretName(BaseModel):
    """A stored secret: its name and when it changed, never its value."""
    name: str
    updated_at: str | None
