"""The store-backed host inventory the engine gives control bricks (``ctx.inventory``)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from nebhx.bricks.inventory import HostInfo, Inventory
from nebhx.store.models import HostRow


class StoreInventory(Inventory):
    """The hosts table, read once per instance (a brick run or a plan sees one snapshot).

    With ``session`` it reads through the caller's transaction (the plan route); without,
    it opens its own on the store the settings name (a control worker).
    """

    def __init__(self, session: Session | None = None, url: str | None = None):
        self._session, self._url = session, url
        self._hosts: list[HostInfo] | None = None

    def hosts(self) -> list[HostInfo]:
        if self._hosts is None:
            if self._session is not None:
                self._hosts = _read(self._session)
            else:
                from nebhx.store.db import session_scope
                with session_scope(self._url) as s:
                    self._hosts = _read(s)
        return list(self._hosts)


def _read(session: Session) -> list[HostInfo]:
    from nebhx.engine.hosts import effective_labels, host_state
    from nebhx.settings import get_settings
    down_s = get_settings().host_down_s
    rows = session.execute(select(HostRow).order_by(HostRow.name)).scalars()
    return [HostInfo(name=r.name, labels=effective_labels(r), state=host_state(r, down_s),
                     address=r.address or "", services=tuple(r.services or ())) for r in rows]

