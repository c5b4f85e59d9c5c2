"""What build bricks do on the control plane: a clean git checkout, a reproducible tar.gz,
a script with a timeout, and the provenance of each.

    $NEBHX_HOME/builds/<run>/<node>/src/            the checkout (clean on every attempt)
    $NEBHX_HOME/builds/<run>/<node>/checkout.json   repository, ref, commit, commit time

Downstream bricks get ``workdir`` (the ``src`` folder) and find the checkout's record next
to it, so a tarball or a script knows which commit it builds without more wires.
"""
from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nebhx.bricks.base import BrickFailed
from nebhx.runtime.paths import confine
from nebhx.sealing.masking import excerpt

if TYPE_CHECKING:
    from nebhx.bricks.base import Context

CHECKOUT = "checkout.json"
SAFE_PART = re.compile(r"[^A-Za-z0-9._-]")
GIT_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1", "LC_ALL": "C"}


def builds_root() -> Path:
    from nebhx.settings import get_settings
    return (get_settings().home / "builds").resolve()


def build_dir(run_id: str, node_id: str) -> Path:
    return builds_root() / SAFE_PART.sub("_", run_id) / SAFE_PART.sub("_", node_id)


def workdir_of(path: str, *, param: str = "workdir") -> Path:
    """A checkout's work dir, which must lie under ``$NEBHX_HOME/builds``."""
    real = confine(path, [builds_root()], param=param)
    if not real.is_dir():
        raise BrickFailed(f"{param}: {path} is not a folder (check out first)")
    return real


def checkout_record(workdir: Path) -> dict[str, Any]:
    try:
        return json.loads((workdir.parent / CHECKOUT).read_text())
    except (OSError, ValueError):
        return {}


def tool_versions(*tools: str) -> dict[str, str]:
    found = {"python": sys.version.split()[0]}
    for tool in tools:
        try:
            out = subprocess.run([tool, "--version"], capture_output=True, text=True, timeout=10)
            found[tool] = (out.stdout or out.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            found[tool] = "not found"
    return found


def _git(args: list[str], *, cwd: Path | None = None, ctx: Context | None = None,
         timeout: float = 600) -> subprocess.CompletedProcess[str]:
    if ctx:
        ctx.log("$ git %s", " ".join(args))
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("NEBHX_")}, **GIT_ENV}
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=env,
                              timeout=timeout)
    except FileNotFoundError as exc:
        raise BrickFailed("git is not installed on the control plane's worker") from exc
    except subprocess.TimeoutExpired as exc:
        raise BrickFailed(f"git {args[0]} timed out after {timeout}s") from exc


def checkout(*, repository: str, ref: str, dest: Path, ctx: Context | None = None) -> dict[str, Any]:
    """Clone ``repository`` into ``dest/src`` (``dest`` emptied first) and check out ``ref``
    (a branch, a tag or a commit); the checkout's record."""
    url = repository
    if "://" not in url and not re.match(r"^[\w.-]+@[\w.-]+:", url):
        url = str(Path(url).expanduser().resolve())  # a path on the control plane
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    src = dest / "src"
    cloned = _git(["clone", "--quiet", "--no-checkout", "--", url, str(src)], ctx=ctx)
    if cloned.returncode != 0:
        raise BrickFailed(f"cannot clone {repository}: {cloned.stderr.strip()[-800:]}")
    commit = _resolve(src, ref)
    if commit is None:
        raise BrickFailed(f"ref {ref!r} does not exist in {repository} (no such branch, tag or commit)")
    done = _git(["checkout", "--quiet", "--detach", commit], cwd=src, ctx=ctx)
    if done.returncode != 0:
        raise BrickFailed(f"cannot check out {commit} of {repository}: {done.stderr.strip()[-800:]}")
    when = _git(["show", "-s", "--format=%ct", commit], cwd=src).stdout.strip()
    record = {"repository": repository, "url": url, "ref": ref, "commit": commit,
              "commit_time": int(when or 0), "workdir": str(src)}
    (dest / CHECKOUT).write_text(json.dumps(record, indent=2))
    return record


def _resolve(src: Path, ref: str) -> str | None:
    if not ref or ref.startswith("-"):
        return None
    short = ref.removeprefix("refs/heads/")
    for candidate in (f"origin/{short}", ref, f"refs/tags/{short}"):
        out = _git(["rev-parse", "--verify", "--quiet", f"{candidate}^{{commit}}"], cwd=src)
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip()
    return None


