"""What the palette routes answer: every brick with its ports and JSON Schemas."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class Port(BaseModel):
    """One field of a brick's Inputs or Outputs; its type decides which wires fit."""
    name: str
    direction: Literal["in", "out"]
    type: str = Field(description="A port type: string, integer, Url, Address, Secret, T[] ... (see type_parents)")
    required: bool
    title: str = ""
    description: str = ""
    default: Any = Field(default=None, description="Only when the port has one")


class BrickSpec(BaseModel):
    id: str
    title: str
    category: str
    icon: str = ""
    docs: str = Field(default="", description="Markdown, from the brick's docstring")
    parent: str | None = Field(default=None, description="The brick it specialises")
    host_input: str | None = Field(default=None, description="The input naming the host it runs on")
    on_repeat: str | None = Field(default=None, description="Not given for a composite")
    source: str = ""
    revision: int | None = Field(default=None, description="A composite (a stored graph): its latest revision")
    ref: str | None = Field(default=None, description="A composite: composite:<graph id>@<revision>")
    inputs: list[Port]
    outputs: list[Port]
    inputs_schema: dict[str, Any]
    outputs_schema: dict[str, Any]


class LoadErrorRead(BaseModel):
    """A module, entry point or stored graph that could not be offered, and why."""
    source: str
    message: str


class Palette(BaseModel):
    bricks: list[BrickSpec]
    errors: list[LoadErrorRead]
    type_parents: dict[str, str] = Field(description="Each port type's parent: an output fits its type's ancestors")
