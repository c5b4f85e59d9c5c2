"""systemd unit files for a program, generated from typed values.

Every value that reaches a unit file goes through one of the writers below, which either
escape it for the place it lands in or refuse it with the field's name: a unit file is
line based (a newline, a trailing backslash or a ``[Section]`` line would add settings of
the caller's choosing), expands ``%`` specifiers everywhere and ``$VAR`` in command lines.

The environment is not written into the unit at all: any local user can read a unit's
``Environment=`` through ``systemctl show``. It goes to an ``EnvironmentFile=`` (mode 600,
root's) that systemd reads itself before it starts the program. What the program gets is
exactly launch.py's set: PATH, LANG, HOME, USER, LOGNAME plus the declared variables;
the variables systemd adds on its own are unset unless declared.
"""
from __future__ import annotations

import os
import pwd
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from nebhx.bricks.errors import BrickFailed
from nebhx.runtime.launch import DEFAULT_PATH, covers, executables, exposed
from nebhx.runtime.process import ENV_KEY_RE, NAME_RE, ProgramSpec

# Anything systemd itself puts into a service's environment (systemd.exec(5)).
SYSTEMD_ADDS = ("INVOCATION_ID", "JOURNAL_STREAM", "SYSTEMD_EXEC_PID", "SHELL", "MAINPID",
                "MANAGERPID", "LISTEN_FDS", "LISTEN_PIDS", "NOTIFY_SOCKET", "WATCHDOG_PID",
                "WATCHDOG_USEC", "RUNTIME_DIRECTORY", "LOG_NAMESPACE", "TERM")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# A path in a unit: BindPaths= splits on ':' and spaces, every setting expands '%'.
_PATH = re.compile(r"^/[A-Za-z0-9_./@+=,~-]*$")
_SIZE = re.compile(r"^[1-9][0-9]{0,12}[KMGT]?$")
_BARE_EXE = re.compile(r"^[A-Za-z0-9_.][A-Za-z0-9_.+-]*$")
SEPARATOR = "### "


@dataclass
class UnitSpec(ProgramSpec):
    """A program as systemd runs it: ProgramSpec plus the settings only systemd offers."""
    restart: Literal["always", "on-failure", "no"] | None = None  # None: from autorestart
    memory_max: str | None = None  # bytes with an optional K/M/G/T suffix, e.g. "256M"
    cpu_quota: int | None = None  # percent of one CPU, e.g. 50 or 200
    live_command: str | None = None  # run every live_interval_s; a failure restarts the program
    live_interval_s: int = 10


def refuse(field: str, value: str) -> str:
    if _CONTROL.search(value):
        raise BrickFailed(f"{field}: {value[:60]!r} could break out of its unit file line "
                          "(a newline or other control character)")
    return value


def path_value(field: str, value: str) -> str:
    """A path for a unit: absolute, and only characters that mean nothing to systemd."""
    refuse(field, value)
    if not _PATH.match(value):
        raise BrickFailed(f"{field}: {value[:60]!r} cannot go into a systemd unit: an absolute path "
                          "of letters, digits and _ . / @ + = , ~ - only (no spaces, quotes, ':' or '%')")
    return value


def quoted_word(field: str, word: str) -> str:
    """One argument of an ``Exec*=`` line: double quoted, with C escapes for ``\\`` and
    ``"``, ``$$`` so no variable is expanded and ``%%`` so no specifier is."""
    refuse(field, word)
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"').replace("$", "$$").replace("%", "%%") + '"'


def exec_line(field: str, command: str) -> str:
    """A command line (split like supervisord splits it, no shell) as an ``Exec*=`` value.
    The program is an absolute path or a bare name: never one of systemd's prefixes
    (``-``, ``@``, ``+``, ``!``, ``:``), which change how it runs."""
    refuse(field, command)
    try:
        words = shlex.split(command)
    except ValueError as exc:
        raise BrickFailed(f"{field}: {exc} in {command[:60]!r}") from exc
    if not words:
        raise BrickFailed(f"{field}: empty command")
    if not (words[0].startswith("/") or _BARE_EXE.match(words[0])):
        raise BrickFailed(f"{field}: program {words[0][:60]!r} must be an absolute path or a plain name")
    if words[0].startswith("/"):
        path_value(f"{field} (its program)", words[0])
    return " ".join([words[0], *(quoted_word(field, w) for w in words[1:])])


def env_file_text(field: str, env: dict[str, str]) -> str:
    """An ``EnvironmentFile=``: ``KEY="value"`` lines with ``\\``, ``"``, ``$`` and `` ` ``
    escaped (systemd's parser reads a double-quoted value like a shell, without expansion)."""
    lines = []
    for key, value in sorted(env.items()):
        if not ENV_KEY_RE.match(key):
            raise BrickFailed(f"{field}: bad environment variable name {key!r}")
        refuse(f"{field} {key}", value)
        escaped = re.sub(r'([\\"$`])', r"\\\1", value)
        lines.append(f'{key}="{escaped}"')
    return "\n".join(lines) + ("\n" if lines else "")


def unit_name(prefix: str, name: str, kind: str = "service") -> str:
    if not NAME_RE.match(name):
        raise BrickFailed(f"name: bad program name {name!r}: letters, digits, '_', '.', '-' only")
    return f"{prefix}{name}.{kind}"


def live_unit(prefix: str, name: str, kind: str = "service") -> str:
    """The liveness check's unit, ``<prefix>_live-<name>``: a program's name never starts
    with ``_``, so no program (``live-web`` say) can share it."""
    unit_name(prefix, name, kind)
    return f"{prefix}_live-{name}.{kind}"


