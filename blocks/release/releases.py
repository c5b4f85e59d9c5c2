"""Release bricks: stage a service's release on a host ahead of time, then switch to it."""
from __future__ import annotations


from typing import Any, Literal

from pydantic import Field

from nebhx import Brick, BrickFailed, Context, HostRef, Ports, Secret
from nebhx.bricks.base import is_known
from nebhx.bricks.planning import Planned, cannot_tell
from nebhx.runtime.registries import RegistryLogin
from nebhx.runtime.releases import META, Releases, check_id
from nebhx.runtime.sources import planned_release_id
from nebhx.runtime.staging import Budget
from nebhx_blocks.release.source import SHA256_FOR_URLS, ReleaseSource


def _releases(ctx: Context, host: str) -> Releases:
    if ctx.runtime.name != host:
        raise BrickFailed(f"this brick is for host {host!r} but runs on {ctx.runtime.name!r}")
    return ctx.runtime.releases


class Stage(Brick):
    """Prepare a release of a service on a host, ready to switch to in an instant.

    The release lands in `<host home>/services/<service>/releases/<id>/`. `source` is one of:

    - a path on the host: an archive (`.tar`, `.tar.gz`, `.tgz`, `.tar.bz2`, `.tar.xz`,
      `.zip`) is extracted, a file or a directory is copied;
    - an `http://` or `https://` URL: `sha256` is required; the download is streamed to a
      temporary file and checked before anything is staged (404, network errors and a
      checksum mismatch fail the node and leave nothing behind);
    - `pip:SPEC` (e.g. `pip:myapp==1.4.2`): installed into a new virtualenv at
      `<release>/venv`; `find_links` installs from a wheel folder only, `index_url` from
      another package index;
    - `artifact:NAME@sha256:HEX`: a build artifact from the control plane's store;
    - `oci:NAME@sha256:DIGEST`: a container image (from build.image's `image`). The host's
      `engine` store keeps it; `sha256` (build.image's `archive_sha256`) names its archive in
      the artifact store, fetched, checked and loaded when the host lacks the image; without
      it the host pulls from a registry it reaches. A digest that does not match stages
      nothing. The release folder records the image; service.run with a container runtime
      runs it. Retention does not delete images from the engine store.
      A private registry: `registry_username` and `registry_password` (a secret) log in for
      the pull only, through a 0600 file removed afterwards (never on a command line or in
      the log); `registry_ca` is a PEM CA on the host to trust a self-signed registry (podman).

    The release is built under a temporary name and renamed into place, so a failure
    never leaves half a release. `release_id` defaults to the first 12 hex digits of the
    source's sha256. Staging an id that is already there changes nothing (`changed` is
    false); staging *other* content under an existing id fails.

    Retention: after staging, only the newest `keep` releases stay, plus pinned ones and
    the current and previous releases. `pin` marks this release to be kept for good.
    """

    id = "release.stage"
    requires = (SHA256_FOR_URLS,)
    on_repeat = ''
    title = "Stage release"
    category = "release"
    icon = "box-seam"

    class Inputs(ReleaseSource):
        keep: int = Field(default=3, ge=1, description="How many recent releases to keep")
        pin: bool = Field(default=False, description="Keep this release regardless of `keep`")
        find_links: str | None = Field(default=None,
                                       description="pip: install only from this wheel folder/URL")
        index_url: str | None = Field(default=None, description="pip: package index to use")
        engine: Literal["podman", "docker"] = Field(default="podman",
                                                    description="oci: the container engine that keeps the image")
        registry_username: str | None = Field(default=None, description="oci: user for a private registry")
        registry_password: Secret | None = Field(default=None,
                                                 description="oci: that user's password (a secret)")
        registry_ca: str | None = Field(default=None,
                                        description="oci: PEM CA file on the host trusted for the registry's TLS")

    class Outputs(Ports):
        release: str = Field(description="The release id, for release.switch")
        path: str = Field(description="Where the release is on the host")
        changed: bool = Field(description="False when the release was already staged")
        removed: list[str] = Field(default_factory=list,
                                   description="Old releases removed by retention")

    def run(self, ctx: Context, inputs: Inputs) -> Outputs:
        rel = _releases(ctx, inputs.host)
        login = RegistryLogin.from_inputs(inputs.registry_username, inputs.registry_password,
                                          inputs.registry_ca)
        if login and not inputs.source.startswith("oci:"):
            raise BrickFailed("registry_username, registry_password and registry_ca apply to an "
                              f"oci: source only, not {inputs.source!r}")
        staged = rel.stage(inputs.service, inputs.source, sha256=inputs.sha256,
                           release_id=inputs.release_id or None, keep=inputs.keep,
                           pin=inputs.pin, find_links=inputs.find_links,
                           index_url=inputs.index_url, ctx=ctx, engine=inputs.engine, login=login)
        if staged.removed:
            ctx.log("retention removed %s", ", ".join(staged.removed))
        return self.Outputs(release=staged.id, path=str(staged.path), changed=staged.changed,
                            removed=list(staged.removed))

    def plan(self, ctx: Context, inputs: Inputs) -> dict[str, Any]:
        """Whether the release is staged already, asked of the host; runs nothing (not pip)."""
        if not is_known(inputs):
            return {"effect": f"stage a release of {inputs.service} once its inputs are known", "changes": None}
        rel = _releases(ctx, inputs.host)
        planned = ctx.planned or Planned()
        rid, why = planned_release_id(inputs.source, sha256=inputs.sha256, release_id=inputs.release_id,
                                      readable=ctx.runtime.plan_readable, budget=Budget(deadline=planned.deadline))
        if rid is None:
            return cannot_tell(why)
        path = rel.path(inputs.service, check_id(rid, "release id"))
        there = (path / META).is_file() or planned.get("releases", inputs.service, rid) is not None
        return {"effect": f"nothing: release {rid} of {inputs.service} is staged" if there else
                f"stage {inputs.source} as release {rid} of {inputs.service}", "changes": not there,
                "release": {"staged": rid, "current": planned.get("current", inputs.service) or rel.current(inputs.service)},
                "outputs": {"release": rid, "path": str(path), "changed": not there},
                "sets": {"releases": {inputs.service: {rid: {}}}}}


