"""build.image: an OCI image from a Containerfile in a checkout, kept in the artifact store.

A module of its own beside build.py (which holds the file-artifact bricks) so neither grows
past a screenful; it shares build.py's checkout record, provenance and store.
"""
from __future__ import annotations

import json
import re
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from nebhx import Brick, Context, Ports
from nebhx.runtime import builds
from nebhx.runtime.sandbox import wrap_engine
from nebhx.bricks.base import BrickFailed
from nebhx.runtime import shell
from nebhx.runtime.containers import Engine, archive_digest, image_name

STEP_RE = re.compile(r"^(?:STEP \d+(?:/\d+)?|Step \d+/\d+ ?):.*$", re.M)


class Image(Brick):
    """Build an OCI image with podman (docker with `engine: docker`) from a checkout and
    store it as an image archive in the artifact store, with the same provenance as every
    build (repository, commit, recipe and its hash, builder, tool versions, log, sha256).

    The image is tagged `NAME:<commit, 12 digits>` and named by digest: `image` is
    `oci:NAME@sha256:DIGEST`, what release.stage takes (wire `archive_sha256` into its
    `sha256` so a host without the image fetches it from the store). podman builds with the
    commit's time as every timestamp, so the same commit gives the same digest. `NAME`
    without a registry becomes `localhost/NAME`. An image that does not build fails naming
    the step that failed, and nothing is stored.
    """

    id = "build.image"
    on_repeat = "builds the image again (layers cached)"
    title = "Container image"
    category = "build"
    icon = "box"

    class Inputs(Ports):
        workdir: str = Field(description="A checkout, from build.checkout")
        name: str = Field(description="Image name, e.g. webapp or registry:5000/team/webapp",
                          pattern=r"^[a-z0-9][a-z0-9._-]*(?::[0-9]+)?(?:/[a-z0-9][a-z0-9._-]*)*$")
        containerfile: str = Field(default="Containerfile", description="Path of the Containerfile in the checkout")
        context: str = Field(default=".", description="Build context folder in the checkout")
        engine: Literal["podman", "docker"] = Field(default="podman", description="Container engine that builds")
        timeout_s: float = Field(default=1800, gt=0, description="Fail after this long")

    class Outputs(Ports):
        image: str = Field(description="oci:NAME@sha256:DIGEST, for release.stage")
        digest: str
        tag: str
        archive: str = Field(description="artifact:NAME.oci.tar@sha256:HEX, the stored image archive")
        archive_sha256: str = Field(description="For release.stage's sha256")
        size: int
        provenance: dict[str, Any]

    def run(self, ctx: Context, inputs: Inputs) -> Outputs:
        started = time.time()
        workdir = builds.workdir_of(inputs.workdir)
        record = builds.checkout_record(workdir)
        context = builds.confine(workdir / inputs.context if inputs.context != "." else workdir, [workdir],
                                 param="context")
        file = builds.confine(workdir / inputs.containerfile, [workdir], param="containerfile")
        if not file.is_file():
            raise BrickFailed(f"containerfile: {inputs.containerfile} is not in the checkout; nothing stored")
        name = image_name(inputs.name)
        tag = f"{name}:{(record.get('commit') or 'build')[:12]}"
        eng = Engine.for_home(_home(), inputs.engine)
        output = self.build(ctx, eng, file, context, tag, record, inputs.timeout_s, workdir)
        short = name.rsplit("/", 1)[-1]
        with tempfile.TemporaryDirectory(dir=workdir.parent) as tmp:
            archive = Path(tmp) / f"{short}.oci.tar"
            eng.save(tag, archive, ctx)
            digest = archive_digest(archive, eng.kind)
            sha = builds_sha(archive)
            recipe = {"kind": "image", "containerfile": inputs.containerfile, "context": inputs.context,
                      "engine": eng.kind, "tag": tag}
            prov = builds.provenance(
                ctx=ctx, record=record, recipe=recipe, started=started,
                recipe_text=json.dumps(recipe, sort_keys=True) + "\n" + file.read_text(errors="replace"),
                tools={**builds.tool_versions("git"), eng.kind: eng.version()},
                artifacts={archive.name: sha}, log=output)
            prov["image"] = {"name": name, "digest": digest, "ref": f"oci:{name}@sha256:{digest}"}
            stored = _store(ctx, archive.name, archive, prov)
        ctx.log("%s is %s@sha256:%s (archive sha256 %s)", tag, name, digest, stored["sha256"])
        return self.Outputs(image=prov["image"]["ref"], digest=digest, tag=tag, archive=stored["source"],
                            archive_sha256=stored["sha256"], size=stored["size"], provenance=prov)

    @staticmethod
    def build(ctx: Context, eng: Engine, file: Path, context: Path, tag: str, record: dict,
              timeout_s: float, workdir: Path) -> str:
        """Run the build; its output. BrickFailed naming the step that failed."""
        args = ["build", "--file", str(file), "--tag", tag]
        if eng.kind == "podman":  # every timestamp the commit's: same commit, same digest
            args += ["--timestamp", str(record.get("commit_time", 0))]
        with tempfile.TemporaryDirectory(dir=workdir.parent) as scratch:
            proc = _engine_build(ctx, eng, [*args, str(context)], workdir, Path(scratch), timeout_s)
        output = (proc.stdout or "") + (proc.stderr or "")
        if proc.returncode != 0:
            steps = STEP_RE.findall(output)
            step = f" at {steps[-1].strip()}" if steps else ""
            raise BrickFailed(f"the image did not build{step} (exit {proc.returncode}); nothing stored: "
                              f"{ctx.mask((proc.stderr or proc.stdout).strip())[-1200:]}")
        return output


def _engine_build(ctx: Context, eng: Engine, args: list[str], workdir: Path, scratch: Path,
                  timeout_s: float) -> subprocess.CompletedProcess[str]:
    """``ENGINE build ARGS`` with a scrubbed environment; podman in the build sandbox
    (sandbox.wrap_engine: the checkout read-only, the store and ``scratch`` writable).
    docker's daemon builds, so its client runs as it is, with the scrubbed environment."""
    env = eng.build_env(scratch)
    argv = [eng.kind, *args]
    if eng.kind == "podman":
        graphroot, runroot = eng.store_paths()
        for folder in (graphroot, runroot):
            folder.mkdir(parents=True, exist_ok=True)
        argv = wrap_engine(argv, cwd=workdir, env=env, readable=[str(workdir), str(eng.root)],
                           writable=[str(scratch), str(graphroot), str(runroot), str(eng.root / "networks")])
        env = {}  # bwrap's PID 1 keeps the environment it was started with
    ctx.log("$ %s %s", eng.kind, " ".join(args))
    return shell.run(argv, env=env, timeout=timeout_s, check=False)


def _home() -> Path:
    from nebhx.settings import get_settings
    return get_settings().home


def builds_sha(path: Path) -> str:
    from nebhx.runtime.blobs import file_sha256
    return file_sha256(path)[0]


def _store(ctx: Context, name: str, path: Path, prov: dict[str, Any]) -> dict[str, Any]:
    """Record ``path`` in the control plane's artifact store (the process's, through ``ctx``)."""
    return ctx.artifacts.record(name=name, path=path, provenance=prov)
