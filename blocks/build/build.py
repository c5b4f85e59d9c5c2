"""Build bricks: check out a commit, make a reproducible tarball or run a build script, and
store the results in the control plane's artifact store with their provenance.

They run on the control plane's workers (no HostRef input), never on a managed host. Each
output ``provenance`` names the repository and commit, the recipe and its sha256, the
builder host, start and end, tool versions, the log's tail and every artifact's sha256;
the artifact table keeps the same record (``nebhx artifacts``, ``GET /api/artifacts``).
"""
from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

from pydantic import Field

from nebhx import Brick, Context, Ports
from nebhx.runtime import builds
from nebhx.bricks.base import BrickFailed


def _store(ctx: Context, name: str, path: Path, prov: dict[str, Any]) -> dict[str, Any]:
    """Record ``path`` in the control plane's artifact store (the process's, through ``ctx``)."""
    return ctx.artifacts.record(name=name, path=path, provenance=prov)


class Checkout(Brick):
    """Check out a git repository at a ref into a clean work dir on the control plane.

    `repository` is a path on the control plane, a `file://` URL or any URL git reaches;
    `ref` a branch, a tag or a commit. The work dir is `$NEBHX_HOME/builds/<run>/<node>/src`,
    emptied on every attempt. A ref that does not exist fails naming it.
    """

    id = "build.checkout"
    on_repeat = ""
    title = "Git checkout"
    category = "build"
    icon = "git"

    class Inputs(Ports):
        repository: str = Field(description="Path, file:// or any URL git reaches", min_length=1)
        ref: str = Field(default="HEAD", description="Branch, tag or commit", min_length=1)

    class Outputs(Ports):
        workdir: str = Field(description="The checkout, for build.tarball or build.script")
        commit: str = Field(description="The commit checked out (40 hex digits)")
        repository: str = Field(description="The repository, as given")

    def run(self, ctx: Context, inputs: Inputs) -> Outputs:
        dest = builds.build_dir(ctx.run_id, ctx.node_id)
        record = builds.checkout(repository=inputs.repository, ref=inputs.ref, dest=dest, ctx=ctx)
        ctx.log("%s at %s is commit %s", inputs.repository, inputs.ref, record["commit"])
        return self.Outputs(workdir=record["workdir"], commit=record["commit"], repository=inputs.repository)


