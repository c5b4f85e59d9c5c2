"""What the secret routes take and answer: a value goes in, only names come out."""
from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

from nebhx.sealing.masking import normalise_secret
from nebhx.timestamps import Timestamp


class SecretValue(BaseModel):
    value: str = Field(min_length=1, max_length=65536,
                       description="Trailing line ends are dropped (as `nebhx secret` does); other control "
                                   "characters but tab and inner newlines are refused")

    @field_validator("value")
    @classmethod
    def _normalised(cls, value: str) -> str:
        return normalise_secret(value)


class SecretName(BaseModel):
    """A stored secret: its name and when it changed, never its value."""
    name: str
    updated_at: Timestamp | None
