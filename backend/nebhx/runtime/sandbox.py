"""Builds run in a sandbox: bubblewrap (``bwrap``), another user, their own namespaces.

What a build (build.script, build.python's backend and pip) gets:

- its own PID, IPC, UTS and mount namespaces: /proc shows only the build's processes, so
  no ``/proc/$PPID/environ`` of the worker; its own network namespace, with a way out
  (slirp4netns, not to this machine's loopback: runtime/buildnet.py) only when the
  recipe declares it needs the network;
- user ``nbx-build`` (made on first use) when the worker is root, with no_new_privs;
  a worker that is not root runs it in a user namespace as itself;
- the machine read-only, but the control plane's files (NEBHX_HOME with the store and the
  builds, the key file's folder, a SQLite store's folder), /tmp, /var/tmp and /run are
  empty tmpfs, and so is any folder on the way to a needed path that the build user could
  not pass; only the checkout, the output folder and an empty HOME are bound back
  writable (given to the build user), and what the build must read (the worker's Python,
  local folders named in pip_args) read-only;
- exactly the environment the brick gives it.
"""
from __future__ import annotations

import os
import pwd
import shutil
from pathlib import Path

from nebhx.runtime.buildnet import resolv_conf
from nebhx.bricks.base import BrickFailed
from nebhx.runtime.accounts import ensure_user
from nebhx.runtime.launch import covers, exposed, own, under
from nebhx.settings import get_settings

BUILD_USER = "nbx-build"
SCRATCH = ("/tmp", "/var/tmp", "/run")


def control_plane_files() -> list[str]:
    """Folders of the control plane a build must not see."""
    settings = get_settings()
    found = [settings.home, settings.secret_key_file.parent]
    if settings.db_url.startswith("sqlite:///"):
        found.append(Path(settings.db_url.removeprefix("sqlite:///")).parent)
    return [str(p) for p in found]


def passage(top: list[str], paths: list[str]) -> list[str]:
    """The folders between a cover and each path bound under it, outermost first."""
    found: dict[str, None] = {}
    for path in paths:
        for cover in (c for c in top if under(path, c) and path != c):
            parts = Path(path).relative_to(cover).parts[:-1]
            for i in range(1, len(parts) + 1):
                found[str(Path(cover, *parts[:i]))] = None
    return sorted(found, key=lambda f: f.count("/"))


def wrap(argv: list[str], *, cwd: Path, env: dict[str, str], writable: list[Path],
         readable: list[str] = (), expose: list[str] = (), network: bool = False) -> list[str]:
    """``argv`` as bwrap runs it in the sandbox (see the module's docstring)."""
    hide = [*SCRATCH, *control_plane_files()]
    rw = [os.path.realpath(p) for p in writable]
    ro = [os.path.realpath(p) for p in readable if os.path.exists(p)]
    ro += [shown for exe in expose for shown in exposed(exe, hide)]
    # Its own network namespace even with network: buildnet gives it a way out, not loopback.
    args = [*_bwrap(), "--unshare-cgroup-try", "--unshare-net"]
    root = os.geteuid() == 0
    if root:
        ensure_user(BUILD_USER)
        user = pwd.getpwnam(BUILD_USER)
        uid, gid = user.pw_uid, user.pw_gid
        for path in rw:
            own(path, uid, gid)
        # setpriv inside needs these two to become the build user; it drops them with root.
        args += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    else:
        uid, gid = os.geteuid(), os.getegid()
        args.append("--unshare-user")
    args += _views(hide, ro, rw, uid, gid)
    resolv = resolv_conf(get_settings().home / "sandbox") if network else None
    if resolv:
        args += ["--ro-bind", str(resolv), "/etc/resolv.conf"]
    args += _env_cwd(env, cwd)
    if root:
        args += [shutil.which("setpriv") or "/usr/bin/setpriv", f"--reuid={uid}", f"--regid={gid}",
                 "--init-groups", "--no-new-privs", "--"]
    return args + list(argv)


def wrap_engine(argv: list[str], *, cwd: Path, env: dict[str, str], writable: list[str],
                readable: list[str] = ()) -> list[str]:
    """A container engine's build (podman) as bwrap runs it: as root with the capabilities
    a rootful engine needs (it mounts its layers, makes the RUN steps' network), but in its
    own PID, IPC, UTS and mount namespaces, the control plane's files covered as for a
    build, only its store, the cgroups and ``writable`` writable. A RUN step that escapes
    into the engine's view of the machine (a bind mount through a symlink, CVE-2024-1753,
    which podman 4.3 here still has) finds neither the control plane's files nor its
    processes. Run it with an empty environment: bwrap's PID 1 keeps the caller's."""
    hide = [*SCRATCH, *control_plane_files()]
    rw = [os.path.realpath(p) for p in writable] + ["/sys/fs/cgroup"]
    ro = [os.path.realpath(p) for p in readable if os.path.exists(p)]
    args = [*_bwrap(), "--cap-add", "ALL"]
    return args + _views(hide, ro, rw, 0, 0) + _env_cwd(env, cwd) + list(argv)


def _bwrap() -> list[str]:
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise BrickFailed("builds run in a sandbox and bubblewrap is not installed on the control "
                          "plane's worker: apt-get install -y bubblewrap")
    return [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-pid",
            "--unshare-ipc", "--unshare-uts", "--die-with-parent", "--clearenv"]


def _views(hide: list[str], ro: list[str], rw: list[str], uid: int, gid: int) -> list[str]:
    """Empty tmpfs over ``hide`` (and what ``uid`` could not pass), ``ro`` and ``rw`` bound back."""
    gids = set(os.getgrouplist(pwd.getpwuid(uid).pw_name, gid))
    top = covers(hide, ro + rw, uid, gids)
    shown = [p for p in dict.fromkeys(ro) if any(under(p, c) for c in top)]
    args = []
    for folder in top:  # a scratch folder stays writable for all, as tempfile expects
        args += ["--perms", "1777" if folder in SCRATCH else "0755", "--tmpfs", folder]
    for folder in passage(top, [*shown, *rw]):
        args += ["--perms", "0755", "--dir", folder]  # bwrap would copy the hidden folders' modes
    for path in shown:
        args += ["--ro-bind", path, path]
    for path in rw:
        args += ["--bind", path, path]
    return args


def _env_cwd(env: dict[str, str], cwd: Path) -> list[str]:
    args = []
    for key, value in env.items():
        args += ["--setenv", key, value]
    return args + ["--chdir", str(cwd), "--"]