def sandbox_lines(spec: UnitSpec) -> list[str]:
    """launch.py's confinement, said to systemd: the hidden folders and every folder on the
    way to a needed path that the user cannot pass through (launch.covers) under an empty
    tmpfs, the needed paths (and the program's interpreter when it lives there) bound back."""
    if not spec.user or spec.user == "root":
        return []
    read = [*spec.read]
    try:
        for exe in executables(shlex.split(spec.command), DEFAULT_PATH):
            read += exposed(exe, spec.hide)
    except ValueError:
        pass  # exec_line refuses the command with its reason
    try:
        user = pwd.getpwnam(spec.user)
        uid, gids = user.pw_uid, set(os.getgrouplist(user.pw_name, user.pw_gid))
    except KeyError:  # a plan names the service's own user before it is made: one in no group
        uid, gids = -1, set()
    top = covers(spec.hide, [*read, *spec.write], uid, gids)
    inside = lambda p, folders: any(p == f or p.startswith(f.rstrip("/") + "/") for f in folders)  # noqa: E731
    lines = [f"TemporaryFileSystem={path_value('a hidden folder', c)}:mode=0755" for c in top]
    lines += [f"BindReadOnlyPaths=-{path_value('a path the program reads', p)}"
              for p in dict.fromkeys(read) if inside(p, top) and not inside(p, spec.write)]
    lines += [f"BindPaths={path_value('a path the program writes', p)}" for p in spec.write]
    return [*lines, "ProtectProc=invisible", "NoNewPrivileges=yes"]


def render_service(spec: UnitSpec, prefix: str, env_file: Path) -> str:
    """The main ``.service`` unit; every value typed and checked (see the module's doc)."""
    unit_name(prefix, spec.name)
    restart = spec.restart or ("always" if spec.autorestart else "no")
    if restart not in ("always", "on-failure", "no"):
        raise BrickFailed(f"restart: {restart!r} is not always, on-failure or no")
    user = refuse("user", spec.user or "root")
    if not re.match(r"^[a-z_][a-z0-9_.-]*$", user):
        raise BrickFailed(f"user: {user!r} is not a user name")
    home = spec.write[0] if spec.write else ("/root" if user == "root" else "/")
    lines = [
        "[Unit]", f"Description=Nebh-X program {spec.name}",
        f"StartLimitIntervalSec={max(10, 10 * (int(spec.start_retries) + 1))}",
        f"StartLimitBurst={int(spec.start_retries) + 1}",
        f"X-NebhxStartSecs={int(spec.start_secs)}",
        "", "[Service]", "Type=exec", f"ExecStart={exec_line('command', spec.command)}",
        f"User={user}",
        f"WorkingDirectory={path_value('cwd', spec.cwd)}" if spec.cwd else f"WorkingDirectory={home}",
        f"Environment=PATH={DEFAULT_PATH} LANG=C.UTF-8 HOME={path_value('a path the program writes (its HOME)', home)}",
        f"EnvironmentFile={path_value('environment file', str(env_file))}",
        "UnsetEnvironment=" + " ".join(k for k in SYSTEMD_ADDS if k not in spec.env),
        f"Restart={restart}", "RestartSec=1",
        f"TimeoutStopSec={max(1, int(spec.stop_wait_s))}", "KillMode=control-group",
        f"MemoryMax={_size(spec.memory_max)}" if spec.memory_max else None,
        f"CPUQuota={_percent(spec.cpu_quota)}%" if spec.cpu_quota is not None else None,
        *sandbox_lines(spec),
        "", "[Install]", "WantedBy=multi-user.target",
    ]
    return "\n".join(line for line in lines if line is not None) + "\n"


def render_liveness(spec: UnitSpec, prefix: str) -> dict[str, str]:
    """The timer check: ``<prefix>_live-<name>.timer`` runs ``live_command`` every ``live_interval_s``
    while the program runs; when it fails, the check's ExecStopPost restarts the program."""
    if not spec.live_command:
        return {}
    main = unit_name(prefix, spec.name)
    live = live_unit(prefix, spec.name)
    interval = int(spec.live_interval_s)
    if not 1 <= interval <= 86400:
        raise BrickFailed(f"live_interval_s: {interval} is not between 1 and 86400 seconds")
    service = "\n".join([
        "[Unit]", f"Description=Nebh-X liveness check of {spec.name}", f"After={main}", "",
        "[Service]", "Type=oneshot", f"ExecStart={exec_line('live_command', spec.live_command)}",
        f"User={spec.user or 'root'}", f"TimeoutStartSec={interval}",
        # The name is NAME_RE-checked: it cannot leave the quotes.
        f"ExecStopPost=/bin/sh -c 'test \"$$SERVICE_RESULT\" = success || systemctl restart --no-block {main}'",
    ]) + "\n"
    timer = "\n".join([
        "[Unit]", f"Description=Nebh-X liveness timer of {spec.name}", f"PartOf={main}", "",
        "[Timer]", f"OnActiveSec={interval}", f"OnUnitActiveSec={interval}", "AccuracySec=1",
        f"Unit={live}", "", "[Install]", f"WantedBy={main}",
    ]) + "\n"
    return {live: service, live_unit(prefix, spec.name, "timer"): timer}


def _size(value: str) -> str:
    value = refuse("memory_max", str(value)).strip()
    if not _SIZE.match(value):
        raise BrickFailed(f"memory_max: {value[:30]!r} is not a size such as 268435456, 512M or 2G")
    return value


def _percent(value: int) -> int:
    if not isinstance(value, int) or not 1 <= value <= 100 * 1024:
        raise BrickFailed(f"cpu_quota: {value!r} is not a percentage of one CPU between 1 and 102400")
    return value
