"""What build.python does on the control plane: a wheel with ``python -m build`` and, when
asked, a bundle (the wheel, its dependency wheels and an install script in a reproducible
tar.gz) that release.stage turns into a virtualenv on the host.

    <bundle>.tar.gz
        nebhx-bundle.json   format, requirement (NAME==VERSION), every wheel's sha256
        install.sh          python3 -m venv DIR; pip install --no-index from wheels/ only
        wheels/*.whl

Both steps run in the build sandbox (runtime/sandbox.py): no network unless the brick's
``network`` is on (``isolation`` implies it: it downloads), the worker's Python and the
local folders pip_args name shown read-only.

Builds run ``--no-isolation`` by default: the build front end and setuptools are pinned in
the worker's own environment (pyproject.toml, extra ``builds``), so a build needs no index
and the tools it used are the ones its provenance names. ``isolation`` asks ``build`` for a
fresh environment instead, which downloads the project's build requirements.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nebhx.runtime import builds
from nebhx.bricks.base import BrickFailed
# The bundle's manifest is read by the host that stages it (nebhx.runtime.bundle); re-exported.
from nebhx.runtime.bundle import BUNDLE_FORMAT, BUNDLE_META
from nebhx.runtime.bundle import bundle_requirement as bundle_requirement

if TYPE_CHECKING:
    from nebhx.bricks.base import Context

INSTALL_SH = """#!/bin/sh
# Make a virtualenv (default: ./venv beside this script) holding {req} and its
# dependencies, from the wheels beside this script only: no package index is asked.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
venv=${{1:-$here/venv}}
"${{PYTHON:-python3}}" -m venv "$venv"
"$venv/bin/python" -m pip install --no-index --find-links "$here/wheels" \\
    --disable-pip-version-check --no-input {req}
"""


def project_name(project: Path) -> str:
    """The [project] name of ``project``'s pyproject.toml; BrickFailed when there is none."""
    pyproject = project / "pyproject.toml"
    if not pyproject.is_file():
        raise BrickFailed(f"path: no pyproject.toml in {project.name or project} (a Python project "
                          "needs one to build a wheel); nothing stored")
    try:
        name = tomllib.loads(pyproject.read_text()).get("project", {}).get("name")
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BrickFailed(f"project {project.name}: pyproject.toml is not valid TOML ({exc}); "
                          "nothing stored") from exc
    return str(name or project.name)


