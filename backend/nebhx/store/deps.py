"""A route's store session, as a FastAPI dependency: ``def route(s: DbSession)``.

Scope "function": the transaction commits (or rolls back on an error, which is then
answered) before the answer is sent. Here, beside the store, so route modules of every
domain take it without reaching up into the API package.
"""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from sqlalchemy.orm import Session

from nebhx.store.db import get_session

DbSession = Annotated[Session, Depends(get_session, scope="function")]
