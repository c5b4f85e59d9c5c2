"""cloud-init: one NoCloud seed per machine, merged from layered config profiles."""
from __future__ import annotations

from typing import Any

from pydantic import Field

from nebhx import Brick, BrickFailed, Context, HostRef, Ports
from nebhx.bricks.base import is_known
from nebhx.runtime import check_host_name, cloudinit, configs


class UserData(Brick):
    """Merge layered profiles into one cloud-config for a new VM and write its NoCloud seed.

    Instead of one hand-kept `user_data` blob per machine, a machine's cloud-config is the
    resolved `values` of a config profile, with the same layers as **Render config**: the
    profile's parents (farthest first), then `clusters[cluster]`, then `hosts[machine]`.
    For example a `vm-base` profile sets `users`, `packages` and `timezone`; `web` and `db`
    extend it; `db` has `hosts: {"db2": {...}}` for the one machine that differs.

    The text is validated with `cloud-init schema` (the host needs the Debian `cloud-init`
    package) before anything is written. The seed goes to
    `<host home>/cloudinit/<machine>/<version>/` as `user-data` and `meta-data` (mode 600)
    and, where `cloud-localds` is installed (`cloud-image-utils`), `seed.iso` to attach to
    the VM as its NoCloud drive. `version` hashes both files: the same config is the same
    seed, written once; a changed one gets a new `instance-id`, so cloud-init applies it.

    `explain` says which layer set each key of the cloud-config (`db@host:db2`) and what it
    overrode, so "why does db2 install that package?" has an answer.
    """

    id = "cloudinit.user_data"
    on_repeat = ''
    title = "cloud-init seed"
    category = "config"
    icon = "cloud"

    class Inputs(Ports):
        host: HostRef = Field(description="The host that keeps the seed (where the VM is created)")
        machine: str = Field(description="The new machine: its hostname, and the key of `hosts` "
                                         "overrides", min_length=1)
        profiles: dict[str, dict[str, Any]] = Field(description="All profiles, by name")
        profile: str = Field(description="The profile whose values are the cloud-config", min_length=1)
        cluster: str | None = Field(default=None, description="Selects `clusters` overrides")

    class Outputs(Ports):
        version: str = Field(description="Hash of user-data and meta-data")
        path: str = Field(description="Folder holding the seed on the host")
        iso: str | None = Field(description="The seed ISO, or null where cloud-localds is missing")
        changed: bool = Field(description="False when this seed was already written")
        user_data: str = Field(description="The cloud-config text")
        explain: dict[str, Any] = Field(description="Each key: the layer that set it and what it overrode")

    def _seed(self, ctx: Context, inputs: Inputs) -> tuple[configs.Resolved, cloudinit.Seed, Any]:
        if ctx.runtime.name != inputs.host:
            raise BrickFailed(f"this brick is for host {inputs.host!r} but runs on {ctx.runtime.name!r}")
        machine = check_host_name(inputs.machine)
        resolved = configs.resolve(inputs.profiles, inputs.profile, host=machine,
                                   cluster=inputs.cluster or None)
        seed = cloudinit.build(resolved, machine)
        folder = ctx.runtime.confine(ctx.runtime.home / "cloudinit" / machine, param="machine")
        return resolved, seed, folder

    def run(self, ctx: Context, inputs: Inputs) -> Outputs:
        resolved, seed, folder = self._seed(ctx, inputs)
        cloudinit.validate(seed.user_data, ctx=ctx)
        path, changed, has_iso = cloudinit.write(seed, folder, ctx=ctx)
        ctx.log("seed %s of %s (layers: %s) %s at %s", seed.version, inputs.machine,
                ", ".join(resolved.layers), "written" if changed else "already there", path)
        return self.Outputs(version=seed.version, path=str(path), changed=changed,
                            iso=str(path / "seed.iso") if has_iso else None,
                            user_data=seed.user_data, explain=resolved.explain)

    def plan(self, ctx: Context, inputs: Inputs) -> dict[str, Any]:
        """The seed version it would write on this host, validated against cloud-init's bundled
        schema (the run asks `cloud-init schema` itself)."""
        if not is_known(inputs):
            return {"effect": f"writes a cloud-init seed for {inputs.machine} once its inputs are known",
                    "changes": None}
        resolved, seed, folder = self._seed(ctx, inputs)
        cloudinit.validate_quick(seed.user_data)
        there = (folder / seed.version).is_dir()
        effect = (f"nothing: seed {seed.version} of {inputs.machine} is written" if there else
                  f"write seed {seed.version} of {inputs.machine} on {inputs.host} "
                  f"(layers: {', '.join(resolved.layers)})")
        return {"effect": effect, "changes": not there,
                "outputs": {"version": seed.version, "path": str(folder / seed.version),
                            "changed": not there, "user_data": seed.user_data,
                            "explain": resolved.explain}}
