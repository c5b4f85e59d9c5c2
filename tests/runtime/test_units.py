"""systemd units as generated (issue 20, item 2): `systemd-analyze verify` accepts every
unit the launcher writes without a single complaint, and a value that could break out of
its line (a newline, a section header, a specifier, a prefix that changes how the program
runs) is refused naming the field. `systemd-analyze verify` runs here without systemd as
PID 1; the units running under a real systemd are tested in test_systemd_launcher.py."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from nebhx import BrickFailed
from nebhx.runtime.systemd import Systemd
from nebhx.runtime.units import UnitSpec, env_file_text, render_liveness, render_service

ANALYZE = shutil.which("systemd-analyze")


def verify(folder: Path) -> str:
    """Every unit file in ``folder`` through ``systemd-analyze verify``; its complaints."""
    if ANALYZE is None:
        pytest.fail("systemd-analyze is missing: apt-get install -y systemd (deps/apt.txt)")
    units = sorted(str(p) for p in folder.iterdir() if p.suffix in (".service", ".timer"))
    proc = subprocess.run([ANALYZE, "verify", "--man=no", *units], capture_output=True, text=True,
                          timeout=60, cwd=folder)
    # Lines about other units (the host's own) are not ours to judge.
    ours = [line for line in (proc.stdout + proc.stderr).splitlines() if str(folder) in line or "nbx-" in line]
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return "\n".join(ours)


def full_spec(tmp_path: Path) -> UnitSpec:
    home = tmp_path / "home"
    for d in ("rel", "data"):
        (home / d).mkdir(parents=True)
    return UnitSpec(name="web-a", command="/bin/sh -c 'echo 100% $HOME \"q\" \\\\; exec sleep 60'",
                    cwd=str(home / "rel"), env={"GREETING": "50% off, $USER's \"day\"", "EMPTY": ""},
                    user="daemon", read=[str(home / "rel")], write=[str(home / "data")], hide=[str(home)],
                    restart="on-failure", memory_max="256M", cpu_quota=50, start_retries=2, start_secs=1,
                    live_command="/bin/true --probe", live_interval_s=5)


def test_every_generated_unit_passes_systemd_analyze_verify(tmp_path):
    sd = Systemd(tmp_path / "home" / "systemd", unit_dir=tmp_path / "units")
    spec = full_spec(tmp_path)
    parts = sd.split("web-a", sd.render(spec))
    sd.unit_dir.mkdir()
    for fname, body in parts.items():
        if not fname.endswith(".env"):
            (sd.unit_dir / fname).write_text(body)
    assert sorted(p.name for p in sd.unit_dir.iterdir()) == [
        "nbx-_live-web-a.service", "nbx-_live-web-a.timer", "nbx-web-a.service"]
    assert verify(sd.unit_dir) == ""
    main = parts["nbx-web-a.service"]
    # The limits, the restart policy and the user exactly as given; no environment value.
    for line in ("MemoryMax=256M", "CPUQuota=50%", "Restart=on-failure", "User=daemon",
                 "StartLimitBurst=3", f"EnvironmentFile={sd.env_file('web-a')}",
                 f"BindReadOnlyPaths=-{tmp_path / 'home' / 'rel'}", f"BindPaths={tmp_path / 'home' / 'data'}"):
        assert line in main.splitlines(), line
    # The home is under an empty tmpfs (or a folder above it the user cannot pass through is).
    covered = [line.split("=", 1)[1].rsplit(":", 1)[0] for line in main.splitlines()
               if line.startswith("TemporaryFileSystem=")]
    assert any(str(tmp_path / "home").startswith(c) for c in covered), covered
    assert "50% off" not in main and "GREETING" not in main
    # '$' and '%' reach the program as themselves: neither expanded by systemd.
    assert r'ExecStart=/bin/sh "-c" "echo 100%% $$HOME \"q\" \\\\; exec sleep 60"' in main.splitlines()


def test_a_plain_root_program_verifies_too(tmp_path):
    units = tmp_path / "units"
    units.mkdir()
    spec = UnitSpec(name="plain", command="sleep 60", autorestart=False)
    (units / "nbx-plain.service").write_text(render_service(spec, "nbx-", tmp_path / "plain.env"))
    assert verify(units) == ""
    assert "Restart=no" in (units / "nbx-plain.service").read_text()
    assert render_liveness(spec, "nbx-") == {}


def test_a_missing_program_is_what_verify_reports(tmp_path):
    """The check is real: a unit whose program does not exist fails it."""
    units = tmp_path / "units"
    units.mkdir()
    spec = UnitSpec(name="gone", command="/nonexistent/bin/app --x")
    (units / "nbx-gone.service").write_text(render_service(spec, "nbx-", tmp_path / "gone.env"))
    proc = subprocess.run([ANALYZE, "verify", "--man=no", str(units / "nbx-gone.service")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "/nonexistent/bin/app" in proc.stderr


def test_environment_file_escapes_what_systemd_would_interpret():
    text = env_file_text("env", {"B": 'a "q" $X `id` \\n', "A": "plain"})
    assert text == 'A="plain"\nB="a \\"q\\" \\$X \\`id\\` \\\\n"\n'


@pytest.mark.parametrize("field,change", [
    ("command", dict(command="/bin/sleep 60\n[Service]\nExecStartPre=/bin/id")),
    ("command", dict(command="/bin/sleep 60\rUser=root")),
    ("command", dict(command="-/bin/sleep 60")),
    ("command", dict(command="+/bin/sleep 60")),
    ("command", dict(command="@/bin/sleep sleep")),
    ("command", dict(command="/bin/sleep 'unclosed")),
    ("command", dict(command="/bin/x%h 1")),
    ("cwd", dict(cwd="/srv/app\nUser=root")),
    ("cwd", dict(cwd="/srv/%h")),
    ("cwd", dict(cwd="relative/dir")),
    ("env", dict(env={"A": "x\n[Service]"})),
    ("env", dict(env={"A B": "x"})),
    ("user", dict(user="root\nExecStartPre=/bin/id")),
    ("user", dict(user="Root Admin")),
    ("memory_max", dict(memory_max="1G\nMemoryMax=infinity")),
    ("memory_max", dict(memory_max="lots")),
    ("cpu_quota", dict(cpu_quota=0)),
    ("a path the program writes", dict(user="daemon", write=["/srv/data:/etc"], hide=["/srv"])),
    ("a path the program reads", dict(user="daemon", read=["/root/x y"], hide=["/root"])),
    ("live_command", dict(live_command="/bin/true\nExecStart=/bin/id")),
    ("live_interval_s", dict(live_command="/bin/true", live_interval_s=0)),
    ("name", dict(name="web]\n[Service")),
])
def test_a_value_that_could_break_out_is_refused_naming_its_field(tmp_path, field, change):
    spec = UnitSpec(**{"name": "web", "command": "/bin/sleep 60", **change})
    sd = Systemd(tmp_path / "systemd", unit_dir=tmp_path / "units")
    with pytest.raises(BrickFailed, match=field):
        sd.render(spec)


def test_a_recorded_text_must_be_this_programs_units(tmp_path):
    sd = Systemd(tmp_path / "systemd", unit_dir=tmp_path / "units")
    good = sd.render(UnitSpec(name="web", command="/bin/sleep 60"))
    assert set(sd.split("web", good)) == {"web.env", "nbx-web.service"}
    for bad in (good.replace("nbx-web.service", "other.service"), "[Service]\nExecStart=/bin/id\n",
                good + "### ../../etc/passwd\nx\n", good.replace("\n", "\r\n")):
        with pytest.raises(BrickFailed, match="not this program's unit files"):
            sd.split("web", bad)


def test_where_pid1_is_not_systemd_the_launcher_refuses_before_writing(tmp_path):
    """On this machine PID 1 is not systemd: the real systemctl says so, and nothing is written."""
    if Path("/run/systemd/system").is_dir():
        pytest.fail("PID 1 is systemd here: this test is for a machine whose init is something else")
    sd = Systemd(tmp_path / "systemd", unit_dir=tmp_path / "units", systemctl=["systemctl"])
    with pytest.raises(BrickFailed, match="(?s)^launcher systemd: no systemd answers systemctl on this host .*"
                                          "use launcher supervisord"):
        sd.ensure_program("web", "/bin/sleep 60", env={"TOKEN": "s3cret"})
    assert not (tmp_path / "units").exists() and not sd.env_file("web").exists()
    assert sd.status("web") is None


def test_a_user_not_made_yet_still_renders_for_a_plan(tmp_path):
    """A plan names the service's own user before the run makes it: the unit still renders,
    hiding the home from a user in no group; the run refuses a user that does not exist."""
    spec = full_spec(tmp_path)
    spec.user = "nbx-not-made-yet"
    text = render_service(spec, "nbx-", tmp_path / "e.env")
    assert "User=nbx-not-made-yet" in text and "TemporaryFileSystem=" in text
    sd = Systemd(tmp_path / "home" / "systemd", unit_dir=tmp_path / "units")
    with pytest.raises(BrickFailed, match="^user: there is no user 'nbx-not-made-yet'"):
        sd.ensure_program("web-a", spec.command, user=spec.user, write=spec.write)
    assert not (tmp_path / "units").exists()


def test_no_program_can_share_a_liveness_units_name(tmp_path):
    sd = Systemd(tmp_path / "systemd", unit_dir=tmp_path / "units", prefix="nbx-h1-")
    lives = {sd.live("web"), sd.live("web", "timer")}
    assert lives == {"nbx-h1-_live-web.service", "nbx-h1-_live-web.timer"}
    for name in ("web-live", "live-web", "_live-web", "web.live"):
        try:
            assert sd.unit(name) not in lives
        except BrickFailed:
            pass  # not a program name at all
