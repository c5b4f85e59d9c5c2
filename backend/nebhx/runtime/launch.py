"""Start one supervised program with exactly its declared environment, as its own user,
seeing of the host's private folders only what it needs; then ``exec`` it (same pid).

supervisord runs ``python -I -S launch.py OPTIONS -- COMMAND...`` as root. This file uses
the standard library only (it runs without the package on ``sys.path``).

- environment: cleared, then PATH, LANG, HOME, USER, LOGNAME and the variables named by
  ``--keep`` (their values come from supervisord's ``environment=`` line, never argv);
- ``--user``: with a user other than root, in a private mount namespace:
  each ``--hide`` folder (the host's home, the agent's home) and each folder on the way to
  a needed path that the user could not pass through is covered with an empty tmpfs, and
  only the needed paths are bound back at the same place: ``--ro`` read-only (release,
  config, the command's interpreter), ``--rw`` read-write (data, chowned to the user);
  ``/proc`` shows only the user's own processes; then groups, gid, uid and no_new_privs.
"""
from __future__ import annotations

import ctypes
import os
import pwd
import stat
import sys

CLONE_NEWNS = 0x00020000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
PR_SET_NO_NEW_PRIVS = 38
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    enc = lambda s: s.encode() if s is not None else None  # noqa: E731
    _check(_libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data)), f"mount {target}")


def parse(argv: list[str]) -> tuple[dict[str, list[str]], list[str]]:
    opts: dict[str, list[str]] = {k: [] for k in ("user", "ro", "rw", "hide", "keep", "cwd", "home")}
    i = 0
    while i < len(argv) and argv[i] != "--":
        opts[argv[i].lstrip("-")].append(argv[i + 1])
        i += 2
    return opts, argv[i + 1:]


def passable(path: str, uid: int, gids: set[int]) -> bool:
    """Whether ``uid`` may pass through the folder ``path`` (its x bit for that user)."""
    st = os.stat(path)
    if st.st_uid == uid:
        return bool(st.st_mode & stat.S_IXUSR)
    if st.st_gid in gids:
        return bool(st.st_mode & stat.S_IXGRP)
    return bool(st.st_mode & stat.S_IXOTH)


def blocked_at(path: str, uid: int, gids: set[int]) -> str | None:
    """The highest folder above ``path`` the user cannot pass through, if any."""
    parts = path.strip("/").split("/")
    for i in range(len(parts)):
        folder = "/" + "/".join(parts[:i])
        if os.path.isdir(folder) and not passable(folder, uid, gids):
            return folder
    return None


def which(name: str, path: str) -> str:
    """The program ``name`` as ``execvp`` would find it on ``path`` (resolved here, before
    the covers go up: this interpreter's own library may be hidden after)."""
    if "/" in name:
        return name
    return next((os.path.join(d, name) for d in path.split(":") if os.access(os.path.join(d, name), os.X_OK)),
                name)


def executables(command: list[str], path: str) -> list[str]:
    """The command's program and, for a script, its interpreter (a ``#!`` line, or a venv's
    base Python for a script in a venv's bin/, whatever its first line looks like)."""
    found = which(command[0], path)
    if not os.path.exists(found):
        return []
    seen = [found, os.path.realpath(found)]
    try:
        with open(found, "rb") as fh:
            head = fh.readline(256)
        if head.startswith(b"#!") and head[2:].split():
            seen.append(head[2:].decode(errors="replace").split()[0])
    except OSError:
        pass
    for exe in list(seen):
        cfg = os.path.join(installation(os.path.abspath(exe)), "pyvenv.cfg")
        try:
            with open(cfg) as fh:
                home = next((v.strip() for k, _, v in (line.partition("=") for line in fh) if k.strip() == "home"), "")
        except OSError:
            continue
        seen += [os.path.join(home, n) for n in ("python3", "python") if os.path.exists(os.path.join(home, n))][:1]
    return seen


def installation(exe: str) -> str:
    """The folder an executable is installed in: ``P`` for ``P/bin/x``, else its folder."""
    folder = os.path.dirname(exe)
    return os.path.dirname(folder) if os.path.basename(folder) in ("bin", "sbin") else folder


