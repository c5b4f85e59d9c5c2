"""The private registry (registrykit) pulled with docker: the login goes to the docker client
in a temporary DOCKER_CONFIG, on a private dockerd this module starts. That dockerd is told
`--insecure-registry` for the registry's address: docker's daemon, not the pull, decides which
CA it trusts (/etc/docker/certs.d, which a test must not edit), so registry_ca is refused with
docker and the auth, not the certificate, is what is tested here.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import pytest

from registrykit import USER, pushed_image
from support import require, wait_for
from test_docker_launcher import _unmount_under

pytestmark = pytest.mark.usefixtures("podman_ready")


@pytest.fixture(scope="module")
def served(tmp_path_factory, podman_ready):
    with pushed_image(tmp_path_factory.mktemp("registry")) as found:
        yield found


@pytest.fixture(scope="module")
def docker_engine(served):
    """An Engine of kind docker on a dockerd of this module's own."""
    from nebhx.runtime.containers import Engine
    require("dockerd", "docker.io")
    reg = served[0]
    root = tempfile.mkdtemp(prefix="nbx-dr-", dir="/tmp")  # short: the socket path has a length limit
    sock = f"unix://{root}/d.sock"
    with open(f"{root}/dockerd.log", "wb") as log:
        proc = subprocess.Popen(["dockerd", "--bridge=none", "--iptables=false", "--ip6tables=false",
                                 "--exec-opt", "native.cgroupdriver=cgroupfs", "--data-root", f"{root}/data",
                                 "--exec-root", f"{root}/exec", "--pidfile", f"{root}/d.pid", "-H", sock,
                                 "--insecure-registry", reg.host],
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    env = {**os.environ, "DOCKER_HOST": sock}
    try:
        wait_for(lambda: subprocess.run(["docker", "version"], env=env, capture_output=True).returncode == 0,
                 60, 0.5, what=f"dockerd (log: {root}/dockerd.log)")
        os.environ["NEBHX_DOCKER_HOST"] = sock
        yield Engine(Path(root) / "engine", "docker")
    finally:
        os.environ.pop("NEBHX_DOCKER_HOST", None)
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
        _unmount_under(root)
        shutil.rmtree(root, ignore_errors=True)


def test_docker_pulls_with_the_login_and_names_the_registry_when_refused(served, docker_engine):
    from nebhx.bricks.errors import BrickFailed
    from nebhx.runtime.registries import RegistryLogin
    reg, password, digest = served
    name = f"{reg.host}/team/regweb"
    with pytest.raises(BrickFailed, match=rf"registry {reg.host} refused user '{USER}' for {name}"):
        docker_engine.pull(name, digest, login=RegistryLogin(USER, "not-" + password))
    with pytest.raises(BrickFailed, match=rf"docker trusts a registry's CA through its daemon .*{reg.host}"):
        docker_engine.pull(name, digest, login=RegistryLogin(USER, password, reg.ca))
    assert docker_engine.resolve(name, digest) is None
    docker_engine.pull(name, digest, login=RegistryLogin(USER, password))
    assert docker_engine.resolve(name, digest) == f"{name}@sha256:{digest}"
    assert not list(Path(tempfile.gettempdir()).glob("nebhx-registry-*/config.json"))
