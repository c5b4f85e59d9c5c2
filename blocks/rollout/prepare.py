"""Rollout bricks at both ends of a staged update: prepare it, then commit it."""
from __future__ import annotations

from typing import Any

from pydantic import Field

from nebhx import Brick, BrickFailed, Context, HostRef, Ports
from nebhx.runtime import configs
from nebhx.bricks.base import is_known
from nebhx.runtime.releases import check_id
from nebhx.runtime.sources import describe


def _for_host(ctx: Context, host: str) -> None:
    if ctx.runtime.name != host:
        raise BrickFailed(f"this brick is for host {host!r} but runs on {ctx.runtime.name!r}")


class Prepare(Brick):
    """Stage a new release and render its config on a host, while the old one serves.

    Does what **Stage release** and **Render config** do, and nothing else: the running
    process, `current` and the balancer are not touched, so it can run on every host
    long before the switch. `source` is a path on the host (folder, file or archive), an
    https URL with `sha256`, or `pip:SPEC`. The config (optional) is resolved from
    `profiles`/`profile` for this host and written as a content-hash version.

    The host remembers what was prepared last: **Switch** without `release_id` switches
    to it (so a `for_each` over other host lists needs no wiring per host).

    Running it again resumes: what is already staged or rendered is not done again
    (`changed` false). Retention is **Commit**'s job: prepare removes nothing.
    """

    id = "rollout.prepare"
    on_repeat = ''
    title = "Rollout: prepare host"
    category = "rollout"
    icon = "box-seam"

    class Inputs(Ports):
        host: HostRef = Field(description="The host to prepare")
        service: str = Field(description="Service name", min_length=1)
        source: str = Field(description="Path, http(s) URL or pip:SPEC", min_length=1)
        sha256: str | None = Field(default=None, description="Expected sha256 (required for URLs)")
        release_id: str | None = Field(default=None, description="Release id; default: sha256 prefix")
        profiles: dict[str, dict[str, Any]] = Field(default_factory=dict,
                                                    description="Config profiles, by name")
        profile: str | None = Field(default=None, description="Profile to render; none: no config")
        cluster: str | None = Field(default=None, description="Cluster of the host, for overrides")

    class Outputs(Ports):
        release_id: str = Field(description="The staged release, for rollout.switch")
        config_version: str | None = Field(default=None, description="The rendered config version")
        staged: bool = Field(description="True when this run staged the release (false: it was there)")
        rendered: bool = Field(description="True when this run wrote the config version")
        changed: bool

    def _config(self, ctx: Context, inputs: Inputs):
        if not inputs.profile:
            return None, None
        resolved = configs.resolve(inputs.profiles, inputs.profile, host=inputs.host,
                                   cluster=inputs.cluster or None)
        folder = ctx.runtime.confine(ctx.runtime.home / "services" / check_id(inputs.service, "service name")
                                     / "configs", param="service")
        return resolved, folder

    def run(self, ctx: Context, inputs: Inputs) -> Outputs:
        _for_host(ctx, inputs.host)
        staged = ctx.runtime.releases.stage(inputs.service, inputs.source, sha256=inputs.sha256,
                                            release_id=inputs.release_id or None, ctx=ctx)
        resolved, folder = self._config(ctx, inputs)
        rendered = False
        if resolved is not None:
            _path, rendered = configs.write(resolved, folder)
        ctx.runtime.service_instance(inputs.service).set_prepared(
            staged.id, resolved.version if resolved else None)
        ctx.log("prepared %s release %s (%s), config %s (%s)", inputs.service, staged.id,
                "staged" if staged.changed else "already staged",
                resolved.version if resolved else "none", "written" if rendered else "unchanged")
        return self.Outputs(release_id=staged.id, config_version=resolved.version if resolved else None,
                            staged=staged.changed, rendered=rendered,
                            changed=staged.changed or rendered)

    def plan(self, ctx: Context, inputs: Any) -> dict[str, Any]:
        try:
            inputs = self.Inputs.model_validate(inputs) if isinstance(inputs, dict) else inputs
            if not is_known(inputs):
                return {"effect": f"{self.title.split(': ')[1]} {inputs.service} once its inputs are known",
                        "changes": None}
            _for_host(ctx, inputs.host)
            src = describe(inputs.source, sha256=inputs.sha256, find_links=None, index_url=None)
            rid = check_id(inputs.release_id or src.derived_id, "release id")
            there = ctx.runtime.releases.path(inputs.service, rid).is_dir()
            resolved, folder = self._config(ctx, inputs)
        except (BrickFailed, ValueError) as exc:
            return {"effect": f"stage and render {getattr(inputs, 'service', '?')} "
                              f"(cannot tell yet: {exc})", "changes": None}
        version = resolved.version if resolved else None
        written = version is None or (folder / version).is_dir()
        todo = ([] if there else [f"stage release {rid}"]) + ([] if written else [f"render config {version}"])
        return {"effect": ", ".join(todo) or "nothing: already prepared", "changes": bool(todo),
                "outputs": {"release_id": rid, "config_version": version,
                            "staged": not there, "rendered": not written}}


