"""An SMB share served by smbd on one namespace host, with the settings core.share_settings
composes, checked from another host with smbclient; the password a Secret throughout."""
from __future__ import annotations

import random
import secrets
import subprocess

import pytest
from nskit import brick

from nebhx import BrickFailed
from nebhx_blocks.core.glue import ShareSettings

SERVE = "network.shares:SmbShare"
CHECK = "network.shares:CheckShare"


@pytest.fixture
def login():
    name = f"nbxsmb{secrets.token_hex(3)}"
    yield name
    subprocess.run(["userdel", name], capture_output=True)


def test_share_serves_a_folder_to_another_host(hosts, login):
    c = hosts
    password = f"pw-{secrets.token_hex(8)}"
    port = random.randint(20000, 60000)
    data = c.workdir / "hosts" / "h1" / "volumes" / "files"
    data.mkdir(parents=True)
    (data / "hello.txt").write_text("hi")
    settings = ShareSettings()(address=f"{c.address('h1')}:{port}", share="files", login=login,
                               password=password).settings
    serve = dict(host="h1", settings=settings, password=password, path=str(data))

    assert brick(c, "h1", SERVE, "plan", **serve)["changes"] is True
    out = brick(c, "h1", SERVE, **serve)
    assert out["changed"] and out["address"] == f"{c.address('h1')}:{port}"
    assert out["unc"] == f"//{c.address('h1')}/files"
    again = brick(c, "h1", SERVE, **serve)
    assert again["changed"] is False
    assert brick(c, "h1", SERVE, "plan", **serve)["changes"] is False

    checked = brick(c, "h2", CHECK, host="h2", settings=settings, password=password)
    assert checked["ok"] and checked["entries"] == 1  # hello.txt; the test file is gone
    assert sorted(p.name for p in data.iterdir()) == ["hello.txt"]
    with pytest.raises(BrickFailed, match="NT_STATUS_LOGON_FAILURE"):
        brick(c, "h2", CHECK, host="h2", settings=settings, password="wrong")

    # The password is in no file we wrote, no log and no output.
    home = c.workdir / "hosts" / "h1"
    for f in [*(home / "shares").rglob("*"), *(home / "supervisor").rglob("*")]:
        if f.is_file() and "passdb" not in f.name:
            assert password.encode() not in f.read_bytes(), f
    for answer in (out, again, checked):
        assert password not in repr(answer)

    gone = brick(c, "h1", SERVE, **{**serve, "state": "absent"})
    assert gone["changed"] and not (home / "shares" / "files").exists()
    assert (data / "hello.txt").read_text() == "hi"  # the data stays
    with pytest.raises(BrickFailed, match="smbclient"):
        brick(c, "h2", CHECK, host="h2", settings=settings, password=password)


def test_share_refuses_bad_settings_naming_them(hosts, login):
    c = hosts
    home = c.workdir / "hosts" / "h1"
    home.mkdir(parents=True, exist_ok=True)
    base = dict(host="h1", password="x", path=str(home))
    good = {"address": "127.0.0.1:4455", "share": "s", "login": login}
    with pytest.raises(BrickFailed, match="settings.login is missing"):
        brick(c, "h1", SERVE, **base, settings={"address": "127.0.0.1:4455", "share": "s"})
    with pytest.raises(BrickFailed, match="outside this host's managed folders"):
        brick(c, "h1", SERVE, **{**base, "path": str(c.workdir)}, settings=good)
    with pytest.raises(BrickFailed, match="'homes' is not a share name"):
        brick(c, "h1", SERVE, **base, settings={**good, "share": "homes"})
    with pytest.raises(BrickFailed, match="login: root is refused"):
        brick(c, "h1", SERVE, **base, settings={**good, "login": "root"})
    with pytest.raises(BrickFailed, match="exactly one"):
        brick(c, "h1", SERVE, **base, volume_url=f"dir://h1{home}", settings=good)
    with pytest.raises(BrickFailed, match="lives on host 'h2'"):
        brick(c, "h1", SERVE, **{**base, "path": None}, volume_url=f"dir://h2{home}", settings=good)
    assert not (home / "shares" / "s").exists()  # nothing half-made


def test_a_line_break_never_reaches_smb_conf(tmp_path):
    from nebhx.runtime.shares import SmbSpec, render
    spec = SmbSpec("s", tmp_path / "a\n[global]\n  guest ok = yes", "127.0.0.1", 4455, "u", "root")
    with pytest.raises(BrickFailed, match="path: .* holds a line break"):
        render(spec, tmp_path)
