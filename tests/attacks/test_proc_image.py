"""Issue 18, second pass: what a Containerfile's RUN step can read of the control plane's worker.

A "worker" process is started as the control plane's is (the database URL and the secret key
in its environment, a key file, a store under its NEBHX_HOME) and runs build.image on a
repository anyone who can push could have written. Its Containerfile's RUN steps dump their
environment and every /proc/*/environ, and one of them bind-mounts the engine's whole view of
the machine through a symlink in the context (CVE-2024-1753, which podman 4.3 here has) to
read the key file, the store, every process's environment there, and to write outside.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from support import require

ROOT = Path(__file__).resolve().parents[2]
KEY = Fernet.generate_key().decode()
FILE_KEY = Fernet.generate_key().decode()
STORE_CANARY = "stored-" + secrets.token_hex(12)

CONTAINERFILE = """\
FROM scratch
COPY busybox /bin/busybox
COPY probe.sh /probe.sh
RUN ["/bin/busybox", "sh", "/probe.sh"]
RUN --mount=type=bind,source=hostroot,target=/host,rw ["/bin/busybox", "sh", "/probe.sh", "/host"]
"""
PROBE = r"""
/bin/busybox --install -s /bin 2>/dev/null
R=${{1:-}}
echo "== probe in '$R'"
echo "== env"; env
echo "== environ"; for f in $R/proc/[0-9]*/environ; do tr '\0' '\n' < $f; done 2>/dev/null \
  | grep -E '^NEBHX_(SECRET_KEY|DATABASE_URL)=' | sort -u | head -40
echo "== key file"; cat "$R{key_file}" 2>/dev/null
echo "== store"; grep -a -o 'stored-[0-9a-f]*' "$R{store}" 2>/dev/null
if [ -n "$R" ]; then echo "== write"; echo pwned > "$R{outside}" && echo "wrote outside"; fi
echo "== end of probe"
"""

WORKER = r"""
import json, sys
from nebhx.bricks.base import Context
from nebhx_blocks.build.build import Checkout
from nebhx_blocks.build.image import Image
co = Checkout()(Context(run_id="r1", node_id="co"), repository=sys.argv[1], ref="main")
try:
    out = Image()(Context(run_id="r1", node_id="img"), workdir=co.workdir, name="probe").model_dump()
except Exception as exc:
    out = {"error": str(exc)}
print(json.dumps(out))
"""


@pytest.fixture
def worker(tmp_path):
    """The worker's environment, its key file and store; its podman store removed after."""
    require("podman", "podman")
    home = tmp_path / "home"
    home.mkdir()
    keys = tmp_path / "config" / "nebhx"
    keys.mkdir(parents=True)
    key_file = keys / "secret.key"
    key_file.write_text(FILE_KEY + "\n")
    store = home / f"store-{secrets.token_hex(6)}.db"
    with sqlite3.connect(store) as db:
        db.execute("create table canary (value text)")
        db.execute("insert into canary values (?)", (STORE_CANARY,))
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEBHX_")}
    env.update(NEBHX_HOME=str(home), NEBHX_DATABASE_URL=f"sqlite:///{store}", NEBHX_SECRET_KEY=KEY,
               NEBHX_SECRET_KEY_FILE=str(key_file), PYTHONPATH=f"{ROOT / 'backend'}:{ROOT / 'tests'}")
    yield {"env": env, "home": home, "key_file": key_file, "store": store,
           "outside": home / "written-by-the-build"}
    from nebhx.runtime.containers import Engine
    engine = Engine.for_home(home)
    engine.run("rmi", "--force", "--all", check=False, timeout=120)
    for path in engine.store_paths():
        if (path / "overlay").is_mount():
            subprocess.run(["umount", str(path / "overlay")], capture_output=True)
        shutil.rmtree(path, ignore_errors=True)


def probe_repo(tmp: Path, worker: dict) -> Path:
    """A bare repository whose main holds the Containerfile, the probe, busybox and a
    symlink to the machine's root."""
    env = {**os.environ, "GIT_AUTHOR_NAME": "Dev", "GIT_AUTHOR_EMAIL": "dev@example.com",
           "GIT_COMMITTER_NAME": "Dev", "GIT_COMMITTER_EMAIL": "dev@example.com"}
    bare, clone = tmp / "app.git", tmp / "clone"
    for args in (["init", "-q", "--bare", "--initial-branch=main", str(bare)],
                 ["init", "-q", "--initial-branch=main", str(clone)]):
        subprocess.run(["git", *args], cwd=tmp, env=env, check=True)
    (clone / "Containerfile").write_text(CONTAINERFILE)
    (clone / "probe.sh").write_text(PROBE.format(key_file=worker["key_file"], store=worker["store"],
                                                 outside=worker["outside"]))
    shutil.copy2(require("busybox", "busybox-static"), clone / "busybox")
    (clone / "hostroot").symlink_to("/")
    for args in (["add", "-A"], ["commit", "-qm", "one"], ["push", "-q", str(bare), "main"]):
        subprocess.run(["git", *args], cwd=clone, env=env, check=True)
    return bare


def test_a_containerfile_sees_nothing_of_the_control_plane(tmp_path, worker):
    driver = tmp_path / "worker.py"
    driver.write_text("from nebhx.bricks.registry import import_builtin\nimport_builtin()\n"
                      "import nebhx.process\nnebhx.process.install()\n" + WORKER)
    proc = subprocess.run([sys.executable, str(driver), str(probe_repo(tmp_path, worker))],
                          env=worker["env"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0 and proc.stdout.strip(), proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "error" not in out, out
    log = out["provenance"]["log"]
    assert log.count("== end of probe") == 2, log  # both RUN steps ran to their end
    for canary in (KEY, FILE_KEY, worker["env"]["NEBHX_DATABASE_URL"], STORE_CANARY):
        assert canary not in log, f"the build read {canary[:16]}...:\n{log}"
    assert not worker["outside"].exists(), "the build wrote into the control plane's home"
