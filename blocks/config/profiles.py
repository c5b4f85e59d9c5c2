"""Stored config profiles as a value other bricks can use."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from nebhx import Brick, BrickFailed, Context, Ports


class Profiles(Brick):
    """Read the config profiles stored on the server (`nebhx config set`) or in etcd.

    Outputs every profile at its newest revision (or only those named and their
    ancestors' chain is up to **Render config**, which needs them all: leave `names`
    empty unless you know the set is closed). Wire `profiles` into **Render config**'s
    `profiles` so a deployment uses the versioned profiles instead of a copy in the graph;
    `revisions` records which revision each came from.

    `store` says where: `database` (the default: `nebhx config set` revisions), or `etcd`:
    every key under `etcd_prefix` (default `/nebhx/profiles/`, one profile per key, its
    value the profile as JSON) at `etcd_url` (default `NEBHX_CONFIG_ETCD_URL`); a profile's
    revision is then the key's etcd `mod_revision`. Wire `sources` into **Render config**'s
    `sources` and its explain names, for each value, the etcd key and revision it came from.
    An `etcd` trigger on the graph (`meta.triggers`) runs it again whenever a key changes.
    """

    id = "config.profiles"
    on_repeat = ''
    title = "Stored profiles"
    category = "config"

    class Inputs(Ports):
        names: list[str] = Field(default_factory=list, description="Only these profiles (default: all)")
        store: Literal["database", "etcd"] = Field(default="database", description="Where the profiles live")
        etcd_url: str | None = Field(default=None, description="etcd endpoint (default: NEBHX_CONFIG_ETCD_URL)")
        etcd_prefix: str | None = Field(default=None, description="Key prefix (default: NEBHX_CONFIG_ETCD_PREFIX)")

    class Outputs(Ports):
        profiles: dict[str, Any]
        revisions: dict[str, int]
        sources: dict[str, str] = Field(default_factory=dict,
                                        description="Where each profile came from (store, key, revision)")

    def run(self, ctx: Context, inputs: Inputs) -> Outputs:
        profiles, revisions, sources = (self._etcd(inputs) if inputs.store == "etcd" else self._database(ctx))
        missing = [n for n in inputs.names if n not in profiles]
        if missing:
            raise BrickFailed(f"no stored config profile {', '.join(map(repr, missing))} in the {inputs.store}")
        if inputs.names:
            profiles = {n: profiles[n] for n in inputs.names}
        ctx.log("profiles: %s", ", ".join(sources[n] for n in profiles))
        return self.Outputs(profiles=profiles, revisions={n: revisions[n] for n in profiles},
                            sources={n: sources[n] for n in profiles})

    @staticmethod
    def _database(ctx: Context) -> tuple[dict, dict, dict]:
        profiles, revisions = ctx.profiles.latest()  # the control plane's store (nebhx.process)
        return profiles, revisions, {n: f"database {n}@{r}" for n, r in revisions.items()}

    @staticmethod
    def _etcd(inputs: Inputs) -> tuple[dict, dict, dict]:
        from nebhx.runtime.etcd import read_profiles
        from nebhx.settings import get_settings
        settings = get_settings()
        url = inputs.etcd_url or settings.config_etcd_url
        prefix = inputs.etcd_prefix or settings.config_etcd_prefix
        if not url:
            raise BrickFailed("etcd_url: no etcd endpoint (give etcd_url or set NEBHX_CONFIG_ETCD_URL)")
        profiles, revisions, _ = read_profiles(url, prefix)
        return profiles, revisions, {n: f"etcd {url} {prefix}{n} mod_revision {r}" for n, r in revisions.items()}
