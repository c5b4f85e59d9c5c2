"""Builds run in a sandbox: bubblewrap (``bwrap``), another user, their own namespaces.

What a build (build.script, build.python's backend and pip) gets:

- its own PID, IPC, UTS and mount namespaces: /proc shows only the build's processes, so
  no ``/proc/$PPID/environ`` of the worker; network only when the recipe declares it;
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
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise BrickFailed("builds run in a sandbox and bubblewrap is not installed on the control "
                          "plane's worker: apt-get install -y bubblewrap")
    hide = [*SCRATCH, *control_plane_files()]
    rw = [os.path.realpath(p) for p in writable]
    ro = [os.path.realpath(p) for p in readable if os.path.exists(p)]
    ro += [shown for exe in expose for shown in exposed(exe, hide)]
    args = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-pid",
            "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--die-with-parent", "--clearenv"]
    if not network:
        args.append("--unshare-net")
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
    gids = set(os.getgrouplist(pwd.getpwuid(uid).pw_name, gid))
    top = covers(hide, ro + rw, uid, gids)
    shown = [p for p in dict.fromkeys(ro) if any(under(p, c) for c in top)]
    for folder in top:  # a scratch folder stays writable for all, as tempfile expects
        args += ["--perms", "1777" if folder in SCRATCH else "0755", "--tmpfs", folder]
    for folder in passage(top, [*shown, *rw]):
        args += ["--perms", "0755", "--dir", folder]  # bwrap would copy the hidden folders' modes
    for path in shown:
        args += ["--ro-bind", path, path]
    for path in rw:
        args += ["--bind", path, path]
    for key, value in env.items():
        args += ["--setenv", key, value]
    args += ["--chdir", str(cwd), "--"]
    if root:
        args += [shutil.which("setpriv") or "/usr/bin/setpriv", f"--reuid={uid}", f"--regid={gid}",
                 "--init-groups", "--no-new-privs", "--"]
    return args + list(argv)
