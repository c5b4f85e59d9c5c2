"""Rollout bricks at both ends of a staged update: prepare it, then commit it."""
from __future__ import annotations


from typing import Any

from pydantic import Field

from nebhx import Brick, BrickFailed, Context, HostRef, Ports
from nebhx.bricks.base import Unknown, is_known
from nebhx.bricks.planning import Planned, cannot_tell
from nebhx.runtime import bluegreen, configs, plan_config
from nebhx.runtime.releases import check_id
from nebhx.runtime.sources import planned_release_id
from nebhx.runtime.staging import Budget
from nebhx_blocks.release.source import SHA256_FOR_URLS, ReleaseSource


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
    requires = (SHA256_FOR_URLS,)
    on_repeat = ''
    title = "Rollout: prepare host"
    category = "rollout"
    icon = "box-seam"

    class Inputs(ReleaseSource):  # what release.stage takes to stage, then the config
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
            path, rendered = configs.write(resolved, folder)
            if rendered and not ctx.secrets:
                plan_config.mark_plain(path)
        ctx.runtime.service_instance(inputs.service).set_prepared(
            staged.id, resolved.version if resolved else None)
        ctx.log("prepared %s release %s (%s), config %s (%s)", inputs.service, staged.id,
                "staged" if staged.changed else "already staged",
                resolved.version if resolved else "none", "written" if rendered else "unchanged")
        return self.Outputs(release_id=staged.id, config_version=resolved.version if resolved else None,
                            staged=staged.changed, rendered=rendered,
                            changed=staged.changed or rendered)

    def plan(self, ctx: Context, inputs: Any) -> dict[str, Any]:
        """What would be staged and rendered; reads the host, runs nothing (not even pip)."""
        inputs = self.Inputs.model_validate(inputs) if isinstance(inputs, dict) else inputs
        if not is_known(inputs):
            return {"effect": f"prepare {inputs.service} once its inputs are known", "changes": None,
                    **_unknown_prepared(inputs.service, "(known once its inputs are)")}
        _for_host(ctx, inputs.host)
        planned = ctx.planned or Planned()
        rid, why = planned_release_id(inputs.source, sha256=inputs.sha256, release_id=inputs.release_id,
                                      readable=ctx.runtime.plan_readable, budget=Budget(deadline=planned.deadline))
        resolved, folder = self._config(ctx, inputs)
        version = resolved.version if resolved else None
        if rid is None:
            return {**cannot_tell(why), "outputs": {"config_version": version},
                    **_unknown_prepared(inputs.service, "(the release this run's prepare stages)")}
        rid = check_id(rid, "release id")
        there = ctx.runtime.releases.path(inputs.service, rid).is_dir() or bool(
            planned.get("releases", inputs.service, rid) is not None)
        written = version is None or (folder / version).is_dir() or planned.get(
            "configs", inputs.service, version) is not None
        running = _running(ctx, inputs.service, planned)
        files = plan_config.diff(folder / running["config"] if running.get("config") else None,
                                 resolved.files) if resolved else []
        todo = ([] if there else [f"stage release {rid}"]) + ([] if written else [
            f"render config {version}" + (f" ({', '.join(f['file'] + ' ' + f['change'] for f in files)})"
                                          if files else " (the same files as the running config)")])
        sets = {"releases": {inputs.service: {rid: {}}}, "prepared": {inputs.service: {
            "release_id": rid, "config_version": version}}}
        if resolved:
            sets["configs"] = {inputs.service: {version: plan_config.hashes(resolved.files)}}
        return {"effect": ", ".join(todo) or "nothing: already prepared", "changes": bool(todo),
                "release": {"running": running.get("release"), "staged": rid},
                "config": {"running": running.get("config"), "after": version, "files": files},
                "outputs": {"release_id": rid, "config_version": version, "staged": not there,
                            "rendered": not written, "changed": bool(todo)}, "sets": sets}


def _unknown_prepared(service: Any, why: str) -> dict[str, Any]:
    """What a later switch must not mistake for an earlier rollout's prepare: this run prepares
    something, but what is known only at run time."""
    if not is_known(service):
        return {}
    return {"sets": {"prepared": {service: {"release_id": Unknown(why), "config_version": Unknown(why)}}}}


