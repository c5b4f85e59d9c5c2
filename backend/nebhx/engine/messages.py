"""How queued nodes travel: alone, or items of one fan-out several to a message (a leaf module:
the sender groups what the dispatcher hands it after commit)."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nebhx.engine.dispatch import Dispatch

CHUNK_MAX = 50  # items per message at most: a worker ends them in one transaction


def chunks(dispatches: list[Dispatch], workers: int) -> list[list[Dispatch]]:
    """The dispatches in messages: alone, or with others of the same chunk (and queue), in
    runs of up to ``CHUNK_MAX``, with four messages per worker process at least so every
    worker gets some (a fan-out of 16 items or fewer on 4 workers stays one item a message)."""
    groups: dict[tuple[str, str, str], list[Dispatch]] = {}
    out: list[list[Dispatch]] = []
    for d in dispatches:
        if d.chunk is None or d.countdown:
            out.append([d])
        else:
            groups.setdefault((d.run_id, d.chunk, d.queue), []).append(d)
    for group in groups.values():
        size = max(1, min(CHUNK_MAX, math.ceil(len(group) / (4 * max(workers, 1)))))
        out += [group[i:i + size] for i in range(0, len(group), size)]
    return out
