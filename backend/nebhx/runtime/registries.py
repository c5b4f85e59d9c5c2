"""Logging in to a private registry for one pull, without the password on a command line.

The credentials are a Nebh-X secret handed to the brick; for the length of one ``pull`` they
are written to a file only root can read, in a fresh 0700 folder that is removed right after:

- podman: ``--authfile FILE`` (containers-auth.json), and ``--cert-dir DIR`` holding the
  registry's CA as ``ca.crt`` when ``ca_file`` is given (a self-signed registry);
- docker: ``DOCKER_CONFIG=DIR`` with ``DIR/config.json``. docker's daemon, not its client,
  checks the registry's certificate (``/etc/docker/certs.d/HOST/ca.crt``), so ``ca_file``
  is refused there rather than silently ignored.

Neither file path carries the secret, so the ``$ podman pull ...`` line in the log is safe.
"""
from __future__ import annotations

import base64
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from nebhx.bricks.errors import BrickFailed
from nebhx.sealing.masking import excerpt


@dataclass(frozen=True)
class RegistryLogin:
    """A user and password for the registry an image is pulled from (``ca_file``: a PEM CA
    to trust for that registry's TLS certificate)."""
    username: str
    password: str = field(repr=False)
    ca_file: Path | None = None

    @classmethod
    def from_inputs(cls, username: str | None, password, ca_file: str | None) -> RegistryLogin | None:
        """From a brick's inputs (``password`` a Secret); None when none are given."""
        secret = password.get_secret_value() if password is not None else ""
        if not (username or secret or ca_file):
            return None
        if bool(username) != bool(secret):
            raise BrickFailed("registry_username and registry_password go together: give both "
                              "(the password as a secret) or neither")
        ca = Path(ca_file) if ca_file else None
        if ca is not None and not ca.is_file():
            raise BrickFailed(f"registry_ca {ca_file!r} is not a file on this host (a PEM CA certificate)")
        return cls(username or "", secret, ca)


def registry_host(name: str) -> str:
    """The registry an image name points at: its first part when that is a host
    (``127.0.0.1:5000/app`` -> ``127.0.0.1:5000``), else Docker Hub's."""
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return first
    return "docker.io"


@contextmanager
def pull_access(kind: str, name: str, login: RegistryLogin | None) -> Iterator[tuple[list[str], dict[str, str]]]:
    """(extra arguments, extra environment) for ``KIND pull`` of ``name`` with ``login``;
    the files they name exist only inside the ``with``."""
    if login is None:
        yield [], {}
        return
    if kind == "docker" and login.ca_file:
        raise BrickFailed("docker trusts a registry's CA through its daemon "
                          f"(/etc/docker/certs.d/{registry_host(name)}/ca.crt), not per pull: "
                          "leave registry_ca empty with engine docker")
    folder = Path(tempfile.mkdtemp(prefix="nebhx-registry-"))  # 0700, fresh each pull
    try:
        auths = {}
        if login.username:
            token = base64.b64encode(f"{login.username}:{login.password}".encode()).decode()
            auths[registry_host(name)] = {"auth": token}
        args: list[str] = []
        env: dict[str, str] = {}
        if kind == "docker":
            _write_private(folder / "config.json", json.dumps({"auths": auths}))
            env["DOCKER_CONFIG"] = str(folder)
        else:
            _write_private(folder / "auth.json", json.dumps({"auths": auths}))
            args += ["--authfile", str(folder / "auth.json")]
            if login.ca_file:
                (folder / "certs").mkdir()
                shutil.copyfile(login.ca_file, folder / "certs" / "ca.crt")
                args += ["--cert-dir", str(folder / "certs")]
        yield args, env
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to a new file that is 0600 from its first byte."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)


def pull_failure(name: str, login: RegistryLogin | None, detail: str,
                 mask: Callable[[str], str] | None = None) -> str:
    """Why a pull failed, naming the registry (``detail`` is the engine's stderr, masked
    with ``mask`` before it is cut)."""
    host, low = registry_host(name), detail.lower()
    if "unauthorized" in low or "authentication required" in low or "401" in low:
        who = f"user {login.username!r}" if login and login.username else "an anonymous pull"
        return (f"registry {host} refused {who} for {name}: wrong or missing credentials "
                "(check registry_username and the registry_password secret)")
    if "x509" in low or "certificate" in low:
        return (f"registry {host}'s TLS certificate is not trusted on this host: give its CA "
                f"as registry_ca ({excerpt(detail, 300, mask)})")
    return f"pulling {name} from registry {host} failed: {excerpt(detail, 800, mask)}"
