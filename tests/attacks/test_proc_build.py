"""Issue 18, finding 5: what a build script can read of the control plane's worker.

A "worker" process is started as the control plane's is: the database URL and the secret
key in its environment, a key file, a store under its NEBHX_HOME. It checks out a real git
repository and runs build.script with a script anyone who can push could have written:
it dumps its environment, /proc/$PPID/environ, every /proc/*/environ, the key file and the
store, writes outside its checkout and dials the control plane's ports: on loopback, through
slirp's host address and on this machine's own address. A registry stands in for the network
on another host (a network namespace behind a bridge, tests/cluster/netns.py).
"""
from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "cluster"))
from netns import Cluster  # noqa: E402

KEY = Fernet.generate_key().decode()
FILE_KEY = Fernet.generate_key().decode()
STORE_CANARY = "stored-" + secrets.token_hex(12)

SCRIPT = r"""
exec > report.txt 2>&1
echo "uid $(id -u)"
echo "== env"; env
echo "== parent"; tr '\0' '\n' < /proc/$PPID/environ || true
echo "== all"; for f in /proc/[0-9]*/environ; do tr '\0' '\n' < "$f" 2>/dev/null || true; done
echo "== pids $(ls -d /proc/[0-9]* | wc -l)"
echo "== key file"; cat "{key_file}" || true
echo "== store"; cat "{store}" | head -c 100000 | tr -c '[:print:]\n' ' ' || true
echo "== write outside"; echo pwned > "{outside}" && echo "wrote outside" || true
echo "== net"; (exec 3<>/dev/tcp/127.0.0.1/{port} && echo "connected to the control plane's port") || true
(exec 3<>/dev/tcp/10.0.2.2/{port} && echo "connected to the control plane's port through slirp's host") || true
(exec 3<>/dev/tcp/{own}/{own_port} && echo "connected to the control plane's port on this machine's address") || true
(exec 3<>/dev/tcp/169.254.169.254/80 && echo "connected to the metadata service") || true
(exec 3<>/dev/tcp/{public}/{public_port} && echo "connected to the registry") || true
echo "== done"
"""

WORKER = r"""
import json, sys
from nebhx.bricks.base import Context
from nebhx_blocks.build.build import Checkout, Script
repo, script, network = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
co = Checkout()(Context(run_id="r1", node_id="co"), repository=repo, ref="main")
extra = {"network": True} if network else {}
try:
    out = Script()(Context(run_id="r1", node_id="sh"), workdir=co.workdir, script=script,
                   artifacts=["report.txt"], **extra).model_dump()
except Exception as exc:
    out = {"error": str(exc)}
print(json.dumps({**out, "workdir": co.workdir}))
"""


@pytest.fixture
def worker(tmp_path):
    """The worker's environment, its key file, store and a port it listens on."""
    home = tmp_path / "home"
    home.mkdir()
    keys = tmp_path / "config" / "nebhx"
    keys.mkdir(parents=True)
    key_file = keys / "secret.key"
    key_file.write_text(FILE_KEY + "\n")
    key_file.chmod(0o644)  # even readable by anyone: the build must not see the control plane's files
    store = home / f"store-{secrets.token_hex(6)}.db"
    with sqlite3.connect(store) as db:  # the store exists, world-readable as SQLite makes it
        db.execute("create table canary (value text)")
        db.execute("insert into canary values (?)", (STORE_CANARY,))
    listener = socket.create_server(("127.0.0.1", 0))
    own = socket.create_server((public_address(), 0))  # the API as `nebhx up --host 0.0.0.0` serves
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEBHX_")}
    env.update(NEBHX_HOME=str(home), NEBHX_DATABASE_URL=f"sqlite:///{store}", NEBHX_SECRET_KEY=KEY,
               NEBHX_SECRET_KEY_FILE=str(key_file), PYTHONPATH=f"{ROOT / 'backend'}:{ROOT / 'tests'}")
    with registry_host(tmp_path) as (address, port):
        yield {"env": env, "home": home, "key_file": key_file, "store": store, "port": listener.getsockname()[1],
               "outside": home / "written-by-the-build", "public": address, "public_port": port,
               "own": own.getsockname()[0], "own_port": own.getsockname()[1]}
    listener.close()
    own.close()


