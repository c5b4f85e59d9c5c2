"""Failed sign-ins are limited per client address and per user name, in memory.

A process forgets on restart and each API process counts alone: enough to make guessing a
password over the network slow, without a table written on every wrong guess.
"""
from __future__ import annotations

import math
import threading
import time
from collections import deque

MAX_FAILURES = 5
WINDOW_S = 60.0

_failures: dict[str, deque[float]] = {}
_lock = threading.Lock()


def _recent(key: str, now: float) -> deque[float]:
    times = _failures.setdefault(key, deque())
    while times and times[0] <= now - WINDOW_S:
        times.popleft()
    return times


def retry_after(*keys: str) -> int | None:
    """Seconds to wait when any key had MAX_FAILURES failures in the window, else None."""
    now = time.monotonic()
    wait = 0.0
    with _lock:
        for key in keys:
            times = _recent(key, now)
            if len(times) >= MAX_FAILURES:
                wait = max(wait, times[0] + WINDOW_S - now)
    return max(1, math.ceil(wait)) if wait else None


def failed(*keys: str) -> None:
    now = time.monotonic()
    with _lock:
        for key in keys:
            _recent(key, now).append(now)
        if len(_failures) > 10_000:  # many addresses once each: drop the quiet ones
            for key in [k for k, v in _failures.items() if not _recent(k, now)]:
                del _failures[key]


def reset() -> None:
    with _lock:
        _failures.clear()
