"""A problem found in a graph document: what, where (node, port, JSON pointer) and why."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class Problem:
    code: str
    message: str
    node: str | None = None
    port: str | None = None
    path: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