class Switch(Brick):
    """Make a staged release the current one of a service on a host.

    `<service>/current` is re-pointed at the release in one atomic rename, so anything
    that starts the service sees the old release or the new, never neither. The release
    it replaced is remembered as `<service>/previous` (output `previous`): switch back to
    it to roll back. Switching to the release that is already current changes nothing.

    Restart the service afterwards (a running process keeps its old files open).
    """

    id = "release.switch"
    on_repeat = ''
    title = "Switch release"
    category = "release"
    icon = "arrow-left-right"

    class Inputs(Ports):
        host: HostRef = Field(description="The host to switch on")
        service: str = Field(description="Service name", min_length=1)
        release: str = Field(description="A staged release id, from release.stage", min_length=1)

    class Outputs(Ports):
        previous: str | None = Field(default=None,
                                     description="The release that was current before (for rollback)")
        current: str = Field(description="The release that is current now")
        path: str = Field(description="The service's `current` link on the host")
        changed: bool = Field(description="False when it was already current")

    def run(self, ctx: Context, inputs: Inputs) -> Outputs:
        rel = _releases(ctx, inputs.host)
        previous, current, changed = rel.switch(inputs.service, inputs.release)
        ctx.log("%s: current %s -> %s%s", inputs.service, previous or "(none)", current,
                "" if changed else " (already current)")
        return self.Outputs(previous=previous, current=current, changed=changed,
                            path=str(rel.dir(inputs.service) / "current"))

    def plan(self, ctx: Context, inputs: Inputs) -> dict[str, Any]:
        """The current release before and after, asked of the host."""
        if not is_known(inputs):
            return {"effect": f"switch {inputs.service} once its inputs are known", "changes": None}
        rel = _releases(ctx, inputs.host)
        planned = ctx.planned or Planned()
        if not (rel.path(inputs.service, inputs.release) / META).is_file() and \
                planned.get("releases", inputs.service, inputs.release) is None:
            raise BrickFailed(f"release {inputs.release!r} of {inputs.service!r} is not staged on host "
                              f"{inputs.host} and no node before it in this run stages it")
        current = planned.get("current", inputs.service) or rel.current(inputs.service)
        previous = rel.previous(inputs.service) if current == rel.current(inputs.service) else rel.current(inputs.service)
        same = current == inputs.release
        effect = (f"nothing: {inputs.release} is already current for {inputs.service}" if same else
                  f"switch {inputs.service} from {current or '(none)'} to {inputs.release}")
        return {"effect": effect, "changes": not same, "release": {"before": current, "after": inputs.release},
                "outputs": {"previous": previous if same else current, "current": inputs.release,
                            "path": str(rel.dir(inputs.service) / "current"), "changed": not same},
                "sets": {"current": {inputs.service: inputs.release}}}
