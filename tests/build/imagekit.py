"""Helpers for the container tests: a git repository holding a tiny web app and its
Containerfile, and a check that podman is ready on this machine (deps/apt.txt installs it).

No base image can be pulled here (no registry is reachable), so the image is built
``FROM scratch`` with a static busybox (Debian ``busybox-static``) as its only binary; the
app is ``busybox httpd`` serving the release's files, and a start script that appends the
version to ``history.txt`` in the data volume (how each release leaves its mark on the data).
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from buildkit import git
from support import require

CONTAINERFILE = """\
# FROM scratch: no base image can be pulled on this machine; busybox-static is the only binary.
FROM scratch
COPY busybox /bin/busybox
COPY www /www
COPY start.sh /start.sh
ENTRYPOINT ["/bin/busybox", "sh", "/start.sh"]
"""
# sh built-ins only: a FROM scratch image has no /bin/cat. $1 is the port, the data volume
# is mounted at /www/data so httpd serves what the releases wrote there.
START = """\
read version < /www/VERSION
echo "$version" >> /www/data/history.txt
echo "${GREETING:-}" > /www/greeting.txt
exec /bin/busybox httpd -f -p "$1" -h /www
"""


def ready_podman() -> None:
    """podman with runc (crun refuses this machine's hybrid cgroups) and a static busybox.

    Checked, never installed: ./dev test installs deps/apt.txt (the `podman_ready` fixture)."""
    require("podman", "podman")
    require("runc", "runc")
    busybox = require("busybox", "busybox-static")
    out = subprocess.run(["file", "-L", busybox], capture_output=True, text=True).stdout
    if "statically linked" not in out:
        raise RuntimeError(f"busybox is not static ({out.strip()}): apt-get install -y busybox-static")


def write_app(clone: Path, version: str) -> None:
    www = clone / "www"
    www.mkdir(parents=True, exist_ok=True)
    (www / "VERSION").write_text(version + "\n")
    (www / "health").write_text("ok\n")
    (clone / "start.sh").write_text(START)
    (clone / "Containerfile").write_text(CONTAINERFILE)
    shutil.copy2(shutil.which("busybox"), clone / "busybox")


def image_repo(tmp: Path, version: str = "v1") -> tuple[Path, Path]:
    """A bare repository and its clone holding the app at ``version`` on main; (bare, clone)."""
    bare, clone = tmp / "img.git", tmp / "img-clone"
    git("init", "--quiet", "--bare", "--initial-branch=main", str(bare), cwd=tmp)
    git("init", "--quiet", "--initial-branch=main", str(clone), cwd=tmp)
    write_app(clone, version)
    git("add", "-A", cwd=clone)
    git("commit", "--quiet", "-m", f"app {version}", cwd=clone)
    git("remote", "add", "origin", str(bare), cwd=clone)
    git("push", "--quiet", "origin", "main", cwd=clone)
    return bare, clone


def commit_app(clone: Path, version: str, containerfile: str | None = None) -> str:
    write_app(clone, version)
    if containerfile is not None:
        (clone / "Containerfile").write_text(containerfile)
    git("add", "-A", cwd=clone)
    git("commit", "--quiet", "-m", f"app {version}", cwd=clone)
    git("push", "--quiet", "origin", "main", cwd=clone)
    return git("rev-parse", "HEAD", cwd=clone)


def remove_containers(home: Path) -> None:
    """Remove the podman stores of the homes under ``home``, containers and images (they live
    outside the test's folder, see nebhx.runtime.containers)."""
    from nebhx.runtime.containers import Engine
    for root in home.glob("**/containers/podman"):
        if (root / "storage.conf").is_file():
            # Not `system reset`: it also drops podman networks, which the machine shares.
            engine = Engine(root)
            engine.run("rm", "--force", "--all", check=False, timeout=120)
            engine.run("rmi", "--force", "--all", check=False, timeout=120)
            for path in engine.store_paths():
                if (path / "overlay").is_mount():  # c/storage bind-mounts its overlay folder
                    subprocess.run(["umount", str(path / "overlay")], capture_output=True)
                shutil.rmtree(path, ignore_errors=True)
