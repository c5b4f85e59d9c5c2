"""Brick packages reach agents: registered once on the control plane, fetched by a real agent
through the execution API with its host token, pinned by sha256, reloaded when they change."""
from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import httpx
import pytest

from execution.test_agents import cluster, exec_call, start_agent  # noqa: F401  (the module's stack)
from support import graph

BRICK = '''
from nebhx import Brick, Context, HostRef, Ports


class Greet(Brick):
    """Says which version of its package ran, on which host."""
    id = "pkg.greet"
    category = "test"

    class Inputs(Ports):
        host: HostRef

    class Outputs(Ports):
        said: str

    def run(self, ctx: Context, inputs: Inputs) -> Outputs:
        return self.Outputs(said=f"{GREETING} from {ctx.runtime.name}")
'''


def package_tar(greeting: str) -> bytes:
    """A tar of a blocks folder holding one host brick."""
    return tarred("greetings", "pkg.greet", greeting)


def tarred(folder: str, brick_id: str, greeting: str = "hello") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        data = (f"GREETING = {greeting!r}\n" + BRICK.replace('"pkg.greet"', repr(brick_id))).encode()
        info = tarfile.TarInfo(f"{folder}/greet.py")
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def register(stack, body: bytes, version: str, name: str = "greetings", fmt: str = "tar") -> httpx.Response:
    with stack.client() as c:
        return c.post("/brick-packages", params={"name": name, "version": version, "format": fmt}, content=body,
                      headers={"Content-Type": "application/octet-stream"})


def register_folder(stack, greeting: str, version: str) -> dict:
    folder = stack.tmp / f"src-{version}" / "greetings"
    folder.mkdir(parents=True)
    (folder / "greet.py").write_text(f"GREETING = {greeting!r}\n" + BRICK)
    res = subprocess.run([sys.executable, "-m", "nebhx.cli.main", "brick-packages", "add", str(folder),
                          "--name", "greetings", "--version", version, "--json"], capture_output=True, text=True,
                         env={**stack.env, "NEBHX_URL": stack.url}, timeout=60)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def test_a_registered_package_runs_on_an_agent_and_a_change_is_refetched(cluster):  # noqa: F811
    resp = register(cluster, package_tar("hello"), "1.0")
    assert resp.status_code == 201, resp.text
    first = resp.json()
    assert first["name"] == "greetings" and first["version"] == "1.0" and len(first["sha256"]) == 64
    with cluster.client() as c:
        assert "pkg.greet" in {b["id"] for b in c.get("/bricks").json()["bricks"]}  # in the editor's palette
    if "agent-h1" not in cluster.procs:
        start_agent(cluster, "h1")
    agent_home = cluster.tmp / "agent-h1"
    run = cluster.run(graph("greet", [("g", "pkg.greet", {"host": "h1"})]))
    assert run["status"] == "succeeded", run
    assert run["nodes"]["g"]["outputs"]["said"] == "hello from h1"
    with cluster.client() as c:
        log = c.get(f"/runs/{run['id']}/nodes/g/log").text
    assert f"brick package greetings 1.0 (sha256:{first['sha256']})" in log
    # The agent unpacked it into its own folder; nobody copied a file there.
    assert (agent_home / "brick-packages" / first["sha256"] / "greetings" / "greet.py").is_file()

    # The CLI sends a folder as a tar; the agent refetches the changed package before its next node.
    second = register_folder(cluster, "bonjour", "1.1")
    assert second["sha256"] != first["sha256"]
    run = cluster.run(graph("greet", [("g", "pkg.greet", {"host": "h1"})]))
    assert run["nodes"]["g"]["outputs"]["said"] == "bonjour from h1", run
    with cluster.client() as c:
        log = c.get(f"/runs/{run['id']}/nodes/g/log").text
        listed = c.get("/brick-packages").json()
    assert f"brick package greetings 1.1 (sha256:{second['sha256']})" in log
    assert [(p["name"], p["version"]) for p in listed] == [("greetings", "1.1")]
    # The execution API lists the same, to a host token only.
    assert exec_call(cluster, None, "/register", {}).status_code == 401
    got = httpx.get(f"{cluster.url}/api/exec/brick-packages", timeout=10,
                    headers={"Authorization": f"Bearer {cluster.tokens['h1']}"})
    assert got.status_code == 200 and got.json()[0]["sha256"] == second["sha256"]
    assert httpx.get(f"{cluster.url}/api/exec/brick-packages", timeout=10).status_code == 401


