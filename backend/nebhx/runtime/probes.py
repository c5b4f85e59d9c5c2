"""Probes: is this service alive and ready? HTTP, TCP and command checks with evidence.

Every probe returns a ``ProbeResult`` (never raises for a failed check) so that a brick
can show the operator *why* something is not ready: the status code, the start of the
body, the exit code or the connection error, and how long it took.
"""
from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import httpx

from nebhx.runtime.process import host_env

if TYPE_CHECKING:
    from nebhx.bricks.base import Context

EXCERPT = 500


@dataclass
class ProbeResult:
    ok: bool
    kind: str  # http | tcp | command
    target: str
    elapsed_ms: float
    status: int | None = None  # HTTP status or command exit code
    body: str = ""  # first EXCERPT characters of the body / command output
    error: str | None = None
    attempts: int = 1

    @property
    def evidence(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        if self.ok:
            return f"{self.kind} {self.target}: ok ({self.status if self.status is not None else 'open'})"
        return f"{self.kind} {self.target}: {self.error}"


def _ms(start: float) -> float:
    return round((time.monotonic() - start) * 1000, 1)


def split_address(address: str, default_host: str = "127.0.0.1") -> tuple[str, int]:
    """``host:port``, ``[v6]:port`` or ``:port`` -> (host, port)."""
    host, _, port = address.rpartition(":")
    if not port.isdigit():
        raise ValueError(f"address {address!r} has no port (expected host:port)")
    return host.strip("[]") or default_host, int(port)


def http_probe(url: str, expect_status: int = 200, contains: str | None = None,
               timeout: float = 5) -> ProbeResult:
    """GET ``url``; ok when the status is ``expect_status`` and the body holds ``contains``."""
    start = time.monotonic()
    try:
        # trust_env=False: a proxy from the environment must not sit between us and the service.
        with httpx.Client(timeout=timeout, trust_env=False, follow_redirects=False) as client:
            resp = client.get(url, headers={"Connection": "close"})
    except httpx.HTTPError as exc:
        return ProbeResult(False, "http", url, _ms(start), error=f"{type(exc).__name__}: {exc}")
    body = resp.text[:EXCERPT]
    error = None
    if resp.status_code != expect_status:
        error = f"status {resp.status_code}, expected {expect_status}"
    elif contains is not None and contains not in resp.text:
        error = f"body does not contain {contains!r}"
    return ProbeResult(error is None, "http", url, _ms(start), resp.status_code, body, error)


def tcp_probe(address: str, timeout: float = 3) -> ProbeResult:
    """Open (and close) a TCP connection to ``host:port``."""
    start = time.monotonic()
    try:
        host, port = split_address(address)
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except (OSError, ValueError) as exc:
        return ProbeResult(False, "tcp", address, _ms(start), error=f"{type(exc).__name__}: {exc}")
    return ProbeResult(True, "tcp", address, _ms(start))


def command_probe(cmd: str | Sequence[str], timeout: float = 10) -> ProbeResult:
    """Run ``cmd`` (a string goes through ``/bin/sh -c``); ok on exit code 0."""
    shown = cmd if isinstance(cmd, str) else " ".join(cmd)
    argv = ["/bin/sh", "-c", cmd] if isinstance(cmd, str) else list(cmd)
    start = time.monotonic()
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, env=host_env())
    except subprocess.TimeoutExpired:
        return ProbeResult(False, "command", shown, _ms(start), error=f"timed out after {timeout}s")
    except OSError as exc:
        return ProbeResult(False, "command", shown, _ms(start), error=f"{type(exc).__name__}: {exc}")
    output = (proc.stdout + proc.stderr)[-EXCERPT:]
    error = None if proc.returncode == 0 else f"exit code {proc.returncode}: {output.strip()[-200:]}"
    return ProbeResult(proc.returncode == 0, "command", shown, _ms(start), proc.returncode,
                       output, error)


def wait_until(probe: Callable[[], ProbeResult], timeout_s: float, interval_s: float = 0.5,
               ctx: Context | None = None, abort: Callable[[], str | None] | None = None,
               max_attempts: int | None = None) -> ProbeResult:
    """Run ``probe`` until it passes, ``timeout_s`` runs out or ``max_attempts`` are spent.

    ``abort`` may return a reason to give up early (the process died for good); that
    reason becomes the result's error. Returns the last result with ``attempts`` set.
    """
    deadline = time.monotonic() + timeout_s
    attempts = 0
    while True:
        attempts += 1
        result = probe()
        result.attempts = attempts
        if result.ok:
            return result
        if ctx is not None:
            ctx.log("probe attempt %d: %s", attempts, result.summary())
        reason = abort() if abort else None
        if reason:
            result.error = f"{reason}; last probe: {result.error}"
            return result
        if (max_attempts and attempts >= max_attempts) or time.monotonic() + interval_s > deadline:
            return result
        if ctx is not None:
            ctx.sleep(interval_s)
        else:
            time.sleep(interval_s)
