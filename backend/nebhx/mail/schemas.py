"""What the mail route answers: messages of the development mail sink."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class MailMessage(BaseModel):
    """One received message (an inbox line written by an older sink may lack a field: empty)."""
    model_config = ConfigDict(populate_by_name=True)
    id: str
    date: str = Field(default="", description="When the sink received it (ISO 8601, UTC)")
    from_: str = Field(default="", alias="from")
    to: list[str] = Field(default_factory=list)
    subject: str = ""
    message_id: str = ""
    text: str = Field(default="", description="The first text/plain part (else text/html)")
    peer: str = Field(default="", description="The sending client's address")
