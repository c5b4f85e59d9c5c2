"""build.python: a wheel of a Python project with `python -m build`, optionally a bundle a
host turns into a virtualenv when it stages it (see nebhx.runtime.pybuild)."""
from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

from pydantic import Field

from nebhx import Brick, Context, Ports
from nebhx.runtime import builds, pybuild
from nebhx_blocks.build.build import _store, builds_sha


class Python(Brick):
    """Build a wheel of the Python project at `path` of a checkout and store it as an artifact.

    Runs `python -m build --wheel --no-isolation` with the worker's pinned `build` and
    setuptools (`pip install 'nebhx[builds]'`), so no index is needed; `isolation` lets
    `build` make a fresh environment instead (it downloads the build requirements).
    SOURCE_DATE_EPOCH is the commit's time: the same commit gives the same wheel.

    With `bundle`, `pip wheel` also collects every dependency's wheel (`pip_args`, e.g.
    `["--no-index", "--find-links", "/srv/wheels"]`, say where from) and packs them with an
    `install.sh` into a reproducible tar.gz. `source` is then the bundle: release.stage
    unpacks it and creates `<release>/venv` from those wheels only, so a service runs
    `{release}/venv/bin/APP`. A project that does not build fails naming it; nothing is stored.
    """

    id = "build.python"
    on_repeat = ""
    title = "Python wheel"
    category = "build"
    icon = "filetype-py"

    class Inputs(Ports):
        workdir: str = Field(description="A checkout, from build.checkout")
        path: str = Field(default=".", description="Folder of the checkout holding pyproject.toml")
        bundle: bool = Field(default=False, description="Also pack the dependencies' wheels and an "
                                                        "install script (release.stage makes a venv)")
        pip_args: list[str] = Field(default_factory=list,
                                    description="Options of `pip wheel` for the dependencies, "
                                                "e.g. --no-index --find-links DIR")
        isolation: bool = Field(default=False, description="Build in a fresh environment "
                                                           "(downloads build requirements)")
        timeout_s: float = Field(default=900, gt=0, description="Fail after this long (each step)")
        network: bool = Field(default=False, description="The build needs the network (a package "
                                                         "index); isolation implies it. Off: none")

    class Outputs(Ports):
        source: str = Field(description="artifact:NAME@sha256:HEX for release.stage: the bundle "
                                        "when bundle is on, else the wheel")
        wheel: str = Field(description="artifact:NAME@sha256:HEX of the wheel")
        bundle: str | None = Field(default=None, description="artifact:NAME@sha256:HEX of the bundle")
        distribution: str
        version: str
        sha256: str = Field(description="sha256 of `source`")
        provenance: dict[str, Any]

    def run(self, ctx: Context, inputs: Inputs) -> Outputs:
        started = time.time()
        workdir = builds.workdir_of(inputs.workdir)
        project = builds.confine(workdir / inputs.path if inputs.path != "." else workdir, [workdir],
                                 param="path")
        name = pybuild.project_name(project)
        pybuild.check_python()
        record = builds.checkout_record(workdir)
        with tempfile.TemporaryDirectory(dir=workdir.parent) as tmp:
            folder = Path(tmp)
            wheel, log = pybuild.build_wheel(workdir=workdir, project=project, out=folder / "dist",
                                             name=name, record=record, isolation=inputs.isolation,
                                             timeout_s=inputs.timeout_s, ctx=ctx, network=inputs.network)
            made = {wheel.name: builds_sha(wheel)[0]}
            bundle, bundled = None, {}
            if inputs.bundle:
                bundle, bundled, pip_log = pybuild.make_bundle(
                    wheel=wheel, folder=folder, name=name, pip_args=inputs.pip_args, record=record,
                    timeout_s=inputs.timeout_s, ctx=ctx, network=inputs.network)
                made[bundle.name] = builds_sha(bundle)[0]
                log += pip_log
            prov = self._provenance(ctx, inputs, record, started, made, bundled, log)
            # Stored only once everything built: a failure above leaves the store untouched.
            stored = {path.name: _store(ctx, path.name, path, prov) for path in (wheel, bundle) if path}
        top = stored[bundle.name if bundle else wheel.name]
        ctx.log("%s: %s", name, ", ".join(f"{k} sha256 {v['sha256'][:12]}" for k, v in stored.items()))
        return self.Outputs(source=top["source"], wheel=stored[wheel.name]["source"],
                            bundle=stored[bundle.name]["source"] if bundle else None, distribution=name,
                            version=pybuild.wheel_version(wheel), sha256=top["sha256"], provenance=prov)

    @staticmethod
    def _provenance(ctx: Context, inputs: Inputs, record: dict, started: float, made: dict[str, str],
                    bundled: dict[str, str], log: str) -> dict[str, Any]:
        # Provenance is shown to every viewer and kept with the artifact: no credential in it.
        recipe = {"kind": "python", "path": inputs.path, "bundle": inputs.bundle,
                  "pip_args": [pybuild.shown(ctx, a) for a in inputs.pip_args], "isolation": inputs.isolation,
                  "network": inputs.network or inputs.isolation,
                  "command": "python -m build --wheel" + ("" if inputs.isolation else " --no-isolation")}
        prov = builds.provenance(ctx=ctx, record=record, recipe=recipe,
                                 recipe_text=json.dumps(recipe, sort_keys=True), started=started,
                                 tools=pybuild.tool_versions(), artifacts=made, log=pybuild.shown(ctx, log))
        if bundled:
            prov["bundled_wheels"] = bundled
        return prov
