"""The agent's side of the execution API: claim, renew and finish over HTTP with the
host's token. The agent holds no database URL and no key: what a node needs arrives
with its claim, Secret outputs go back as ``{"$plain": v}`` and the server seals them.
Bodies and answers are the API's own models (``agent.models``, generated from its schema)."""
from __future__ import annotations

import logging
import os
import time
from dataclasses import asdict
from typing import IO, Any, TypeVar

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError

from nebhx.agent import models as m
from nebhx.attempt.claims import Claim, Outcome
from nebhx.statuses import NodeStatus

log = logging.getLogger("nebhx.agent")
_clients: dict[tuple[int, str, str], AgentClient] = {}
Answer = TypeVar("Answer", bound=BaseModel)


class AgentClient:
    """One keep-alive connection per process; calls retry while the API restarts."""

    def __init__(self, url: str, token: str, patience_s: float = 60.0):
        self.url, self.patience_s = url.rstrip("/") + "/api/exec", patience_s
        self.http = httpx.Client(base_url=self.url, timeout=30, trust_env=False,
                                 headers={"Authorization": f"Bearer {token}"})

    def call(self, path: str, body: BaseModel | None = None, *, patience_s: float | None = None,
             max_delay_s: float = 5.0) -> httpx.Response:
        deadline = time.monotonic() + (self.patience_s if patience_s is None else patience_s)
        delay = 0.2
        payload = None if body is None else body.model_dump(mode="json")
        while True:
            try:
                resp = self.http.request("GET" if body is None else "POST", path, json=payload)
                if resp.status_code < 500:
                    resp.raise_for_status()
                    return resp
                problem: Exception = httpx.HTTPStatusError(resp.text[:200], request=resp.request, response=resp)
            except httpx.TransportError as exc:
                problem = exc
            if time.monotonic() + delay > deadline:
                raise problem
            log.warning("execution API %s: %s; again in %.1fs", path, problem, delay)
            time.sleep(delay)
            delay = min(delay * 2, max_delay_s)

    def ask(self, path: str, answer: type[Answer], body: BaseModel | None = None, **kw: Any) -> Answer:
        """``call`` whose answer is read as the API's model ``answer``."""
        return answer.model_validate(self.call(path, body, **kw).json())

    def hello(self) -> m.Hello:
        return self.ask("/hello", m.Hello)

    def stream(self, sha256: str, into: IO[bytes]) -> None:
        """An artifact's bytes into the open file ``into`` (the caller checks the sha256)."""
        with self.http.stream("GET", f"/artifacts/{sha256}") as resp:
            if resp.status_code != 200:
                raise LookupError(f"the artifact store answered {resp.status_code} for sha256:{sha256}")
            for chunk in resp.iter_bytes(1 << 20):
                into.write(chunk)


def agent_client(url: str, token: str) -> AgentClient:
    key = (os.getpid(), url, token)  # a forked pool child opens its own connection
    if key not in _clients:
        _clients[key] = AgentClient(url, token)
    return _clients[key]


