"""What every kind of release source shares (``sources`` for files, URLs, pip and artifacts,
``images`` for ``oci:``): the Source record, the provenance file beside a staged release,
content hashing within a plan's budget, and fetching from the artifact store."""
from __future__ import annotations

import hashlib
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from nebhx.bricks.errors import BrickFailed

if TYPE_CHECKING:
    from nebhx.bricks.base import Context

PROVENANCE = ".nebhx-provenance.json"


@dataclass(frozen=True)
class Source:
    kind: str
    shown: str
    digest: str  # sha256 of the content (or of what a pip spec resolves to), known before fetching
    fetch: Callable[[Path, Path, Context | None], None]
    version: str = ""  # pip: the resolved version of the spec's distribution

    @property
    def derived_id(self) -> str:
        return f"{self.version}-{self.digest[:12]}" if self.version else self.digest[:12]


def fetch_artifact(name: str | None, sha: str, out, ctx: Context | None) -> dict:
    """From the process's artifact store: an agent's goes through the execution API with its
    host token, the control plane's own hosts read the store (``nebhx.process``)."""
    import httpx

    from nebhx.bricks.resources import installed
    artifacts = ctx.artifacts if ctx is not None else installed().artifacts
    try:
        return artifacts.fetch(name=name, sha256=sha, into=out)
    except LookupError as exc:
        raise BrickFailed(f"artifact {name}@sha256:{sha}: {exc}") from exc
    except (OSError, httpx.HTTPError) as exc:
        raise BrickFailed(f"artifact {name}@sha256:{sha} could not be fetched: {exc}") from exc


@dataclass
class Budget:
    """What a plan may spend hashing a source: bytes, files and time (``time.monotonic()``)."""
    bytes: int = 256 << 20
    files: int = 20_000
    deadline: float = float("inf")

    def spend(self, what: Path, nbytes: int = 0, files: int = 0) -> None:
        self.bytes -= nbytes
        self.files -= files
        if self.bytes < 0 or self.files < 0:
            raise BrickFailed(f"{what} is larger than a plan reads (256 MiB, 20,000 files)")
        if time.monotonic() > self.deadline:
            raise BrickFailed(f"hashing {what} did not end within the plan's time")


def file_hash(path: Path, budget: Budget | None = None) -> str:
    digest = hashlib.sha256()
    if budget is not None:
        if not stat.S_ISREG(path.stat().st_mode):  # a FIFO or device would never end
            raise BrickFailed(f"{path} is not a regular file")
        budget.spend(path, path.stat().st_size, 1)
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
            if budget is not None:
                budget.spend(path)
    return digest.hexdigest()
