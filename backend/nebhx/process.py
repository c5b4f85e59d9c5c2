"""The brick resources of this process (``nebhx.bricks.resources``), built once at its start.

On the control plane (the API, its workers, ``nebhx up``'s embedded agent) bricks read the
store: the database form. An agent joined with a token (``nebhx agent --server``) has no
store: the HTTP form, through the execution API; what only the control plane has (the host
inventory, the config profiles) fails the brick with the reason. This is the composition
root: it may import every layer, and nothing but the entry points imports it.
"""
from __future__ import annotations

from typing import Any, NoReturn

from nebhx.bricks import resources
from nebhx.bricks.errors import BrickFailed
from nebhx.bricks.resources import Resources


def _host_runtime(host: str) -> Any:
    from nebhx.runtime import HostRuntime
    return HostRuntime.for_host(host)


def _store_inventory() -> Any:
    from nebhx.engine.inventory import StoreInventory
    return StoreInventory()


def _control_only(what: str, why: str = "") -> NoReturn:
    raise BrickFailed(f"the {what} is read on the control plane, and this brick ran on an agent{why}")


def _no_inventory() -> NoReturn:
    _control_only("host inventory", " (a brick with a HostRef input cannot select hosts)")


class _AgentProfiles:
    def latest(self) -> NoReturn:
        _control_only("config profiles")


def control_resources() -> Resources:
    from nebhx.artifacts.access import StoreArtifacts
    from nebhx.configs.service import StoreProfiles
    return Resources(runtime=_host_runtime, inventory=_store_inventory, artifacts=StoreArtifacts(),
                     profiles=StoreProfiles())


def agent_resources(url: str, token: str) -> Resources:
    from nebhx.execution.client import HttpArtifacts
    return Resources(runtime=_host_runtime, inventory=_no_inventory,
                     artifacts=HttpArtifacts(url, token), profiles=_AgentProfiles())


def install() -> Resources:
    """The resources for this process's settings, made the process's (and the engine's way
    to its claims); called by each entry point once its settings are final (an agent's after
    it joined)."""
    from nebhx.engine import execute
    from nebhx.execution.client import http_execution
    from nebhx.settings import get_settings
    settings = get_settings()
    url, token = settings.url, settings.agent_token
    chosen = agent_resources(url, token) if token else control_resources()
    resources.install(chosen)
    # Where a node's claim and outcome go: the execution API with the host's token, else the store.
    execute.use_remote((lambda: http_execution(url, token)) if token else None)
    _sync_brick_packages(url, token)
    return chosen


def _sync_brick_packages(url: str, token: str | None) -> None:
    """Where this process's palette gets the registered brick packages before it (re)loads:
    an agent through the execution API (pinned by sha256), the control plane from its store."""
    from nebhx.artifacts.brickpkgs import sync_local
    from nebhx.bricks import packages
    if token:
        from nebhx.execution.client import agent_client, sync_brick_packages
        packages.sync_hook = lambda: sync_brick_packages(agent_client(url, token))
    else:
        packages.sync_hook = sync_local


def sweeper(settings: Any = None) -> Any:
    """The engine's sweep with the domains' periodic work: due schedule triggers, the watches
    of etcd triggers, and the hosts' broker users made again when the broker comes back empty."""
    from nebhx.engine.sweeper import Sweeper
    from nebhx.execution.broker import restore_users
    from nebhx.triggers.etcd import watch_all
    from nebhx.triggers.schedule import fire_schedules
    return Sweeper(settings, jobs=[fire_schedules, watch_all], on_broker_back=restore_users)
