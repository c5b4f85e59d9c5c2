"""The one type of a time in an API answer (a leaf: imports nothing of nebhx).

A ``Timestamp`` field holds a real timezone-aware ``datetime``; a naive one (SQLite hands
them back) is UTC, as every stored time is. In JSON it is written as ``datetime.isoformat()``
("...+00:00"), as the API always wrote times, not pydantic's "...Z".
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any

from pydantic import AwareDatetime, BeforeValidator, PlainSerializer, WithJsonSchema


def _utc_if_naive(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


Timestamp = Annotated[
    AwareDatetime,
    BeforeValidator(_utc_if_naive),
    PlainSerializer(lambda dt: dt.isoformat(), return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