def test_registration_is_audited_and_bad_archives_are_refused(cluster):  # noqa: F811
    resp = register(cluster, b"not a tar at all", "1.0", name="broken")
    assert resp.status_code == 422 and "archive" in resp.text, resp.text
    resp = register(cluster, package_tar("x"), "1.0", name="Bad Name")
    assert resp.status_code == 422 and "name" in resp.text, resp.text
    resp = register(cluster, package_tar("x"), "1.0", fmt="zip")
    assert resp.status_code == 422 and "format" in resp.text, resp.text
    with cluster.client() as c:
        assert "broken" not in {p["name"] for p in c.get("/brick-packages").json()}
        audit = c.get("/audit", params={"action": "brick_packages.register"}).json()
    # Every registration, refusals included (with their status), and who made it.
    assert {a["data"]["status"] for a in audit} >= {201, 422}, audit
    assert any(a["data"].get("version") == "1.1" and len(a["data"]["sha256"]) == 64 for a in audit), audit


def test_an_agent_refuses_a_package_whose_bytes_were_changed_after_registration(cluster):  # noqa: F811
    if "agent-h1" not in cluster.procs:
        start_agent(cluster, "h1")
    entry = register(cluster, tarred("others", "pkg.other"), "2.0", name="others").json()
    blob = cluster.tmp / "artifacts" / "sha256" / entry["sha256"][:2] / entry["sha256"]
    blob.chmod(0o644)
    blob.write_bytes(tarred("others", "pkg.other", greeting="evil"))  # someone swapped the stored bytes
    run = cluster.run(graph("other", [("o", "pkg.other", {"host": "h1"})]))
    node = run["nodes"]["o"]
    assert node["status"] == "failed" and "'pkg.other' is not in this worker's palette" in node["error"], node
    assert f"not the pinned {entry['sha256']}: refused" in node["error"], node
    assert not (cluster.tmp / "agent-h1" / "brick-packages" / entry["sha256"]).exists()
    # The other package still loads beside the refused one.
    run = cluster.run(graph("greet", [("g", "pkg.greet", {"host": "h1"})]))
    assert run["status"] == "succeeded", run


def test_a_tampered_download_is_refused_and_leaves_nothing(tmp_path: Path):
    import hashlib

    from nebhx.bricks import packages
    good = package_tar("hello")
    entry = {"name": "greetings", "version": "1.0", "format": "tar", "sha256": hashlib.sha256(good).hexdigest()}
    tampered = good[:-1] + bytes([good[-1] ^ 1])
    with pytest.raises(packages.PackageRefused, match="not the pinned"):
        packages.install(entry, lambda f: f.write(tampered), base=tmp_path)
    assert not (tmp_path / entry["sha256"]).exists() and not list(tmp_path.glob(".fetch-*"))
    assert (packages.install(entry, lambda f: f.write(good), base=tmp_path) / "greetings" / "greet.py").is_file()


def test_an_archive_escaping_its_folder_is_refused(tmp_path: Path):
    from nebhx.bricks import packages
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        info = tarfile.TarInfo("../evil.py")
        info.size = 1
        t.addfile(info, io.BytesIO(b"x"))
    (tmp_path / "a.tar").write_bytes(buf.getvalue())
    with pytest.raises(packages.PackageRefused, match="outside"):
        packages.unpack(tmp_path / "a.tar", "tar", tmp_path / "out")
    assert not (tmp_path / "evil.py").exists()


def test_a_wheel_unpacks_into_a_folder_the_palette_loads(tmp_path: Path):
    import hashlib
    import zipfile

    from nebhx.bricks import packages
    from nebhx.bricks.registry import Registry, _load_folder
    wheel = tmp_path / "greetings-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr("greetings/greet.py", "GREETING = 'wheel'\n" + BRICK)
        z.writestr("greetings-1.0.dist-info/METADATA", "Name: greetings\nVersion: 1.0\n")
    entry = {"name": "greetings", "version": "1.0", "format": "wheel",
             "sha256": hashlib.sha256(wheel.read_bytes()).hexdigest()}
    folder = packages.install(entry, lambda f: f.write(wheel.read_bytes()), base=tmp_path / "pkgs")
    reg = Registry()
    _load_folder(reg, folder.resolve(), 1)  # as the palette loads a package (not as the built-in folder)
    assert "pkg.greet" in reg.bricks and not reg.errors, reg.errors
