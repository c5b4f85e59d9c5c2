"""Who a supervised program runs as: its service's own system user (``nbx-<service>``,
made on first use), a user the graph names, or root when the graph asks for it.

An agent that is not root cannot switch users: its programs run as the agent's user.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import pwd
import re
import subprocess
import time
from pathlib import Path

from nebhx.bricks.errors import BrickFailed

PREFIX = "nbx-"
_LOCK = Path("/run/lock/nebhx-accounts.lock")


def default_user(service: str) -> str:
    """``nbx-<service>`` in the shape useradd accepts (lower case, at most 32 characters);
    a name that had to change gets a digest of the original, so two services never share one."""
    name = re.sub(r"[^a-z0-9_-]", "-", service.lower())
    if name != service or len(PREFIX + name) > 32:
        digest = hashlib.sha1(service.encode()).hexdigest()[:8]
        name = f"{name[:32 - len(PREFIX) - 9]}-{digest}"
    return PREFIX + name


def agent_user() -> str:
    return pwd.getpwuid(os.geteuid()).pw_name


def program_user(service: str, asked: str = "", *, param: str = "user", create: bool = True) -> str:
    """The user a program of ``service`` runs as; ``asked`` is the graph's choice ("" for
    the service's own user, "root", or an existing user's name). ``create=False`` (a plan,
    a comparison) names the service's own user without making it."""
    me = agent_user()
    if os.geteuid() != 0:
        if asked and asked != me:
            raise BrickFailed(f"{param}: this host's agent runs as {me}, not root, so it cannot start "
                              f"a program as {asked!r}; leave {param} empty")
        return me
    if asked:
        try:
            return pwd.getpwnam(asked).pw_name
        except KeyError:
            raise BrickFailed(f"{param}: there is no user {asked!r} on this host (leave it empty "
                              f"for the service's own user {default_user(service)})") from None
    name = default_user(service)
    if create:
        ensure_user(name)
    return name


def ensure_user(name: str, attempts: int = 20) -> None:
    """Make the system user ``name`` (its own group, no home, no login shell) unless it exists.

    Agents of several hosts on one machine may make users at the same moment: one at a time
    under a lock of ours, and again when useradd finds /etc/passwd locked by someone else.
    """
    if _exists(name):
        return
    _LOCK.parent.mkdir(parents=True, exist_ok=True)
    with open(_LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for _ in range(attempts):
            if _exists(name):
                return
            proc = subprocess.run(["useradd", "--system", "--user-group", "--no-create-home",
                                   "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin",
                                   "--comment", "Nebh-X service", name],
                                  capture_output=True, text=True, timeout=30)
            if proc.returncode == 0:
                return
            if proc.returncode != 10:  # 10: /etc/passwd is locked by another tool
                raise BrickFailed(f"cannot make the service user {name}: {proc.stderr.strip()}")
            time.sleep(0.2)
    raise BrickFailed(f"cannot make the service user {name}: /etc/passwd stayed locked")


def _exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False
