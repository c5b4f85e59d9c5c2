"""The key lives apart from the store: where, with which modes, moved from older installs."""
from __future__ import annotations

import logging
import stat

import pytest
from cryptography.fernet import Fernet, InvalidToken

from nebhx.sealing.crypto import seal, unseal_value
from nebhx.settings import reset_settings


@pytest.fixture
def env(monkeypatch, tmp_path):
    """A home, a config folder and no key from the environment; settings re-read each time."""
    monkeypatch.setenv("NEBHX_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    for name in ("NEBHX_SECRET_KEY", "NEBHX_SECRET_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    reset_settings()
    yield tmp_path
    reset_settings()


def opens_with(key: str, sealed: dict) -> bool:
    try:
        Fernet(key.encode()).decrypt(sealed["$enc"].encode())
        return True
    except InvalidToken:
        return False


def test_the_key_file_is_private_and_under_the_config_folder(env):
    sealed = seal("pw")
    key_file = env / "config" / "nebhx" / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    assert not (env / "home" / "secret.key").exists()
    assert opens_with(key_file.read_text().strip(), sealed)


def test_without_xdg_the_key_is_under_dot_config(env, monkeypatch):
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.setenv("HOME", str(env / "user"))
    reset_settings()
    sealed = seal("pw")
    assert opens_with((env / "user" / ".config" / "nebhx" / "secret.key").read_text().strip(), sealed)


def test_the_key_file_setting_is_honoured(env, monkeypatch):
    chosen = env / "vault" / "nebhx.key"
    monkeypatch.setenv("NEBHX_SECRET_KEY_FILE", str(chosen))
    reset_settings()
    sealed = seal("pw")
    assert opens_with(chosen.read_text().strip(), sealed)
    assert not (env / "config" / "nebhx" / "secret.key").exists()


def test_an_old_key_beside_the_store_moves_once_and_still_opens_its_secrets(env, caplog):
    old_key = Fernet.generate_key().decode()
    (env / "home").mkdir()
    (env / "home" / "secret.key").write_text(old_key)
    sealed_before = {"$enc": Fernet(old_key.encode()).encrypt(b"kept").decode()}
    with caplog.at_level(logging.INFO):
        assert unseal_value(sealed_before) == "kept"
        assert unseal_value(seal("again")) == "again"
    key_file = env / "config" / "nebhx" / "secret.key"
    assert key_file.read_text().strip() == old_key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert not (env / "home" / "secret.key").exists()
    moved = [r.getMessage() for r in caplog.records if "moved the secret key" in r.getMessage()]
    assert len(moved) == 1 and str(key_file) in moved[0]


def test_several_keys_open_and_the_first_seals(env):
    newer, older = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    key_file = env / "config" / "nebhx" / "secret.key"
    key_file.parent.mkdir(parents=True)
    key_file.write_text(f"{newer}\n{older}\n")
    assert unseal_value({"$enc": Fernet(older.encode()).encrypt(b"from before").decode()}) == "from before"
    fresh = seal("now")
    assert opens_with(newer, fresh) and not opens_with(older, fresh)


def test_a_rewritten_key_file_is_noticed(env):
    first, second = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    key_file = env / "config" / "nebhx" / "secret.key"
    key_file.parent.mkdir(parents=True)
    key_file.write_text(first + "\n")
    assert opens_with(first, seal("a"))
    key_file.write_text(second + "\n")
    assert opens_with(second, seal("b"))


def test_the_environment_key_wins(env, monkeypatch):
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("NEBHX_SECRET_KEY", key)
    reset_settings()
    assert opens_with(key, seal("pw"))
    assert not (env / "config" / "nebhx" / "secret.key").exists()
