"""docker as the other container engine (podman is the default): build.image, release.stage of
the image and service.run under supervisord with `engine`/`runtime: docker`, on a private dockerd
this module starts (no bridge, no iptables rules: the containers use the host's network, as
podman's do) and stops. FROM scratch with a static busybox: no base image can be pulled here."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile

import pytest

from imagekit import commit_app, image_repo
from support import free_port, graph, order, require, stack_fixture, wait_for, wire
from test_container_release import SERVICE, get, ok

pytestmark = pytest.mark.usefixtures("podman_ready")  # the static busybox the image is made of

# A stack of this module's own, started after `dockerd` (the test asks for it first): its workers
# must inherit DOCKER_HOST, which the session's stack, started earlier, never saw.
stack = stack_fixture("module")


@pytest.fixture(scope="module")
def dockerd():
    """A dockerd of this module's own (its socket in DOCKER_HOST, which the stack's workers inherit)."""
    require("dockerd", "docker.io")
    root = tempfile.mkdtemp(prefix="nbx-dk-", dir="/tmp")  # short: the socket path has a length limit
    sock = f"unix://{root}/d.sock"
    log = open(f"{root}/dockerd.log", "wb")
    proc = subprocess.Popen(["dockerd", "--bridge=none", "--iptables=false", "--ip6tables=false",
                             "--exec-opt", "native.cgroupdriver=cgroupfs", "--data-root", f"{root}/data",
                             "--exec-root", f"{root}/exec", "--pidfile", f"{root}/d.pid", "-H", sock],
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    env = {**os.environ, "DOCKER_HOST": sock}
    try:
        wait_for(lambda: subprocess.run(["docker", "version"], env=env, capture_output=True).returncode == 0,
                 60, 0.5, what=f"dockerd (log: {root}/dockerd.log)")
        os.environ["DOCKER_HOST"] = sock
        yield sock
    finally:
        os.environ.pop("DOCKER_HOST", None)
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
        _unmount_under(root)  # dockerd leaves its default network namespace bind-mounted
        shutil.rmtree(root, ignore_errors=True)


def _unmount_under(root: str) -> None:
    with open("/proc/mounts", encoding="utf-8") as f:
        points = [line.split()[1] for line in f if line.split()[1].startswith(root + "/")]
    for point in sorted(points, reverse=True):
        subprocess.run(["umount", point], capture_output=True)


def test_docker_builds_stages_runs_and_switches_an_image(dockerd, stack, tmp_path):
    bare, clone = image_repo(tmp_path, "v1")
    port, data = free_port(), stack.home / "hosts" / "local" / "volumes" / f"{SERVICE}-docker"
    data.mkdir(parents=True, exist_ok=True)
    run = {"host": "local", "service": SERVICE, "command": "{port}", "port": port, "runtime": "docker",
           "data_path": str(data), "data_mount": "/www/data", "env": {"GREETING": "hello from docker"},
           "ready_http": "/health", "advertise_host": "127.0.0.1", "ready_timeout_s": 60}
    deploy = graph("docker-deploy", [
        ("co", "build.checkout", {"repository": str(bare), "ref": "main"}),
        ("img", "build.image", {"name": "boxweb", "engine": "docker"}),
        ("st", "release.stage", {"host": "local", "service": SERVICE, "engine": "docker"}),
        ("sw", "release.switch", {"host": "local", "service": SERVICE}),
        ("run", "service.run", run),
    ], [wire("co", "workdir", "img", "workdir"), wire("img", "image", "st", "source"),
        wire("img", "archive_sha256", "st", "sha256"), wire("st", "release", "sw", "release"),
        order("sw", "run")])
    try:
        first = ok(stack.run(deploy, timeout=180))
        assert first["nodes"]["img"]["outputs"]["provenance"]["tools"]["docker"].startswith("Docker version")
        assert get(port, "/VERSION") == "v1" and get(port, "/greeting.txt") == "hello from docker"
        commit_app(clone, "v2")
        second = ok(stack.run(deploy, timeout=180))
        assert second["nodes"]["img"]["outputs"]["digest"] != first["nodes"]["img"]["outputs"]["digest"]
        # The new image runs on the data volume the old one wrote to.
        assert get(port, "/VERSION") == "v2" and get(port, "/data/history.txt").split() == ["v1", "v2"]
        # supervisord's client SIGKILLed: its container lives on holding the name; the restart
        # removes it and starts a new one (which writes v2 again).
        from nebhx.runtime.supervisor import Supervisor
        client = Supervisor(stack.home / "hosts" / "local" / "supervisor").status(SERVICE).pid
        os.kill(client, signal.SIGKILL)
        wait_for(lambda: get(port, "/data/history.txt").split() == ["v1", "v2", "v2"], 60, 0.5,
                 what="a new container after the client was killed")
    finally:
        from nebhx.runtime.supervisor import Supervisor
        Supervisor(stack.home / "hosts" / "local" / "supervisor").remove(SERVICE)
        subprocess.run(["docker", "rm", "--force", f"nbx-{SERVICE}"], capture_output=True)
