"""What a brick raises to end its run (a leaf: the runtime's adapters raise them too, and
importing this module loads nothing else of nebhx)."""
from __future__ import annotations


class Cancelled(Exception):
    """Raised inside a brick when its run was cancelled."""


class BrickFailed(Exception):
    """A brick's strict failure: the message is the reason shown to the operator."""


class WaitFor(Exception):
    """Raised by a brick that must wait for a person or an event without holding a worker.

    The node goes to ``waiting``; the engine resumes it when ``approve``/``reject`` arrives
    or fails it after ``timeout_s``.
    """

    def __init__(self, reason: str, timeout_s: float | None = None, data: dict | None = None):
        super().__init__(reason)
        self.reason = reason
        self.timeout_s = timeout_s
        self.data = data or {}
