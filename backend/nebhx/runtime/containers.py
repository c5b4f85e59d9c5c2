"""Container engines on one host: podman (the default) or docker, driven through their CLI.

podman reads its settings from files this adapter writes, so nothing in /etc is edited by
hand and each host home keeps its own image store:

    <home>/containers/podman/containers.conf   runc, cgroupfs, ulimits (what runs here: NOTES)
    <home>/containers/podman/storage.conf      where the store of this home is:
    /var/lib/nebhx/containers/<key>/           images and containers (graphroot)
    /run/nebhx/containers/<key>/               runtime state (runroot)

``<key>`` is a hash of the home's folder. The store is not under the home because podman 4.3
with conmon loses track of a container whose graphroot path is longer than about 54
characters (measured: a stopped container's exit is noticed after conmon's 20 s timeout
instead of at once, so every stop and restart took 20 s); a test's home is longer than that.
``NEBHX_CONTAINERS_ROOT`` moves the graphroots elsewhere (keep it short).

docker keeps its store in its daemon; ``NEBHX_DOCKER_HOST`` names the daemon's socket when it
is not the default one. An image is named by digest, ``NAME@sha256:HEX``: for podman the
manifest digest (what a registry and ``podman images --digests`` show), for docker, which has
no manifest digest for a local image, the image id (its config's digest).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import tarfile
from pathlib import Path
from typing import TYPE_CHECKING

from nebhx.bricks.errors import BrickFailed
from nebhx.runtime import shell
from nebhx.runtime.registries import RegistryLogin, pull_access, pull_failure

if TYPE_CHECKING:
    from nebhx.bricks.base import Context

ENGINES = ("podman", "docker")
# NAME@sha256:HEX, NAME as registries spell it (lower case, optional host:port/ prefix).
IMAGE_RE = re.compile(r"^([a-z0-9][a-z0-9._-]*(?::[0-9]+)?(?:/[a-z0-9][a-z0-9._-]*)*)@sha256:([0-9a-f]{64})$")
# The settings podman 4.3 needs on these machines: crun refuses the hybrid cgroup layout,
# systemd is not PID 1, and the default nproc/nofile limits are refused by runc here.
CONTAINERS_CONF = """[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"

[network]
network_config_dir = "{networks}"
"""


def parse_image(ref: str) -> tuple[str, str]:
    """``oci:NAME@sha256:HEX`` (or without ``oci:``) as (NAME, HEX)."""
    found = IMAGE_RE.match(ref.strip().removeprefix("oci:"))
    if not found:
        raise BrickFailed(f"{ref!r} is not oci:NAME@sha256:<64 hex digits> (NAME in lower case, "
                          "e.g. localhost/webapp)")
    return found.group(1), found.group(2)


def image_name(name: str) -> str:
    """A short name as podman stores a local build: ``webapp`` -> ``localhost/webapp``."""
    name = name.lower()
    return name if "/" in name else f"localhost/{name}"


class Engine:
    """One container engine (``kind`` podman or docker) with its settings under ``root``."""

    def __init__(self, root: Path, kind: str = "podman"):
        if kind not in ENGINES:
            raise BrickFailed(f"engine must be one of {', '.join(ENGINES)}, not {kind!r}")
        self.root, self.kind = Path(root), kind

    @classmethod
    def for_home(cls, home: Path, kind: str = "podman") -> Engine:
        return cls(Path(home) / "containers" / kind, kind)

    def env(self) -> dict[str, str]:
        """The environment the engine's commands run with (its config files written first)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("NEBHX_")}
        if self.kind == "docker":
            if os.environ.get("NEBHX_DOCKER_HOST"):
                env["DOCKER_HOST"] = os.environ["NEBHX_DOCKER_HOST"]
            return env
        self._write_conf()
        env["CONTAINERS_CONF"] = str(self.root / "containers.conf")
        env["CONTAINERS_STORAGE_CONF"] = str(self.root / "storage.conf")
        return env

    def store_paths(self) -> tuple[Path, Path]:
        """(graphroot, runroot) of this home's podman store: short paths (see the module doc)."""
        key = hashlib.sha256(str(self.root.resolve()).encode()).hexdigest()[:12]
        base = Path(os.environ.get("NEBHX_CONTAINERS_ROOT") or "/var/lib/nebhx/containers")
        return base / key, Path("/run/nebhx/containers") / key

    def _write_conf(self) -> None:
        graphroot, runroot = self.store_paths()
        storage = f'[storage]\ndriver = "overlay"\ngraphroot = "{graphroot}"\nrunroot = "{runroot}"\n'
        self.root.mkdir(parents=True, exist_ok=True)
        conf = CONTAINERS_CONF.format(networks=self.root / "networks")
        (self.root / "networks").mkdir(exist_ok=True)
        for name, text in (("containers.conf", conf), ("storage.conf", storage)):
            path = self.root / name
            if not path.is_file() or path.read_text() != text:
                tmp = path.with_name(f".{name}.{os.getpid()}")
                tmp.write_text(text)
                os.replace(tmp, path)  # concurrent workers see the old file or the new

    def build_env(self, scratch: Path) -> dict[str, str]:
        """The environment of a build: nothing of the worker's but what the engine needs
        (a RUN step or the build tool must not find a token or a URL there)."""
        env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
               "TMPDIR": str(scratch), "HOME": str(scratch)}
        if self.kind == "docker":  # its client reads ~/.docker (registry logins), DOCKER_* (the daemon)
            env["HOME"] = os.environ.get("HOME", "/root")
            env.update({k: v for k, v in os.environ.items() if k.startswith("DOCKER_")})
            if os.environ.get("NEBHX_DOCKER_HOST"):
                env["DOCKER_HOST"] = os.environ["NEBHX_DOCKER_HOST"]
            return env
        self._write_conf()
        return {**env, "CONTAINERS_CONF": str(self.root / "containers.conf"),
                "CONTAINERS_STORAGE_CONF": str(self.root / "storage.conf")}

    def run(self, *args: str, ctx: Context | None = None, timeout: float = 600,
            check: bool = True, env: dict[str, str] | None = None):
        return shell.run([self.kind, *args], ctx=ctx, timeout=timeout, check=check,
                         env={**self.env(), **(env or {})})

    def version(self) -> str:
        proc = self.run("--version", check=False, timeout=30)
        return (proc.stdout or proc.stderr).strip() or "unknown"

    # -- images -----------------------------------------------------------------------
    def inspect(self, ref: str) -> set[str] | None:
        """Every digest naming the image ``ref`` (its id and its repo digests); None when
        the engine's store does not hold it."""
        proc = self.run("image", "inspect", ref, check=False, timeout=60)
        if proc.returncode != 0:
            return None
        found = set()
        for image in json.loads(proc.stdout or "[]"):
            found.add(image.get("Id", "").removeprefix("sha256:"))
            found.add((image.get("Digest") or "").removeprefix("sha256:"))
            found.update(d.rsplit("@sha256:", 1)[-1] for d in image.get("RepoDigests") or [])
        return {d for d in found if d}

    def resolve(self, name: str, digest: str) -> str | None:
        """The reference under which the store holds ``name`` with ``digest`` (a repo digest,
        ``NAME@sha256:HEX``, or the image id); None when it does not."""
        by_name, by_id = f"{name}@sha256:{digest}", f"sha256:{digest}"
        # docker names a local build by its id, an image pulled from a registry by its
        # manifest digest (a repo digest), like podman.
        for ref in (by_name, by_id) if self.kind == "podman" else (by_id, by_name):
            found = self.inspect(ref)
            if found and digest in found:
                return ref if ref.startswith(name) else digest
        return None

    def save(self, ref: str, out: Path, ctx: Context | None = None) -> None:
        fmt = ["--format", "oci-archive"] if self.kind == "podman" else []
        self.run("save", *fmt, "-o", str(out), ref, ctx=ctx, timeout=1800)

    def load(self, archive: Path, ctx: Context | None = None) -> None:
        self.run("load", "-i", str(archive), ctx=ctx, timeout=1800)

    def pull(self, name: str, digest: str, ctx: Context | None = None,
             login: RegistryLogin | None = None) -> None:
        """Pull ``name@sha256:digest``, logged in with ``login`` when the registry needs it
        (through a private file, see nebhx.runtime.registries)."""
        with pull_access(self.kind, name, login) as (args, env):
            proc = self.run("pull", *args, f"{name}@sha256:{digest}", ctx=ctx, timeout=1800,
                            check=False, env=env)
        if proc.returncode != 0:
            msg = pull_failure(name, login, proc.stderr or proc.stdout or "", ctx.mask if ctx else None)
            raise BrickFailed(ctx.mask(msg) if ctx else msg)  # as shell.run masks a failure

    # -- containers as supervised programs -----------------------------------------------
    def run_command(self, *, container: str, image: str, args: str, env_keys: list[str],
                    volumes: list[tuple[str, str, bool]]) -> str:
        """The foreground ``run`` line supervisord keeps alive. ``--replace`` (podman) takes
        over a container a killed run left behind; ``--init`` lets TERM stop an app that is
        PID 1 (busybox httpd ignores it there); ``-e KEY`` without a value passes the
        program's environment on, so no value is on the command line."""
        cmd = [self.kind, "run", "--rm", "--init", "--name", container, "--network", "host"]
        if self.kind == "podman":
            cmd.insert(3, "--replace")
        for src, dest, ro in volumes:
            cmd += ["-v", f"{src}:{dest}{':ro' if ro else ''}"]
        for key in sorted(env_keys):
            cmd += ["-e", key]
        if self.kind == "docker":
            # docker has no --replace: a client killed by supervisord leaves its container (and
            # the name) behind; remove it first. The run line goes on as sh's arguments, unparsed.
            cmd = ["sh", "-c", 'docker rm --force "$0" >/dev/null 2>&1; exec "$@"', container, *cmd]
        return " ".join(shlex.quote(c) for c in [*cmd, image]) + (f" {args}" if args else "")


def archive_digest(archive: Path, kind: str = "podman") -> str:
    """The digest an image archive holds, checked against its bytes: an OCI archive's
    manifest digest (index.json), a docker archive's config digest (manifest.json)."""
    try:
        with tarfile.open(archive) as tar:
            names = set(tar.getnames())
            if "index.json" in names:
                index = json.load(tar.extractfile("index.json"))
                digest = index["manifests"][0]["digest"].removeprefix("sha256:")
                blob = f"blobs/sha256/{digest}"
            else:
                manifest = json.load(tar.extractfile("manifest.json"))
                blob = manifest[0]["Config"]
                digest = Path(blob).name.removesuffix(".json")
            data = tar.extractfile(blob).read()
    except (OSError, KeyError, IndexError, ValueError, TypeError, AttributeError, tarfile.TarError) as exc:
        raise BrickFailed(f"{archive.name} is not an OCI or docker image archive: {exc}") from exc
    if hashlib.sha256(data).hexdigest() != digest:
        raise BrickFailed(f"{archive.name}: its manifest does not hash to the digest it claims")
    return digest
