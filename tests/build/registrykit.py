"""A private registry on loopback for the tests: Debian's ``docker-registry`` (distribution 2.8)
with htpasswd auth (bcrypt, ``htpasswd -B``) and TLS with a self-signed certificate made by
``openssl`` here. Never installed by a test (deps/apt.txt lists them): missing, it fails loudly.

The password never reaches a command line: ``htpasswd -i`` reads it from stdin and the test's
own pushes log in through an auth file, as the product does.
"""
from __future__ import annotations

import json
import secrets
import socket
import subprocess
import time
from base64 import b64encode
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from imagekit import remove_containers, write_app
from support import free_port, require

USER = "deployer"


@dataclass
class Registry:
    host: str  # 127.0.0.1:PORT
    ca: Path  # the self-signed certificate, trusted as the CA
    proc: subprocess.Popen
    log: Path

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


def start_registry(folder: Path, password: str) -> Registry:
    require("docker-registry", "docker-registry")
    require("htpasswd", "apache2-utils")
    require("openssl", "openssl")
    folder.mkdir(parents=True, exist_ok=True)
    crt, key = folder / "registry.crt", folder / "registry.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(crt)], check=True, capture_output=True)
    subprocess.run(["htpasswd", "-B", "-i", "-c", str(folder / "htpasswd"), USER], input=password,
                   text=True, check=True, capture_output=True)
    port = free_port()
    config = {"version": 0.1, "log": {"level": "info"},
              "storage": {"filesystem": {"rootdirectory": str(folder / "data")}},
              "http": {"addr": f"127.0.0.1:{port}", "tls": {"certificate": str(crt), "key": str(key)}},
              "auth": {"htpasswd": {"realm": "nebhx-test", "path": str(folder / "htpasswd")}}}
    (folder / "config.yml").write_text(json.dumps(config))  # YAML reads JSON
    log = folder / "registry.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(["docker-registry", "serve", str(folder / "config.yml")],
                                stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"docker-registry exited {proc.returncode}: {log.read_text()[-1500:]}")
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return Registry(f"127.0.0.1:{port}", crt, proc, log)
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"docker-registry did not listen on 127.0.0.1:{port} in 30 s: {log.read_text()[-1500:]}")


def push(engine, image: str, registry: Registry, password: str, name: str, folder: Path) -> str:
    """Push the local ``image`` as ``HOST/name:latest`` through an auth file; its manifest digest."""
    auth = folder / "push-auth.json"
    token = b64encode(f"{USER}:{password}".encode()).decode()
    auth.write_text(json.dumps({"auths": {registry.host: {"auth": token}}}))
    auth.chmod(0o600)
    certs = folder / "push-certs"
    certs.mkdir(exist_ok=True)
    (certs / "ca.crt").write_bytes(registry.ca.read_bytes())
    digest = folder / "digest"
    try:
        engine.run("push", "--authfile", str(auth), "--cert-dir", str(certs), "--digestfile", str(digest),
                   image, f"docker://{registry.host}/{name}:latest", timeout=300)
    finally:
        auth.unlink()
    return digest.read_text().strip().removeprefix("sha256:")


@contextmanager
def pushed_image(folder: Path):
    """A registry serving ``team/regweb`` (the imagekit app, built FROM scratch by a podman
    store of its own and pushed); (registry, password, manifest digest)."""
    from nebhx.runtime.containers import Engine
    password = f"pw-{secrets.token_hex(12)}"
    reg = start_registry(folder / "srv", password)
    try:
        builder = Engine(folder / "builder" / "containers" / "podman")
        write_app(folder / "app", "v1")
        builder.run("build", "-t", "localhost/regweb", "-f", str(folder / "app" / "Containerfile"),
                    str(folder / "app"), timeout=300)
        yield reg, password, push(builder, "localhost/regweb", reg, password, "team/regweb", folder)
    finally:
        reg.stop()
        remove_containers(folder)
