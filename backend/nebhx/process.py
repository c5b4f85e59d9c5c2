"""The brick resources of a control-plane process (``nebhx.bricks.resources``), built once at
its start: the API, its workers and ``nebhx up``'s embedded agent, whose bricks read the store
(the database form). An agent joined with a token is another process altogether
(``nebhx.agent``: the HTTP form, no store). This is the composition root: it may import every
layer, and nothing but the entry points imports it.
"""
from __future__ import annotations

from typing import Any

from nebhx.bricks import resources
from nebhx.bricks.resources import Resources


def _host_runtime(host: str) -> Any:
    from nebhx.runtime import HostRuntime
    return HostRuntime.for_host(host)


def _store_inventory() -> Any:
    from nebhx.engine.inventory import StoreInventory
    return StoreInventory()


def control_resources() -> Resources:
    from nebhx.artifacts.access import StoreArtifacts
    from nebhx.configs.service import StoreProfiles
    from nebhx.ipam.access import StorePools
    return Resources(runtime=_host_runtime, inventory=_store_inventory, artifacts=StoreArtifacts(),
                     profiles=StoreProfiles(), pools=StorePools())


def install() -> Resources:
    """The control plane's resources, made the process's; called by each entry point once its
    settings are final. Brick packages come from the store (``artifacts.brickpkgs``)."""
    from nebhx.artifacts.brickpkgs import sync_local
    from nebhx.bricks import packages
    chosen = control_resources()
    resources.install(chosen)
    packages.sync_hook = sync_local
    return chosen


def sweeper(settings: Any = None) -> Any:
    """The engine's sweep with the domains' periodic work: due schedule triggers, the watches
    of etcd triggers, and the hosts' broker users made again when the broker comes back empty."""
    from nebhx.engine.sweeper import Sweeper
    from nebhx.auth.broker import restore_users
    from nebhx.triggers.etcd import watch_all
    from nebhx.triggers.schedule import fire_schedules
    return Sweeper(settings, jobs=[fire_schedules, watch_all], on_broker_back=restore_users)