def tool_versions() -> dict[str, str]:
    found = builds.tool_versions("git")
    for dist in ("build", "pip", "setuptools", "wheel"):
        try:
            found[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            found[dist] = "not installed"
    return found


def _env(record: dict[str, Any], home: Path) -> dict[str, str]:
    """No NEBHX_* (database URL, key) reaches the project's build backend; SOURCE_DATE_EPOCH
    (the commit's time) makes the wheel's timestamps the commit's, so the same commit gives
    the same wheel."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "HOME": str(home),
            "SOURCE_DATE_EPOCH": str(record.get("commit_time") or 315532800),
            "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1",
            "NEBHX_COMMIT": record.get("commit", "")}


_URL_PASSWORD = re.compile(r"(://[^/@:\s]+):[^/@\s]+@")


def shown(ctx: Context, text: str) -> str:
    """``text`` as a log or provenance may keep it: stored secrets masked, and the password of
    a URL (``pip_args`` may name an index as https://user:token@host/simple) as well."""
    return _URL_PASSWORD.sub(r"\1:******@", ctx.mask(text))


def run(argv: list[str], *, cwd: Path, env: dict[str, str], timeout_s: float, ctx: Context,
        what: str, writable: list[Path] = (), network: bool = False, readable: list[str] = ()) -> str:
    """``argv`` through builds.run_script (the build sandbox, timeout, output kept) with this
    worker's Python shown to it; a failure is re-worded to name ``what`` instead of "the
    build script"."""
    ctx.log("$ %s", shown(ctx, shlex.join(argv)))
    try:
        return builds.run_script(script=f"exec {shlex.join(argv)}\n", workdir=cwd, timeout_s=timeout_s,
                                 env=env, ctx=ctx, writable=list(writable), network=network,
                                 readable=list(readable), expose=[sys.executable])
    except BrickFailed as exc:
        raise BrickFailed(str(exc).replace("the build script", what, 1)) from exc


def local_folders(pip_args: list[str]) -> list[str]:
    """Folders on this machine that pip_args name (``--find-links DIR``): the sandbox shows
    them read-only."""
    found = []
    for arg in pip_args:
        value = arg.split("=", 1)[1] if arg.startswith("--") and "=" in arg else arg
        value = value.removeprefix("file://")
        if value.startswith("/") and os.path.isdir(value):
            found.append(value)
    return found


def build_wheel(*, workdir: Path, project: Path, out: Path, name: str, record: dict[str, Any],
                isolation: bool, timeout_s: float, ctx: Context, network: bool = False) -> tuple[Path, str]:
    """``python -m build --wheel`` of ``project`` into ``out``; (the wheel, the build's log).
    It runs from the checkout's root (``workdir``): run_script keeps its files beside it."""
    argv = [sys.executable, "-m", "build", "--wheel", "--outdir", str(out)]
    argv += [] if isolation else ["--no-isolation"]
    out.mkdir(parents=True, exist_ok=True)
    log = run([*argv, str(project)], cwd=workdir, env=_env(record, out.parent), timeout_s=timeout_s,
              ctx=ctx, what=f"project {name} does not build: python -m build", writable=[out],
              network=network or isolation)
    wheels = sorted(out.glob("*.whl"))
    if len(wheels) != 1:
        raise BrickFailed(f"project {name}: python -m build made {len(wheels)} wheels, not one; "
                          "nothing stored")
    return wheels[0], log


def wheel_version(wheel: Path) -> str:
    return wheel.name.split("-")[1]  # name-version-python-abi-platform.whl (PEP 427)


def make_bundle(*, wheel: Path, folder: Path, name: str, pip_args: list[str], record: dict[str, Any],
                timeout_s: float, ctx: Context, network: bool = False) -> tuple[Path, dict[str, str], str]:
    """The wheel and its dependencies' wheels (``pip wheel``), an install script and a
    manifest, packed reproducibly; (the tar.gz, {wheel file: sha256}, pip's log)."""
    root = folder / "bundle"
    wheels = root / "wheels"
    wheels.mkdir(parents=True)
    argv = [sys.executable, "-m", "pip", "wheel", "--wheel-dir", str(wheels), "--no-cache-dir",
            *pip_args, str(wheel)]
    log = run(argv, cwd=folder, env=_env(record, folder), timeout_s=timeout_s, ctx=ctx,
              what=f"the dependencies of {name} could not be collected: pip wheel", network=network,
              readable=local_folders(pip_args))
    shas = {w.name: builds_sha(w) for w in sorted(wheels.glob("*.whl"))}
    requirement = f"{name}=={wheel_version(wheel)}"
    (root / "install.sh").write_text(INSTALL_SH.format(req=shlex.quote(requirement)))
    (root / "install.sh").chmod(0o755)
    manifest = {"format": BUNDLE_FORMAT, "requirement": requirement, "wheels": shas}
    (root / BUNDLE_META).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    out = folder / f"{wheel.name.split('-')[0]}-{wheel_version(wheel)}-bundle.tar.gz"
    builds.reproducible_tar(root, ["."], out, mtime=int(record.get("commit_time") or 0))
    return out, shas, log


def builds_sha(path: Path) -> str:
    from nebhx.runtime.blobs import file_sha256
    return file_sha256(path)[0]


def check_python() -> None:
    """A worker without the build front end fails with what to install, not a traceback."""
    probe = subprocess.run([sys.executable, "-c", "import build"], capture_output=True)
    if probe.returncode != 0:
        raise BrickFailed("the control plane's worker has no `build` package: "
                          "pip install 'nebhx[builds]' where the worker runs")