@contextlib.contextmanager
def registry_host(tmp_path: Path):
    """A server on another host: a network namespace behind a bridge; (address, port)."""
    Cluster.check_netns()
    cluster = Cluster(tmp_path / "net", hosts=("registry",))
    cluster.net_up()
    server = subprocess.Popen(["ip", "netns", "exec", cluster.ns("registry"), sys.executable, "-c", REGISTRY],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout.readline().strip() == "listening", "the registry did not start"
        yield cluster.address("registry"), 5000
    finally:
        server.kill()
        server.wait()
        cluster.down()


REGISTRY = """
import socket
s = socket.create_server(("0.0.0.0", 5000))
print("listening", flush=True)
while True:
    s.accept()[0].close()
"""


def public_address() -> str:
    """This machine's address on its default route (a UDP connect sends nothing)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.254", 9))
        address = probe.getsockname()[0]
    assert not address.startswith("127."), "this machine has no address but loopback"
    return address


def app_repo(tmp: Path) -> Path:
    """A bare repository whose main holds one file."""
    env = {**os.environ, "GIT_AUTHOR_NAME": "Dev", "GIT_AUTHOR_EMAIL": "dev@example.com",
           "GIT_COMMITTER_NAME": "Dev", "GIT_COMMITTER_EMAIL": "dev@example.com"}
    bare, clone = tmp / "app.git", tmp / "clone"
    for args, cwd in ((["init", "-q", "--bare", "--initial-branch=main", str(bare)], tmp),
                      (["init", "-q", "--initial-branch=main", str(clone)], tmp)):
        subprocess.run(["git", *args], cwd=cwd, env=env, check=True)
    (clone / "README").write_text("a project\n")
    for args in (["add", "-A"], ["commit", "-qm", "one"], ["push", "-q", str(bare), "main"]):
        subprocess.run(["git", *args], cwd=clone, env=env, check=True)
    return bare


def run_worker(tmp_path: Path, worker: dict, network: bool = False) -> tuple[dict, str]:
    bare = app_repo(tmp_path)
    script = SCRIPT.format(key_file=worker["key_file"], store=worker["store"], outside=worker["outside"],
                           port=worker["port"], public=worker["public"], public_port=worker["public_port"],
                           own=worker["own"], own_port=worker["own_port"])
    driver = tmp_path / "worker.py"
    # As the CLI's worker starts: the builtin bricks, then the process's brick resources.
    driver.write_text("from nebhx.bricks.registry import import_builtin\nimport_builtin()\n"
                      "import nebhx.process\nnebhx.process.install()\n" + WORKER)
    proc = subprocess.run([sys.executable, str(driver), str(bare), script, str(int(network))],
                          env=worker["env"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip(), proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    report = Path(out["workdir"], "report.txt").read_text(errors="replace")
    return out, report


def test_a_build_script_sees_nothing_of_the_control_plane(tmp_path, worker):
    out, report = run_worker(tmp_path, worker)
    assert "error" not in out, out
    assert "== done" in report, report[-2000:]
    for canary in (KEY, FILE_KEY, worker["env"]["NEBHX_DATABASE_URL"], STORE_CANARY):
        assert canary not in report, f"the build read {canary[:16]}...:\n" + report[-3000:]
    assert "SQLite format" not in report
    assert not report.startswith("uid 0\n"), "the build ran as root"
    assert not worker["outside"].exists() and "wrote outside" not in report
    assert "connected to the control plane's port" not in report
    assert "connected to the registry" not in report, "a build without network reached the network"
    pids = int(report.split("== pids ")[1].split()[0])
    assert pids < 10, f"the build sees {pids} processes: not in its own PID namespace"


def test_network_only_when_the_recipe_declares_it_and_never_to_loopback(tmp_path, worker):
    out, report = run_worker(tmp_path, worker, network=True)
    assert "error" not in out, out
    assert "connected to the registry" in report, report[-2000:]
    assert "connected to the control plane's port" not in report, report[-2000:]
    assert "connected to the metadata service" not in report
    assert KEY not in report and FILE_KEY not in report
