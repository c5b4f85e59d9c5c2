"""A private registry, on the real thing: Debian's docker-registry on loopback with htpasswd
auth and a self-signed TLS certificate (see registrykit). An image built here FROM scratch is
pushed to it; release.stage pulls it with the login from a Nebh-X secret, service.run runs it
with podman. A wrong password fails naming the registry; the password shows in no process's
command line (watched in /proc while the run goes), no log, no event, no output.
"""
from __future__ import annotations

import json
import tempfile
import threading
from pathlib import Path

import httpx
import pytest

from imagekit import remove_containers
from registrykit import USER, pushed_image
from support import free_port, graph, order, wire

pytestmark = [pytest.mark.usefixtures("podman_ready"),
              pytest.mark.parametrize("stack", ["embedded"], indirect=True)]
SERVICE = "regweb"


@pytest.fixture(scope="module")
def registry(tmp_path_factory, podman_ready):
    """(registry, password, digest of team/regweb pushed to it)."""
    with pushed_image(tmp_path_factory.mktemp("registry")) as served:
        yield served


def deploy(reg, digest: str, secret: str, port: int, ca: bool = True, run_login: bool = False) -> dict:
    """Stage the pushed image (logged in with the secret ``secret``), switch, run it with podman;
    ``run_login``: service.run has the login too (to pull an image the host lost)."""
    login = {"registry_username": USER, "registry_password": {"$secret": secret}}
    if ca:
        login["registry_ca"] = str(reg.ca)
    stage = {"host": "local", "service": SERVICE, "source": f"oci:{reg.host}/team/regweb@sha256:{digest}", **login}
    run = {"host": "local", "service": SERVICE, "command": "{port}", "port": port, "runtime": "podman",
           "ready_http": "/health", "advertise_host": "127.0.0.1", "ready_timeout_s": 60,
           **(login if run_login else {})}
    return graph("registry-deploy", [
        {"id": "st", "brick": "release.stage", "params": stage},
        ("sw", "release.switch", {"host": "local", "service": SERVICE}),
        ("run", "service.run", run),
    ], [wire("st", "release", "sw", "release"), order("sw", "run")])


def everything_shown(stack, run: dict) -> str:
    with stack.client() as c:
        text = json.dumps(run) + c.get(f"/runs/{run['id']}/events").text
        for node in run["nodes"]:
            text += c.get(f"/runs/{run['id']}/nodes/{node}/log").text
    return text


class ArgvWatch(threading.Thread):
    """Reads every process's command line until stopped; ``seen`` holds those naming ``needle``."""

    def __init__(self, needle: str):
        super().__init__(daemon=True)
        self.needle, self.seen, self.scans, self.done = needle.encode(), [], 0, threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.02):
            for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
                try:
                    if self.needle in cmdline.read_bytes():
                        self.seen.append(cmdline.read_bytes().replace(b"\0", b" ")[:200])
                except OSError:
                    pass  # the process ended
            self.scans += 1


def test_a_wrong_password_or_an_untrusted_certificate_fails_naming_the_registry(stack, registry):
    reg, password, digest = registry
    with stack.client() as c:
        assert c.put("/secrets/registry-bad", json={"value": "not-" + password}).status_code == 204
        assert c.put("/secrets/registry-pw", json={"value": password}).status_code == 204
    wrong = stack.run(deploy(reg, digest, "registry-bad", free_port()), timeout=120)
    assert wrong["status"] == "failed"
    error = wrong["nodes"]["st"]["error"]
    assert f"registry {reg.host} refused user '{USER}'" in error, error
    untrusted = stack.run(deploy(reg, digest, "registry-pw", free_port(), ca=False), timeout=120)
    error = untrusted["nodes"]["st"]["error"]
    assert f"registry {reg.host}'s TLS certificate is not trusted" in error and "registry_ca" in error, error
    releases = stack.home / "hosts" / "local" / "services" / SERVICE / "releases"
    assert not releases.exists() or not any(releases.iterdir()), "a failed pull left a release behind"
    assert password not in everything_shown(stack, wrong) + everything_shown(stack, untrusted)


def test_an_image_is_pulled_from_the_private_registry_and_run(stack, registry):
    reg, password, digest = registry
    with stack.client() as c:
        assert c.put("/secrets/registry-pw", json={"value": password}).status_code == 204
    port, watch = free_port(), ArgvWatch(password)
    watch.start()
    try:
        run = stack.run(deploy(reg, digest, "registry-pw", port), timeout=180)
        assert run["status"] == "succeeded", {n: v["error"] for n, v in run["nodes"].items() if v["error"]}
        assert httpx.get(f"http://127.0.0.1:{port}/VERSION", timeout=5).text.strip() == "v1"
    finally:
        watch.done.set()
        watch.join(10)
        from nebhx.runtime.supervisor import Supervisor
        Supervisor(stack.home / "hosts" / "local" / "supervisor").remove(SERVICE)
        remove_containers(stack.home)
    assert watch.scans > 0 and watch.seen == []
    shown = everything_shown(stack, run)
    assert "--authfile" in shown and password not in shown
    assert set(run["nodes"]["st"]["inputs"]["registry_password"]) == {"*"}  # masked
    left = [p for p in Path(tempfile.gettempdir()).glob("nebhx-registry-*")]
    assert not any(password in f.read_text() for p in left for f in p.rglob("*.json"))


def test_the_launcher_pulls_again_an_image_its_host_lost(stack, registry):
    from nebhx.runtime.containers import Engine
    from nebhx.runtime.supervisor import Supervisor
    reg, password, digest = registry
    with stack.client() as c:
        assert c.put("/secrets/registry-pw", json={"value": password}).status_code == 204
    port, host = free_port(), stack.home / "hosts" / "local"
    try:
        first = stack.run(deploy(reg, digest, "registry-pw", port, run_login=True), timeout=180)
        assert first["status"] == "succeeded", {n: v["error"] for n, v in first["nodes"].items() if v["error"]}
        Supervisor(host / "supervisor").remove(SERVICE)
        remove_containers(stack.home)  # the host's store loses the image; the release stays staged
        assert Engine.for_home(host).resolve(f"{reg.host}/team/regweb", digest) is None
        lost = stack.run(deploy(reg, digest, "registry-pw", port), timeout=120)
        assert "give registry_username and registry_password to pull it" in lost["nodes"]["run"]["error"]
        again = stack.run(deploy(reg, digest, "registry-pw", port, run_login=True), timeout=180)
        assert again["status"] == "succeeded", {n: v["error"] for n, v in again["nodes"].items() if v["error"]}
        assert again["nodes"]["st"]["outputs"]["changed"] is False  # pulled by the launcher, not the stage
        assert httpx.get(f"http://127.0.0.1:{port}/VERSION", timeout=5).text.strip() == "v1"
        assert password not in everything_shown(stack, again)
    finally:
        Supervisor(host / "supervisor").remove(SERVICE)
        remove_containers(stack.home)