class Tarball(Brick):
    """Pack chosen paths of a checkout into a reproducible tar.gz and store it as an artifact.

    Entries are sorted, owned by 0:0 without names, mode 0755 or 0644, every mtime the
    commit's time and the gzip header carries no name or time: the same commit gives the same
    sha256. `root` is the folder of the checkout the archive starts at (its paths are
    relative to it); `.git` is left out. `source` is what release.stage takes.
    """

    id = "build.tarball"
    on_repeat = ""
    title = "Reproducible tarball"
    category = "build"
    icon = "file-zip"

    class Inputs(Ports):
        workdir: str = Field(description="A checkout, from build.checkout")
        name: str = Field(description="Artifact name, e.g. webapp", pattern=r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
        root: str = Field(default=".", description="Folder of the checkout the archive starts at")
        paths: list[str] = Field(default_factory=lambda: ["."], description="Paths under root to pack")

    class Outputs(Ports):
        source: str = Field(description="artifact:NAME@sha256:HEX, for release.stage")
        sha256: str
        size: int
        files: int = Field(description="Entries in the archive")
        provenance: dict[str, Any]

    def run(self, ctx: Context, inputs: Inputs) -> Outputs:
        started = time.time()
        workdir = builds.workdir_of(inputs.workdir)
        root = builds.confine(workdir / inputs.root if inputs.root != "." else workdir, [workdir], param="root")
        record = builds.checkout_record(workdir)
        name = inputs.name if inputs.name.endswith(".tar.gz") else f"{inputs.name}.tar.gz"
        with tempfile.TemporaryDirectory(dir=workdir.parent) as tmp:
            out = Path(tmp) / name
            members = builds.reproducible_tar(root, inputs.paths, out, mtime=record.get("commit_time", 0))
            recipe = {"kind": "tarball", "root": inputs.root, "paths": inputs.paths, "format": "gnu tar, gzip -9"}
            text = json.dumps(recipe, sort_keys=True)
            sha, _ = builds_sha(out)
            prov = builds.provenance(ctx=ctx, record=record, recipe=recipe, recipe_text=text, started=started,
                                     tools=builds.tool_versions("git"), artifacts={name: sha},
                                     log="\n".join(ctx.lines))
            stored = _store(ctx, name, out, prov)
        ctx.log("%s: %d entries, sha256 %s", name, len(members), stored["sha256"])
        return self.Outputs(source=stored["source"], sha256=stored["sha256"], size=stored["size"],
                            files=len(members), provenance=prov)


def builds_sha(path: Path) -> tuple[str, int]:
    from nebhx.runtime.blobs import file_sha256
    return file_sha256(path)


class Script(Brick):
    """Run a shell script (bash, `-e -o pipefail`) in a checkout, then store the files it made.

    `artifacts` are paths relative to the work dir; each is stored under its file name. A
    script that fails or outlives `timeout_s`, or an artifact it did not make, fails the node
    and stores nothing. The script gets PATH, HOME (an empty folder), LANG,
    SOURCE_DATE_EPOCH (the commit's time) and NEBHX_COMMIT, not the worker's environment.

    It runs in a sandbox (bubblewrap): as user nbx-build, in its own PID and mount
    namespaces, with the machine read-only and the control plane's files out of sight; only
    the checkout and HOME are writable. No network unless `network` is on.
    """

    id = "build.script"
    on_repeat = "runs the build script again"
    title = "Build script"
    category = "build"
    icon = "terminal"

    class Inputs(Ports):
        workdir: str = Field(description="A checkout, from build.checkout")
        script: str = Field(description="Shell script run in the work dir", min_length=1)
        artifacts: list[str] = Field(description="Files the script makes, relative to the work dir", min_length=1)
        timeout_s: float = Field(default=600, gt=0, description="Fail after this long")
        network: bool = Field(default=False, description="The script needs the network (package "
                                                         "registries); off: it has none")

    class Outputs(Ports):
        sources: list[str] = Field(description="artifact:NAME@sha256:HEX of each artifact, in order")
        artifacts: list[dict[str, Any]]
        provenance: dict[str, Any]
        log: str

    def run(self, ctx: Context, inputs: Inputs) -> Outputs:
        started = time.time()
        workdir = builds.workdir_of(inputs.workdir)
        record = builds.checkout_record(workdir)
        env = {"SOURCE_DATE_EPOCH": str(record.get("commit_time", 0)), "NEBHX_COMMIT": record.get("commit", "")}
        output = builds.run_script(script=inputs.script, workdir=workdir, timeout_s=inputs.timeout_s,
                                   env=env, ctx=ctx, network=inputs.network)
        files = [builds.confine(workdir / a, [workdir], param="artifacts") for a in inputs.artifacts]
        missing = [a for a, f in zip(inputs.artifacts, files) if not f.is_file()]
        if missing:
            raise BrickFailed(f"the build script did not make {', '.join(missing)}; nothing stored")
        shas = {f.name: builds_sha(f)[0] for f in files}
        recipe = {"kind": "script", "artifacts": inputs.artifacts, "timeout_s": inputs.timeout_s,
                  "network": inputs.network}
        prov = builds.provenance(ctx=ctx, record=record, recipe=recipe, recipe_text=inputs.script,
                                 started=started, tools=builds.tool_versions("git", "bash"),
                                 artifacts=shas, log=output)
        stored = [_store(ctx, f.name, f, prov) for f in files]
        return self.Outputs(sources=[s["source"] for s in stored], artifacts=stored, provenance=prov,
                            log=ctx.mask(output)[-4000:])
