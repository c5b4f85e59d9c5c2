"""Check bricks: did it come alive? HTTP, TCP and command checks with retries and evidence.

Each check runs on the host it names, so `127.0.0.1` means that host. It tries up to
`attempts` times, `interval_s` apart, and ends strictly: it passes, or the node fails
with the last error. With `fail_on_error` off it always succeeds and reports `ok`, so
a scenario can branch on the output instead of on the node status.
"""
from __future__ import annotations

from typing import Any

from pydantic import Field

from nebhx import Address, Brick, BrickFailed, Context, HostRef, Ports, Url
from nebhx.runtime.probes import ProbeResult, command_probe, http_probe, tcp_probe, wait_until


class Check(Brick):
    """Shared ports and the retry loop of the check bricks."""

    abstract = True
    on_repeat = ""  # a check reads

    class Inputs(Ports):
        host: HostRef = Field(description="Host the check runs on")
        attempts: int = Field(default=5, ge=1, description="Tries before the check fails")
        interval_s: float = Field(default=2, ge=0, description="Pause between tries")
        timeout_s: float = Field(default=5, gt=0, description="Time limit of one try")
        fail_on_error: bool = Field(default=True, description="Fail the node when the check fails")

    class Outputs(Ports):
        ok: bool
        evidence: dict[str, Any]

    def probe(self, inputs: Any) -> ProbeResult:
        raise NotImplementedError

    def run(self, ctx: Context, inputs: Any) -> Outputs:
        budget = inputs.attempts * (inputs.timeout_s + inputs.interval_s) + 1
        result = wait_until(lambda: self.probe(inputs), budget, inputs.interval_s, ctx,
                            max_attempts=inputs.attempts)
        evidence = result.evidence
        if result.ok:
            ctx.log("passed after %d attempt(s): %s", result.attempts, result.summary())
        elif inputs.fail_on_error:
            raise BrickFailed(ctx.mask(f"check failed after {result.attempts} attempt(s): {result.error}"))
        else:
            ctx.log("failed after %d attempt(s): %s", result.attempts, result.error)
        return self.Outputs(ok=result.ok, evidence=evidence)


class HttpCheck(Check):
    """Check that a URL answers with the expected status (and, optionally, text).

    Passes when a GET of `url` answers `expect_status` and, if `contains` is set,
    the body holds that text. Evidence: status, the first 500 characters of the
    body, elapsed_ms, attempts and the last error.
    """

    id = "check.http"
    title = "HTTP check"
    category = "check"

    class Inputs(Check.Inputs):
        url: Url = Field(description="URL to GET, e.g. http://127.0.0.1:8001/health")
        expect_status: int = Field(default=200, ge=100, le=599, description="Status that passes")
        contains: str | None = Field(default=None, description="Text the body must contain")

    def probe(self, inputs: Inputs) -> ProbeResult:
        return http_probe(inputs.url, inputs.expect_status, inputs.contains, inputs.timeout_s)


class TcpCheck(Check):
    """Check that a TCP port accepts connections.

    Passes when a connection to `address` (host:port) opens. Evidence: elapsed_ms,
    attempts and the last connection error.
    """

    id = "check.tcp"
    title = "TCP check"
    category = "check"

    class Inputs(Check.Inputs):
        address: Address = Field(description="host:port to connect to")

    def probe(self, inputs: Inputs) -> ProbeResult:
        return tcp_probe(inputs.address, inputs.timeout_s)


class CommandCheck(Check):
    """Check with a shell command: passes when it exits with code 0.

    The command runs through `/bin/sh -c` on the host. Evidence: the exit code
    (as status), the last 500 characters of its output, elapsed_ms and attempts.
    """

    id = "check.command"
    on_repeat = "runs its command again"
    title = "Command check"
    category = "check"

    class Inputs(Check.Inputs):
        command: str = Field(description="Shell command, e.g. 'pg_isready -h 127.0.0.1'")

    def probe(self, inputs: Inputs) -> ProbeResult:
        return command_probe(inputs.command, inputs.timeout_s)