class Commit(Brick):
    """Declare the release an instance runs good, and prune old releases.

    Marks the release committed on the host (`.committed` in its folder, and the
    rollout journal's phase), then removes releases beyond the newest `keep`, except
    pinned ones and the current and previous releases (so a rollback stays possible).
    Fails when the instance does not run `release_id`, or when a switch on it is
    unfinished. Running it again changes nothing.
    """

    id = "rollout.commit"
    on_repeat = ''
    title = "Rollout: commit host"
    category = "rollout"
    icon = "check2-circle"

    class Inputs(Ports):
        host: HostRef = Field(description="The host")
        service: str = Field(description="Service name", min_length=1)
        instance: str = Field(default="", pattern=r"^[A-Za-z0-9_.-]*$", description="Instance name")
        release_id: str | None = Field(default=None, description="Default: the release the instance runs")
        keep: int = Field(default=3, ge=1, description="How many recent releases to keep")

    class Outputs(Ports):
        release_id: str
        committed_at: float
        removed: list[str] = Field(description="Releases removed by retention")
        kept: list[str] = Field(description="Releases left on the host")
        changed: bool

    def _target(self, ctx: Context, inputs: Inputs):
        _for_host(ctx, inputs.host)
        inst = ctx.runtime.service_instance(inputs.service, inputs.instance)
        state, on = inst.load(), inst.running_now()
        release = inputs.release_id or on.get("release")
        if state.get("phase") in ("switching", "rolling_back"):
            raise BrickFailed(f"host {inputs.host}: the switch of {inst.program} is unfinished "
                              f"({state['phase']}); run rollout.switch again first")
        if not release or on.get("release") != release:
            raise BrickFailed(f"host {inputs.host}: {inst.program} runs release "
                              f"{on.get('release')}, not {release}; switch before committing")
        return inst, state, release

    def run(self, ctx: Context, inputs: Inputs) -> Outputs:
        inst, state, release = self._target(ctx, inputs)
        rel = ctx.runtime.releases
        at, marked = rel.commit(inputs.service, release)
        removed = list(rel.prune(inputs.service, inputs.keep))
        if state and state.get("phase") != "committed":
            inst.save({**state, "phase": "committed", "committed_at": at})
        ctx.log("%s: release %s committed; retention removed %s", inst.program, release,
                ", ".join(removed) or "nothing")
        return self.Outputs(release_id=release, committed_at=at, removed=removed,
                            kept=[r.id for r in rel.list(inputs.service)],
                            changed=marked or bool(removed))

    def plan(self, ctx: Context, inputs: Any) -> dict[str, Any]:
        try:
            inputs = self.Inputs.model_validate(inputs) if isinstance(inputs, dict) else inputs
            if not is_known(inputs):
                return {"effect": f"{self.title.split(': ')[1]} {inputs.service} once its inputs are known",
                        "changes": None}
            _inst, _state, release = self._target(ctx, inputs)
        except (BrickFailed, ValueError) as exc:
            return {"effect": f"commit {getattr(inputs, 'service', '?')} (cannot tell yet: {exc})", "changes": None}
        releases = ctx.runtime.releases.list(inputs.service)
        newest = {r.id for r in releases[-inputs.keep:]}
        prune = [r.id for r in releases
                 if not (r.id in newest or r.pinned or r.current or r.previous)]
        marked = any(r.id == release and r.committed for r in releases)
        todo = ([] if marked else [f"mark {release} committed"]) + [f"remove {r}" for r in prune]
        return {"effect": ", ".join(todo) or "nothing: already committed", "changes": bool(todo),
                "remove": prune}
