"""Run a host command with a timeout, a clear error and secrets kept out of the log."""
from __future__ import annotations

import subprocess
from collections.abc import Sequence
from typing import TYPE_CHECKING

from nebhx.bricks.errors import BrickFailed
from nebhx.runtime.process import host_env
from nebhx.sealing.masking import excerpt

if TYPE_CHECKING:
    from nebhx.bricks.base import Context


def run(cmd: Sequence[str], *, ctx: Context | None = None, timeout: float | None = 600,
        check: bool = True, env: dict[str, str] | None = None, cwd: str | None = None,
        input: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``cmd``; on a non-zero exit raise ``BrickFailed`` naming the command and its stderr.
    Without ``env`` it gets the agent's environment minus its credentials (``host_env``)."""
    shown = " ".join(cmd)
    if ctx:
        ctx.log("$ %s", shown)
    try:
        proc = subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout,
                              env=host_env() if env is None else env, cwd=cwd, input=input)
    except FileNotFoundError as exc:
        raise BrickFailed(f"command not found on this host: {cmd[0]}") from exc
    except subprocess.TimeoutExpired as exc:
        raise BrickFailed(f"command timed out after {timeout}s: {shown}") from exc
    if check and proc.returncode != 0:
        detail = excerpt(proc.stderr or proc.stdout, 2000, ctx.mask if ctx else None)
        msg = f"command failed (exit {proc.returncode}): {shown}: {detail}"
        raise BrickFailed(ctx.mask(msg) if ctx else msg)
    return proc