def exposed(exe: str, hide: list[str]) -> list[str]:
    """What to show of an executable, as named and resolved: its installation folder (a
    Python under /root/.pyenv needs its lib/, a venv its site-packages), or the file alone
    where that folder holds a hidden one."""
    hidden = [os.path.realpath(h) for h in hide]
    shown = []
    for path in (os.path.abspath(exe), os.path.realpath(exe)):
        folder = installation(path)
        shown.append(path if any(under(h, folder) for h in hidden) else folder)
    return shown


def covers(hide: list[str], needed: list[str], uid: int, gids: set[int]) -> list[str]:
    """The folders to cover with an empty tmpfs: the hidden ones and every blocked
    ancestor of a needed path; none inside another."""
    found = [os.path.realpath(h) for h in hide if os.path.isdir(h)]
    found += [b for p in needed if (b := blocked_at(p, uid, gids))]
    found = sorted(set(found), key=len)
    return [c for i, c in enumerate(found)
            if not any(c == o or c.startswith(o.rstrip("/") + "/") for o in found[:i])]


def under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def own(path: str, uid: int, gid: int) -> None:
    """``path`` (and, the first time, all below it) belongs to the user."""
    st = os.lstat(path)
    if (st.st_uid, st.st_gid) == (uid, gid):
        return
    os.lchown(path, uid, gid)
    if stat.S_ISDIR(st.st_mode):
        for root, dirs, files in os.walk(path):
            for name in dirs + files:
                os.lchown(os.path.join(root, name), uid, gid)


def confine(opts: dict[str, list[str]], command: list[str], env: dict[str, str], user: pwd.struct_passwd) -> None:
    uid, gid = user.pw_uid, user.pw_gid
    gids = set(os.getgrouplist(user.pw_name, gid))
    ro = [os.path.realpath(p) for p in opts["ro"] if os.path.exists(p)]
    for exe in executables(command, env["PATH"]):
        if os.path.exists(exe):
            ro.extend(exposed(exe, opts["hide"]))
    rw = [os.path.realpath(p) for p in opts["rw"] if os.path.exists(p)]
    for path in rw:
        own(path, uid, gid)
    _check(_libc.unshare(CLONE_NEWNS), "unshare")
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    top = covers(opts["hide"], ro + rw, uid, gids)
    binds = sorted({p: p in rw for p in ro + rw if any(under(p, c) for c in top)}.items(),
                   key=lambda kv: kv[0].count("/"))
    fds = {p: os.open(p, os.O_PATH) for p, _ in binds}
    for folder in top:
        mount("tmpfs", folder, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m")
    for path, writable in binds:
        if os.path.isdir(f"/proc/self/fd/{fds[path]}"):
            os.makedirs(path, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            if not os.path.exists(path):
                open(path, "a").close()
        mount(f"/proc/self/fd/{fds[path]}", path, None, MS_BIND | MS_REC)
        if not writable:
            mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
    for fd in fds.values():
        os.close(fd)
    try:
        mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=invisible")
    except OSError:  # a kernel before 5.8 knows only the number
        mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=2")
    os.setgroups(sorted(gids))
    os.setgid(gid)
    os.setuid(uid)
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")


def main(argv: list[str]) -> None:
    opts, command = parse(argv)
    keep = {k for ks in opts["keep"] for k in ks.split(",") if k}
    declared = {k: v for k, v in os.environ.items() if k in keep}
    name = (opts["user"] or [""])[0]
    user = pwd.getpwnam(name) if name else pwd.getpwuid(os.getuid())
    env = {"PATH": DEFAULT_PATH, "LANG": "C.UTF-8", "USER": user.pw_name, "LOGNAME": user.pw_name,
           "HOME": (opts["home"] or [user.pw_dir])[0]}
    env.update(declared)
    program = which(command[0], env["PATH"])
    if user.pw_uid != os.getuid():
        confine(opts, command, env, user)
        # Without a release folder it would stay in supervisord's (private) folder.
        if not opts["cwd"]:
            os.chdir(env["HOME"] if os.path.isdir(env["HOME"]) else "/")
    if opts["cwd"]:
        os.chdir(opts["cwd"][0])
    os.execve(program, command, env)


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except (OSError, KeyError, IndexError) as exc:
        print(f"nebhx launch: {exc}", file=sys.stderr)
        sys.exit(126)