def _running(ctx: Context, service: str, planned: Planned) -> dict[str, Any]:
    """What the service's default instance runs (or will, after a switch planned before)."""
    inst = ctx.runtime.service_instance(service)
    return planned.get("instances", inst.program) or inst.running_now()


class Commit(Brick):
    """Declare the release an instance runs good, and prune old releases.

    Marks the release committed on the host (`.committed` in its folder, and the
    rollout journal's phase), then removes releases beyond the newest `keep`, except
    pinned ones and the current and previous releases (so a rollback stays possible).
    A standby the switch kept (`standby_s`) is stopped: a later rollback starts the
    previous release again instead of thawing it. Fails when the instance does not run `release_id`, or when a switch on it is
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
        bluegreen.drop_standby(inst, state, ctx)  # committed: no instant rollback any more
        if state and state.get("phase") != "committed":
            inst.save({**state, "phase": "committed", "committed_at": at})
        ctx.log("%s: release %s committed; retention removed %s", inst.program, release,
                ", ".join(removed) or "nothing")
        return self.Outputs(release_id=release, committed_at=at, removed=removed,
                            kept=[r.id for r in rel.list(inputs.service)],
                            changed=marked or bool(removed))

    def plan(self, ctx: Context, inputs: Any) -> dict[str, Any]:
        """Which release it marks committed (the one this run's switch leaves running, when a
        switch is planned before it) and what retention removes; a run that would fail says so."""
        inputs = self.Inputs.model_validate(inputs) if isinstance(inputs, dict) else inputs
        if not is_known(inputs):
            return {"effect": f"commit {inputs.service} once its inputs are known", "changes": None}
        _for_host(ctx, inputs.host)
        planned = ctx.planned or Planned()
        program = ctx.runtime.service_instance(inputs.service, inputs.instance).program
        after = planned.get("instances", program)
        if after and not is_known(after):
            return cannot_tell(f"it commits the release this run's switch leaves on {program}, known at run time")
        if after:  # this run switches it first: what the switch leaves running is what counts
            release = inputs.release_id or after.get("release")
            if after.get("release") != release:
                raise BrickFailed(f"host {inputs.host}: {program} will run release {after.get('release')} "
                                  f"after this run's switch, not {release}")
        else:
            _inst, _state, release = self._target(ctx, inputs)
        rows = _releases_after(ctx, inputs.service, planned)
        newest = {r["id"] for r in rows[-inputs.keep:]}
        prune = [r["id"] for r in rows if not (r["id"] in newest or r["pinned"] or r["id"] in (
            _current_after(ctx, inputs.service, planned)))]
        marked = any(r["id"] == release and r["committed"] for r in rows)
        todo = ([] if marked else [f"mark {release} committed"]) + [f"remove {r}" for r in prune]
        return {"effect": ", ".join(todo) or f"nothing: {release} is already committed",
                "changes": bool(todo), "remove": prune, "commits": release,
                "outputs": {"release_id": release, "removed": prune, "changed": bool(todo)},
                "sets": {"committed": {inputs.service: {release: {}}}}}


def _current_after(ctx: Context, service: str, planned: Planned) -> tuple[str | None, str | None]:
    """(current, previous) of ``service`` once the switches planned before have run."""
    rel = ctx.runtime.releases
    now, before = rel.current(service), rel.previous(service)
    after = planned.get("current", service)
    return (after, now) if after and after != now else (now, before)


def _releases_after(ctx: Context, service: str, planned: Planned) -> list[dict[str, Any]]:
    """The staged releases, oldest first, with those this run stages last (they are newest)."""
    rows = [{"id": r.id, "pinned": r.pinned, "committed": bool(r.committed) or bool(
        planned.get("committed", service, r.id) is not None)} for r in ctx.runtime.releases.list(service)]
    on_disk = {r["id"] for r in rows}
    staged = [rid for rid in (planned.get("releases", service) or {}) if rid not in on_disk]
    return rows + [{"id": rid, "pinned": False, "committed": planned.get("committed", service, rid) is not None}
                   for rid in staged]
