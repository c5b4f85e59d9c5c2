"""Registry logins, without a registry: bad input is refused naming the input, and the
credentials exist only in a 0600 file for the length of one pull."""
from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from nebhx.bricks.errors import BrickFailed
from nebhx.runtime.registries import RegistryLogin, pull_access, registry_host


@pytest.mark.parametrize(("name", "host"), [("127.0.0.1:5000/team/app", "127.0.0.1:5000"),
                                            ("registry.example.org/app", "registry.example.org"),
                                            ("localhost/app", "localhost"), ("library/app", "docker.io")])
def test_the_registry_is_the_first_part_of_the_name_when_it_is_a_host(name, host):
    assert registry_host(name) == host


@pytest.mark.parametrize(("user", "password", "ca", "message"), [
    ("deployer", None, None, "registry_username and registry_password go together"),
    (None, "s3cret", None, "registry_username and registry_password go together"),
    ("deployer", "s3cret", "/no/such/ca.pem", "registry_ca '/no/such/ca.pem' is not a file"),
])
def test_a_half_login_or_a_missing_ca_is_refused_naming_the_input(user, password, ca, message):
    with pytest.raises(BrickFailed, match=message):
        RegistryLogin.from_inputs(user, SecretStr(password) if password else None, ca)


def test_no_login_means_no_file_and_the_password_is_not_in_its_repr():
    assert RegistryLogin.from_inputs(None, None, None) is None
    assert "s3cret" not in repr(RegistryLogin("deployer", "s3cret"))


def test_podman_gets_a_private_authfile_and_cert_dir_removed_after_the_pull(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    with pull_access("podman", "127.0.0.1:5000/app", RegistryLogin("deployer", "s3cret", ca)) as (args, env):
        auth, certs = Path(args[args.index("--authfile") + 1]), Path(args[args.index("--cert-dir") + 1])
        assert env == {} and "s3cret" not in " ".join(args)
        assert stat.S_IMODE(auth.stat().st_mode) == 0o600 and stat.S_IMODE(auth.parent.stat().st_mode) == 0o700
        token = json.loads(auth.read_text())["auths"]["127.0.0.1:5000"]["auth"]
        assert base64.b64decode(token) == b"deployer:s3cret"
        assert (certs / "ca.crt").read_text() == ca.read_text()
    assert not auth.parent.exists()


def test_docker_gets_a_private_docker_config_and_refuses_a_ca():
    with pull_access("docker", "reg.example.org/app", RegistryLogin("deployer", "s3cret")) as (args, env):
        config = Path(env["DOCKER_CONFIG"]) / "config.json"
        assert args == [] and stat.S_IMODE(config.stat().st_mode) == 0o600
        assert "reg.example.org" in json.loads(config.read_text())["auths"]
    assert not config.parent.exists()
    with pytest.raises(BrickFailed, match="docker trusts a registry's CA through its daemon"):
        with pull_access("docker", "reg.example.org/app", RegistryLogin("deployer", "s3cret", Path(__file__))):
            pass


def test_release_stage_refuses_a_registry_login_for_a_source_that_is_no_image(tmp_path, monkeypatch):
    from nebhx.bricks.base import Context
    from nebhx.settings import reset_settings
    from nebhx_blocks.release.releases import Stage
    monkeypatch.setenv("NEBHX_HOME", str(tmp_path / "home"))
    reset_settings()
    try:
        (tmp_path / "app").mkdir()
        with pytest.raises(BrickFailed, match="apply to an oci: source only"):
            Stage()(Context(host="local"), host="local", service="app", source=str(tmp_path / "app"),
                    registry_username="deployer", registry_password="s3cret")
    finally:
        reset_settings()
