"""The build sandbox's cost: the same builds with and without it, alternated.

    .venv/bin/python bench/build_sandbox.py [--rounds N]      # both, and their ratio
    .venv/bin/python bench/build_sandbox.py --only sandboxed  # one kind, for farm-bench:
    farm-bench -n 5 -- .venv/bin/python bench/build_sandbox.py --only sandboxed \\
        --vs '.venv/bin/python bench/build_sandbox.py --only bare'

One checkout of a tiny setuptools project, then per round: build.script (`echo` into an
artifact) with and without `network` (its own namespace and slirp4netns), and build.python (a wheel
with `python -m build --no-isolation`), once in the
sandbox (bubblewrap, user nbx-build) and once bare (the sandbox's wrap replaced by the
plain command, as the code ran before). Needs root (the sandbox's user) and bwrap.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HOME = Path(tempfile.mkdtemp(prefix="nebhx-bench-sandbox-"))
os.environ.update(NEBHX_HOME=str(HOME), NEBHX_DATABASE_URL=f"sqlite:///{HOME / 'store.db'}",
                  XDG_CONFIG_HOME=str(HOME / "config"))
from nebhx.bricks.registry import import_builtin  # noqa: E402

import_builtin()
import nebhx.process  # noqa: E402

nebhx.process.install()  # the worker's brick resources (the artifact store), as the CLI's worker
from nebhx.runtime import sandbox  # noqa: E402
from nebhx.bricks.base import Context  # noqa: E402
from nebhx_blocks.build.build import Checkout, Script  # noqa: E402
from nebhx_blocks.build.python import Python  # noqa: E402

PYPROJECT = ('[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
             '[project]\nname = "benchapp"\nversion = "1.0"\n')
WRAP = sandbox.wrap
STEPS = ("build.script", "build.script+net", "build.python")


def repo() -> Path:
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@x", "GIT_COMMITTER_NAME": "b",
           "GIT_COMMITTER_EMAIL": "b@x"}
    bare, clone = HOME / "app.git", HOME / "clone"
    subprocess.run(["git", "init", "-q", "--bare", "--initial-branch=main", str(bare)], check=True)
    subprocess.run(["git", "init", "-q", "--initial-branch=main", str(clone)], check=True)
    (clone / "pyproject.toml").write_text(PYPROJECT)
    (clone / "benchapp.py").write_text("X = 1\n")
    for args in (["add", "-A"], ["commit", "-qm", "one"], ["push", "-q", str(bare), "main"]):
        subprocess.run(["git", *args], cwd=clone, env=env, check=True)
    return bare


def one(kind: str, workdir: str, n: int) -> dict[str, float]:
    sandbox.wrap = WRAP if kind == "sandboxed" else (lambda argv, **_: list(argv))
    times = {}
    t0 = time.perf_counter()
    Script()(Context(run_id=f"{kind}{n}", node_id="sh"), workdir=workdir, artifacts=["out.txt"],
             script=f"echo {kind} {n} > out.txt\n")
    times["build.script"] = time.perf_counter() - t0
    t0 = time.perf_counter()  # with network: the sandbox's own namespace and slirp4netns (bare has the host's)
    Script()(Context(run_id=f"{kind}{n}", node_id="shnet"), workdir=workdir, artifacts=["out.txt"],
             script=f"echo {kind} {n} > out.txt\n", network=kind == "sandboxed")
    times["build.script+net"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    Python()(Context(run_id=f"{kind}{n}", node_id="py"), workdir=workdir)
    times["build.python"] = time.perf_counter() - t0
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", choices=("sandboxed", "bare"))
    args = parser.parse_args()
    workdir = Checkout()(Context(run_id="bench", node_id="co"), repository=str(repo()), ref="main").workdir
    kinds = [args.only] if args.only else ["sandboxed", "bare"]
    got: dict[str, dict[str, list[float]]] = {k: {step: [] for step in STEPS} for k in kinds}
    one(kinds[0], workdir, -1)  # warm-up: the build user, the page cache
    for n in range(args.rounds):
        for kind in kinds:
            for step, secs in one(kind, workdir, n).items():
                got[kind][step].append(secs)
    for step in STEPS:
        medians = {k: statistics.median(got[k][step]) for k in kinds}
        line = ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in medians.items())
        ratio = f"; sandboxed/bare {medians['sandboxed'] / medians['bare']:.2f}" if len(kinds) == 2 else ""
        print(f"{step:13} median of {args.rounds}: {line}{ratio}")


if __name__ == "__main__":
    if os.geteuid() != 0:
        sys.exit("run as root: the sandbox runs builds as user nbx-build")
    try:
        main()
    finally:
        shutil.rmtree(HOME, ignore_errors=True)