class HttpExecution:
    def __init__(self, client: AgentClient):
        self.client = client

    def claim(self, run_id: str, node_id: str, attempt: int) -> Claim | None:
        body = m.ClaimIn(run_id=run_id, node_id=node_id, attempt=attempt,
                         worker=os.environ.get("NEBHX_WORKER_ID"))  # type: ignore[arg-type]  # a str is a Worker
        resp = self.client.call("/claim", body)
        if resp.status_code == 204:
            return None
        read = m.ClaimRead.model_validate(resp.json())
        from nebhx.bricks import packages
        packages.wanted = read.brick_packages  # fetched before the node runs if changed
        return Claim(run_id=read.run_id, node_id=read.node_id, attempt=read.attempt, brick=read.brick,
                     timeout_s=read.timeout_s, host=read.host, inputs=read.inputs or {},
                     secrets=read.secrets or [], error=read.error)

    def renew(self, claim: Claim, log_chunk: str) -> bool:
        try:  # a short patience: the next beat tries again, the lease outlives a few misses
            body = m.Renew(**_ref(claim), log=log_chunk)
            return self.client.ask("/renew", m.Renewed, body, patience_s=2.0).alive
        except (httpx.HTTPError, ValidationError) as exc:
            log.warning("could not renew the lease of %s: %s", claim.node_id, exc)
            return True

    def lock(self, claim: Claim, key: dict[str, str]) -> dict | None:
        """Take a service lock on this host for the claim's run; None once held, else the holder."""
        body = m.LockIn(**_ref(claim), key=m.LockKey(**key))
        return self.client.ask("/lock", m.LockOut, body).holder

    def finish(self, claim: Claim, outcome: Outcome) -> bool:
        """Report the outcome; False when refused as stale (a later attempt took over)."""
        try:
            return self._finish(claim, _outcome_in(outcome))
        except (httpx.HTTPStatusError, ValidationError) as exc:
            if isinstance(exc, ValidationError):  # the API's own schema, checked before sending
                why = f"the control plane's execution API would refuse this node's result: {_errors(exc)}"
            elif exc.response.status_code in (413, 422):
                why = (f"the control plane refused this node's result ({exc.response.status_code}): "
                       f"{exc.response.text[:500]}")
            else:
                raise
            # A result the control plane cannot take (too big, malformed) must still end the
            # attempt: left running, its lease would lapse and the node run again, forever.
            failed = Outcome(NodeStatus.FAILED, error=why, inputs=outcome.inputs, log=outcome.log[-100_000:])
            return self._finish(claim, _outcome_in(failed))

    def _finish(self, claim: Claim, outcome: m.OutcomeIn) -> bool:
        try:
            # Tried again every second at most: an attempt that ended renews its lease no more,
            # and the sweep gives leases only one lease once the API is back.
            self.client.call("/finish", m.Finish(**_ref(claim), outcome=outcome), max_delay_s=1.0)
            return True
        except httpx.HTTPStatusError as exc:
            if exc.response.status_code != 409:
                raise
            log.warning("the outcome of %s attempt %s was refused: %s", claim.node_id, claim.attempt,
                        exc.response.text[:300])
            return False


def _outcome_in(outcome: Outcome) -> m.OutcomeIn:
    return m.OutcomeIn.model_validate(asdict(outcome))


def _errors(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())[:500]


def _ref(claim: Claim) -> dict[str, Any]:
    return {"run_id": claim.run_id, "node_id": claim.node_id, "attempt": claim.attempt}


def http_execution(url: str, token: str) -> HttpExecution:
    return HttpExecution(agent_client(url, token))


def fetch_artifact(client: AgentClient, *, sha256: str, name: str | None, into: IO[bytes]) -> dict[str, Any]:
    """An artifact's record, and its bytes streamed into the open file ``into`` (the caller
    checks the sha256). LookupError when the control plane has no such artifact."""
    try:
        # No name: any record of these bytes (an image archive is named by its sha256 alone).
        record = client.ask(f"/artifacts/{sha256}/record" + (f"?name={name}" if name else ""), m.ArtifactRead)
    except httpx.HTTPStatusError as exc:
        if exc.response.status_code == 404:
            raise LookupError(exc.response.json().get("detail", "no such artifact")) from exc
        raise
    client.stream(sha256, into)
    return record.model_dump(mode="json")


class HttpArtifacts:
    """``ctx.artifacts`` on an agent: the control plane's artifact store through the execution
    API with the host's token. Recording is the control plane's (build bricks run there)."""

    def __init__(self, url: str, token: str):
        self._url, self._token = url, token

    def fetch(self, *, name: str | None, sha256: str, into: IO[bytes]) -> dict[str, Any]:
        return fetch_artifact(agent_client(self._url, self._token), sha256=sha256, name=name, into=into)

    def record(self, *, name: str, path: Any, provenance: dict[str, Any]) -> dict[str, Any]:
        from nebhx.bricks.errors import BrickFailed
        raise BrickFailed(f"artifact {name}: artifacts are recorded on the control plane, and this "
                          "brick ran on an agent")


_PACKAGES = TypeAdapter(list[m.BrickPackage])


def sync_brick_packages(client: AgentClient) -> list[str]:
    """Bring this agent's brick packages up to date: the control plane's current list, each
    fetched by its sha256 and checked against it before it is unpacked (``bricks.packages``)."""
    from nebhx.bricks import packages
    entries = _PACKAGES.validate_python(client.call("/brick-packages", patience_s=5.0).json())
    return packages.sync([e.model_dump(mode="json") for e in entries],
                         lambda entry, into: client.stream(entry["sha256"], into))