# -- reproducible tar.gz -------------------------------------------------------------------
def _members(root: Path, paths: list[str]) -> list[Path]:
    found: set[Path] = set()
    for rel in paths or ["."]:
        start = confine(root / rel if rel != "." else root, [root], param="paths")
        if not start.exists():
            raise BrickFailed(f"paths: {rel!r} does not exist in the checkout")
        found.add(start)
        if start.is_dir() and not start.is_symlink():
            for dirpath, dirs, files in os.walk(start):
                dirs[:] = [d for d in dirs if d != ".git"]
                found.update(Path(dirpath) / n for n in [*dirs, *files])
    return sorted((p for p in found if p != root), key=lambda p: p.relative_to(root).as_posix())


def reproducible_tar(root: Path, paths: list[str], out: Path, *, mtime: int = 0) -> list[str]:
    """A tar.gz of ``paths`` under ``root``: entries sorted, owner 0:0 without names, mode
    0755/0644, every mtime ``mtime``, gzip header without name or time. Same tree, same bytes."""
    members = _members(root, paths)
    with open(out, "wb") as raw, \
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for path in members:
            info = tar.gettarinfo(str(path), arcname=path.relative_to(root).as_posix())
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mtime = mtime
            executable = info.isdir() or bool(info.mode & 0o111)
            info.mode = 0o755 if executable else 0o644
            if info.isfile():
                with open(path, "rb") as f:
                    tar.addfile(info, f)
            else:
                tar.addfile(info)
    return [p.relative_to(root).as_posix() for p in members]


# -- scripts -------------------------------------------------------------------------------
def run_script(*, script: str, workdir: Path, timeout_s: float, env: dict[str, str],
               ctx: Context, network: bool = False, writable: list[Path] = (),
               readable: list[str] = (), expose: list[str] = ()) -> str:
    """Run ``script`` with bash in ``workdir``, in the build sandbox (runtime/sandbox.py);
    its output. BrickFailed on a non-zero exit or after ``timeout_s`` (the sandbox is
    killed). Only ``workdir``, ``writable`` and an empty HOME may be written; the worker's
    environment, processes and files stay out of sight; no network unless ``network``."""
    from nebhx.runtime import buildnet
    from nebhx.runtime.sandbox import wrap
    path = workdir.parent / "build.sh"
    path.write_text(script)
    home = workdir.parent / "home"
    home.mkdir(exist_ok=True)
    base = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
    argv = wrap(["bash", "-eo", "pipefail", str(path)], cwd=workdir, env={**base, **env, "HOME": str(home)},
                writable=[workdir, home, *writable], readable=[str(path), *readable], expose=expose,
                network=network)
    log_path = workdir.parent / "build.log"
    with open(log_path, "wb") as log:
        proc, stop_net = buildnet.popen(argv, network=network, cwd=workdir, stdout=log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, env={}, start_new_session=True)
        deadline = time.monotonic() + timeout_s
        try:
            while proc.poll() is None:
                if time.monotonic() > deadline:
                    raise BrickFailed(f"the build script timed out after {timeout_s:g}s; nothing stored")
                ctx.sleep(0.1)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, 9)
                proc.wait()
            stop_net()
    output = log_path.read_text(errors="replace")
    if proc.returncode != 0:
        raise BrickFailed(f"the build script failed (exit {proc.returncode}); nothing stored: "
                          f"{excerpt(output, 1500, ctx.mask)}")
    return output


def provenance(*, ctx: Context, record: dict[str, Any], recipe: dict[str, Any], recipe_text: str,
               started: float, tools: dict[str, str], artifacts: dict[str, str], log: str) -> dict[str, Any]:
    import hashlib
    return {"repository": record.get("repository"), "commit": record.get("commit"),
            "ref": record.get("ref"), "recipe": recipe,
            "recipe_sha256": hashlib.sha256(recipe_text.encode()).hexdigest(),
            "builder": socket.gethostname(), "run": ctx.run_id, "node": ctx.node_id,
            "started_at": _iso(started), "finished_at": _iso(time.time()), "tools": tools,
            "artifacts": artifacts, "log": log[-4000:]}


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))

