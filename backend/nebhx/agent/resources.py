"""The brick resources of an agent (``nebhx.bricks.resources``): its host's runtime, the
control plane's artifacts through the execution API; what only the control plane has (the
host inventory, the config profiles, the address pools) fails the brick with the reason."""
from __future__ import annotations

from typing import Any, NoReturn

from nebhx.agent.client import HttpArtifacts
from nebhx.bricks.errors import BrickFailed
from nebhx.bricks.resources import Resources


def _host_runtime(host: str) -> Any:
    from nebhx.runtime import HostRuntime
    return HostRuntime.for_host(host)


def _control_only(what: str, why: str = "") -> NoReturn:
    raise BrickFailed(f"the {what} is read on the control plane, and this brick ran on an agent{why}")


def _no_inventory() -> NoReturn:
    _control_only("host inventory", " (a brick with a HostRef input cannot select hosts)")


class _AgentProfiles:
    def latest(self) -> NoReturn:
        _control_only("config profiles")


class _AgentPools:
    def network(self, cidr: str) -> NoReturn:
        _control_only("address pools")

    def declare(self, **_: Any) -> NoReturn:
        _control_only("address pools")

    def view(self, name: str) -> NoReturn:
        _control_only("address pools")

    def allocations(self, pool: str) -> NoReturn:
        _control_only("address pools")

    def allocate(self, **_: Any) -> NoReturn:
        _control_only("address pools")

    def release(self, **_: Any) -> NoReturn:
        _control_only("address pools")


def agent_resources(url: str, token: str) -> Resources:
    return Resources(runtime=_host_runtime, inventory=_no_inventory,
                     artifacts=HttpArtifacts(url, token), profiles=_AgentProfiles(),
                     pools=_AgentPools())
