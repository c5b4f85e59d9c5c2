"""Config bricks: resolve layered config profiles and render a service's config files."""
from __future__ import annotations

import json
from typing import Any

from pydantic import Field

from nebhx import Brick, BrickFailed, Context, HostRef, Ports
from nebhx.bricks.base import is_known
from nebhx.runtime import configs, plan_config
from nebhx.runtime.releases import check_id


class Render(Brick):
    """Resolve a layered config profile for one host and write its files as a version.

    `profiles` is the object model of configs: a map of profile name to

        {"parents": ["linux"],                      profiles this one extends, in order
         "values": {"db": {"port": 5432}},          its values
         "clusters": {"eu": {...}},                 overrides for hosts of one cluster
         "hosts": {"db1": {...}},                   overrides for one host
         "templates": {"pg/postgresql.conf": "port = {{ db.port }}"}}

    Parents are ordered like Python base classes (C3); values merge deeply, least
    specific first: every profile's `values` (farthest ancestor first), then the
    `clusters[cluster]` overrides, then the `hosts[host]` overrides. Lists and plain
    values are replaced, maps merge key by key.

    `explain` answers "where did this value come from?": for each final key (dotted path,
    e.g. `db.port`) the layer that set it (`db-on-linux`, `linux@cluster:eu`,
    `db-on-linux@host:db1`) and every value it overrode, oldest first. With `sources` wired
    from **Stored profiles**, each entry also says where its layer's profile was read
    (`etcd http://... /nebhx/profiles/db mod_revision 42`).

    Templates (Jinja2; a child's file of the same name replaces its parent's) see the
    values as variables plus `nebhx.profile`, `nebhx.host`, `nebhx.cluster`. A name a
    template uses but the values lack fails the node, naming the template, line and key.

    The files are written to `<host home>/services/<service>/configs/<version>/`, where
    `version` is a hash of the rendered content: the same content is the same version,
    written once (`changed` false the second time), complete or not at all.
    """

    id = "config.render"
    on_repeat = ''
    title = "Render config"
    category = "config"
    icon = "sliders"

    class Inputs(Ports):
        host: HostRef = Field(description="The host to render for (selects `hosts` overrides)")
        service: str = Field(description="Service the config belongs to", min_length=1)
        profiles: dict[str, dict[str, Any]] = Field(description="All profiles, by name")
        profile: str = Field(description="The profile to resolve", min_length=1)
        cluster: str | None = Field(default=None,
                                    description="Cluster of the host (selects `clusters` overrides)")
        sources: dict[str, str] = Field(default_factory=dict, description="Where each profile came from "
                                        "(Stored profiles' `sources`): explain shows it per value")

    class Outputs(Ports):
        version: str = Field(description="Content hash of the rendered config")
        path: str = Field(description="Folder holding the rendered files on the host")
        changed: bool = Field(description="False when this version was already written")
        files: list[str] = Field(description="Rendered file names, relative to path")
        values: dict[str, Any] = Field(description="The resolved values")
        explain: dict[str, Any] = Field(description="Each final key: the layer that set it "
                                                    "and the values it overrode")

    def run(self, ctx: Context, inputs: Inputs) -> Outputs:
        if ctx.runtime.name != inputs.host:
            raise BrickFailed(f"this brick is for host {inputs.host!r} "
                              f"but runs on {ctx.runtime.name!r}")
        service = check_id(inputs.service, "service name")
        resolved = configs.resolve(inputs.profiles, inputs.profile, host=inputs.host,
                                   cluster=inputs.cluster or None)
        folder = ctx.runtime.confine(ctx.runtime.home / "services" / service / "configs",
                                     param="service")
        path, changed = configs.write(resolved, folder)
        if changed and not ctx.secrets:
            plan_config.mark_plain(path)
        ctx.log("config %s of %s (layers: %s) %s at %s", resolved.version, service,
                ", ".join(resolved.layers), "written" if changed else "already there", path)
        return self.Outputs(version=resolved.version, path=str(path), changed=changed,
                            files=sorted(resolved.files), values=resolved.values,
                            explain=configs.with_sources(resolved.explain, inputs.sources))

    def plan(self, ctx: Context, inputs: Inputs) -> dict[str, Any]:
        """The version it renders on this host and the files that differ from the version the
        service's default instance runs (secrets rendered as ******)."""
        if not is_known(inputs):
            return {"effect": f"renders a config of {inputs.service} once its inputs are known", "changes": None}
        if ctx.runtime.name != inputs.host:
            raise BrickFailed(f"this brick is for host {inputs.host!r} but runs on {ctx.runtime.name!r}")
        service = check_id(inputs.service, "service name")
        resolved = configs.resolve(inputs.profiles, inputs.profile, host=inputs.host,
                                   cluster=inputs.cluster or None)
        folder = ctx.runtime.confine(ctx.runtime.home / "services" / service / "configs", param="service")
        planned = ctx.planned
        written = (folder / resolved.version).is_dir() or bool(
            planned and planned.get("configs", service, resolved.version) is not None)
        running = ctx.runtime.service_instance(service).running_now().get("config")
        files = plan_config.diff(folder / running if running else None, resolved.files)
        masked = "******" in json.dumps(resolved.values)
        return {"effect": (f"nothing: config {resolved.version} is rendered" if written else
                           f"render config {resolved.version} ({', '.join(f['file'] + ' ' + f['change'] for f in files) or 'the same files'})"),
                "changes": None if masked else not written,
                "config": {"running": running, "after": resolved.version, "files": files},
                "outputs": {} if masked else {"version": resolved.version, "path": str(folder / resolved.version),
                                              "changed": not written, "files": sorted(resolved.files)},
                "sets": {"configs": {service: {resolved.version: plan_config.hashes(resolved.files)}}}}
