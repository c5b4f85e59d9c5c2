"""What an agent tells the control plane about its volumes, with its heartbeat.

The report lists every volume with its usage, retention rule and snapshots (id, time, kind,
size, release). A volume's usage walks its files, so it is made again only when a volume or
snapshot changed on this host (``Volumes.changed_at``) or every ``every_s`` seconds, not
on every heartbeat; in between the heartbeat carries none and the last report stands.
"""
from __future__ import annotations

import math
import time
from typing import Any


class VolumeReport:
    def __init__(self, host: str, every_s: float = 60.0):
        self.host, self.every_s = host, every_s
        self._at, self._seen = -math.inf, -1.0

    def due(self) -> list[dict[str, Any]] | None:
        """The report when it is due, else None."""
        from nebhx.runtime import HostRuntime
        vols = HostRuntime.for_host(self.host).volumes
        changed = vols.changed_at()
        if changed <= self._seen and time.monotonic() - self._at < self.every_s:
            return None
        self._seen, self._at = changed, time.monotonic()
        return vols.view(self.host)
