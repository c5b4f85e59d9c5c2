from typing import Any

from pydantic import BaseModel, Field

from nebhx.limits import PARAM_MAX, REVISION_MAX


class RunCreate(BaseModel):
    graph_id: str | None = Field(default=None, min_length=1, max_length=PARAM_MAX, description="A stored graph")
    revision: int | None = Field(default=None, ge=1, le=REVISION_MAX, description="Default: the latest")
    graph: dict[str, Any] | None = Field(default=None, description="Or a graph document, stored first")
    inputs: dict[str, Any] = Field(default_factory=dict)


class Decision(BaseModel):
    by: str | None = Field(default=None, max_length=200,
                           description="Ignored: the approver is always the signed-in user")
    comment: str = Field(default="", max_length=2000)
