"""Releases on the real thing: files, tarballs, a real HTTP server, a real pip venv."""
from __future__ import annotations

import base64
import functools
import hashlib
import http.server
import io
import os
import subprocess
import tarfile
import threading
import time
import zipfile
from pathlib import Path

import pytest

from nebhx import BrickFailed
from nebhx.runtime.releases import Releases


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_tgz(path: Path, files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, text in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(text.encode()), 0o755
            tf.addfile(info, io.BytesIO(text.encode()))
    path.write_bytes(buf.getvalue())
    return buf.getvalue()


def make_wheel(folder: Path, name: str = "hello_nbx", version: str = "0.1") -> Path:
    """A minimal pure-Python wheel with a console script, built by hand: no network."""
    dist = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": "def main():\n    print('hello from %s' % __name__)\n",
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        f"{dist}/entry_points.txt": f"[console_scripts]\nhello-nbx = {name}:main\n",
    }
    record = []
    for fname, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{fname},sha256={digest.decode()},{len(text.encode())}")
    files[f"{dist}/RECORD"] = "\n".join([*record, f"{dist}/RECORD,,"]) + "\n"
    whl = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(whl, "w") as zf:
        for fname, text in files.items():
            zf.writestr(fname, text)
    return whl


@pytest.fixture
def http_dir(tmp_path):
    """A real HTTP server in a thread serving a folder; yields (folder, base URL)."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def only_releases(rel: Releases, svc: str) -> list[str]:
    """Everything in the releases folder, including leftovers a failure could leave."""
    folder = rel.dir(svc) / "releases"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_stage_tarball_derives_id_and_is_idempotent(tmp_path):
    data = make_tgz(tmp_path / "app-1.tgz", {"app/run.sh": "#!/bin/sh\necho v1\n"})
    rel = Releases(tmp_path / "services")
    first = rel.stage("web", str(tmp_path / "app-1.tgz"))
    assert first.changed and first.id == sha(data)[:12]
    assert first.path == tmp_path / "services" / "web" / "releases" / first.id
    assert (first.path / "app" / "run.sh").read_text() == "#!/bin/sh\necho v1\n"
    assert os.access(first.path / "app" / "run.sh", os.X_OK)
    again = rel.stage("web", str(tmp_path / "app-1.tgz"))
    assert not again.changed and again.id == first.id
    assert only_releases(rel, "web") == [first.id]


def test_stage_file_zip_and_dir_sources(tmp_path):
    rel = Releases(tmp_path / "services")
    binary = tmp_path / "tool"
    binary.write_text("#!/bin/sh\necho tool\n")
    binary.chmod(0o755)
    st = rel.stage("t", str(binary), release_id="1.0", sha256=sha(binary.read_bytes()))
    assert st.id == "1.0" and os.access(st.path / "tool", os.X_OK)
    with zipfile.ZipFile(tmp_path / "site.zip", "w") as zf:
        zf.writestr("index.html", "<h1>hi</h1>")
    assert (rel.stage("t", str(tmp_path / "site.zip")).path / "index.html").exists()
    (tmp_path / "build" / "bin").mkdir(parents=True)
    (tmp_path / "build" / "bin" / "x").write_text("x")
    st = rel.stage("t", str(tmp_path / "build"))
    assert (st.path / "bin" / "x").read_text() == "x"
    assert rel.stage("t", str(tmp_path / "build")).id == st.id  # tree hash is stable
    with pytest.raises(BrickFailed, match="sha256 mismatch"):
        rel.stage("t", str(binary), sha256="0" * 64)
    with pytest.raises(BrickFailed, match="already staged from other content"):
        rel.stage("t", str(tmp_path / "site.zip"), release_id="1.0")


def test_a_sha256_with_a_directory_is_refused_naming_the_parameter(tmp_path):
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "app.py").write_text("print('x')\n")
    rel = Releases(tmp_path / "services")
    with pytest.raises(BrickFailed, match="sha256 is given but source .*build' is a directory"):
        rel.stage("t", str(tmp_path / "build"), sha256="a" * 64)
    assert only_releases(rel, "t") == []


def test_stage_from_http_verifies_checksum(tmp_path, http_dir):
    root, base = http_dir
    data = make_tgz(root / "app-2.tar.gz", {"bin/app": "v2"})
    rel = Releases(tmp_path / "services")
    st = rel.stage("api", f"{base}/app-2.tar.gz", sha256=sha(data))
    assert st.changed and st.id == sha(data)[:12]
    assert (st.path / "bin" / "app").read_text() == "v2"
    (root / "plain.bin").write_bytes(b"\x00\x01")
    st = rel.stage("api", f"{base}/plain.bin", sha256=sha(b"\x00\x01"), release_id="raw")
    assert (st.path / "plain.bin").read_bytes() == b"\x00\x01"
    before = only_releases(rel, "api")

    with pytest.raises(BrickFailed, match=r"HTTP 404 for .*/missing\.tgz"):
        rel.stage("api", f"{base}/missing.tgz", sha256="a" * 64)
    with pytest.raises(BrickFailed, match="sha256 mismatch for .*expected b{64}, got"):
        rel.stage("api", f"{base}/app-2.tar.gz", sha256="b" * 64, release_id="bad")
    with pytest.raises(BrickFailed, match="sha256 is required"):
        rel.stage("api", f"{base}/app-2.tar.gz")
    with pytest.raises(BrickFailed, match="download failed"):
        rel.stage("api", "http://127.0.0.1:1/x.tgz", sha256="c" * 64)
    assert only_releases(rel, "api") == before  # no half release, no temp leftovers


def test_stage_pip_package_into_versioned_venv(tmp_path):
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    make_wheel(wheels)
    rel = Releases(tmp_path / "services")
    st = rel.stage("hello", "pip:hello_nbx==0.1", find_links=str(wheels))
    assert st.changed and st.id.startswith("0.1-")  # the resolved version, then a hash
    script = st.path / "venv" / "bin" / "hello-nbx"
    # The venv was built under a temp name: its scripts must work at the final path.
    text = script.read_text()
    assert f"{st.path}/venv/bin/python" in text and ".staging-" not in text
    out = subprocess.run([str(script)], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "hello from hello_nbx"
    assert not rel.stage("hello", "pip:hello_nbx==0.1", find_links=str(wheels)).changed
    with pytest.raises(BrickFailed, match="command failed.*pip install"):
        rel.stage("hello", "pip:hello_nbx==9.9", find_links=str(wheels))
    assert only_releases(rel, "hello") == [st.id]


def test_switch_is_atomic_and_remembers_previous(tmp_path):
    rel = Releases(tmp_path / "services")
    ids = []
    for v in ("1", "2"):
        (tmp_path / f"v{v}").write_text(v)
        ids.append(rel.stage("web", str(tmp_path / f"v{v}"), release_id=f"r{v}").id)
    assert rel.switch("web", "r1") == (None, "r1", True)
    assert os.readlink(rel.dir("web") / "current") == "releases/r1"
    assert (rel.dir("web") / "current" / "v1").read_text() == "1"
    assert rel.switch("web", "r2") == ("r1", "r2", True)
    assert rel.switch("web", "r2") == ("r1", "r2", False)
    assert rel.previous("web") == "r1"
    assert rel.switch("web", "r1") == ("r2", "r1", True)  # rollback
    assert sorted(p.name for p in rel.dir("web").iterdir()) == ["current", "previous", "releases"]
    with pytest.raises(BrickFailed, match=r"release 'r9' of 'web' is not staged \(staged: r1, r2\)"):
        rel.switch("web", "r9")
    with pytest.raises(BrickFailed, match="invalid release id"):
        rel.switch("web", "../../etc")


def test_retention_keeps_newest_pinned_current_and_previous(tmp_path):
    rel = Releases(tmp_path / "services")
    for i in range(1, 8):
        (tmp_path / "f").write_text(str(i))
        rel.stage("svc", str(tmp_path / "f"), release_id=f"r{i}", pin=(i == 2))
        time.sleep(0.01)  # distinct staging times
    rel.switch("svc", "r3")
    rel.switch("svc", "r4")
    st = rel.stage("svc", str(tmp_path / "f"), release_id="r8", keep=2)
    assert sorted(st.removed) == ["r1", "r5", "r6"]
    infos = {r.id: r for r in rel.list("svc")}
    assert sorted(infos) == ["r2", "r3", "r4", "r7", "r8"]
    assert infos["r2"].pinned and infos["r4"].current and infos["r3"].previous
    assert infos["r8"].size == 1 and infos["r8"].staged_at > infos["r7"].staged_at
    rel.unpin("svc", "r2")
    assert rel.prune("svc", 2) == ("r2",)
    rel.pin("svc", "r7")
    assert rel.prune("svc", 1) == ()
    with pytest.raises(BrickFailed, match="keep must be at least 1"):
        rel.prune("svc", 0)


def test_hostile_or_broken_sources_leave_nothing(tmp_path):
    rel = Releases(tmp_path / "services")
    make_tgz(tmp_path / "evil.tgz", {"../../escape": "x"})
    with pytest.raises(BrickFailed, match="cannot unpack evil.tgz"):
        rel.stage("s", str(tmp_path / "evil.tgz"))
    (tmp_path / "broken.tar.gz").write_bytes(b"not a tarball")
    with pytest.raises(BrickFailed, match="cannot unpack broken.tar.gz"):
        rel.stage("s", str(tmp_path / "broken.tar.gz"))
    assert only_releases(rel, "s") == [] and not (tmp_path / "services" / "escape").exists()
    (rel.dir("s") / "releases" / "hand-made").mkdir()
    with pytest.raises(BrickFailed, match="exists but is not a staged release"):
        rel.stage("s", str(tmp_path / "evil.tgz"), release_id="hand-made")
    with pytest.raises(BrickFailed, match="invalid service name"):
        rel.stage("../etc", str(tmp_path / "evil.tgz"))


def test_commit_marks_once_and_is_listed(tmp_path):
    src = tmp_path / "app"
    src.mkdir()
    (src / "run").write_text("v1")
    rel = Releases(tmp_path / "services")
    rel.stage("s", str(src), release_id="v1")
    at, changed = rel.commit("s", "v1")
    assert changed and rel.commit("s", "v1") == (at, False)
    assert [r.committed for r in rel.list("s")] == [at]
    assert rel.list("s")[0].size == 2  # the marker is bookkeeping, not payload
    with pytest.raises(BrickFailed, match="not staged"):
        rel.commit("s", "v9")


def test_pip_range_gets_a_new_release_when_a_newer_version_is_published(tmp_path):
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    make_wheel(wheels, version="1.0")
    rel = Releases(tmp_path / "services")
    first = rel.stage("hello", "pip:hello_nbx>=1", find_links=str(wheels))
    assert first.changed and first.id.startswith("1.0-")
    assert not rel.stage("hello", "pip:hello_nbx>=1", find_links=str(wheels)).changed
    make_wheel(wheels, version="1.1")  # published since
    second = rel.stage("hello", "pip:hello_nbx>=1", find_links=str(wheels))
    assert second.changed and second.id.startswith("1.1-") and second.id != first.id
    installed = list((second.path / "venv").glob("lib/python*/site-packages/hello_nbx-*.dist-info"))
    assert [p.name for p in installed] == ["hello_nbx-1.1.dist-info"]
    assert only_releases(rel, "hello") == sorted([first.id, second.id])
    with pytest.raises(BrickFailed, match="sha256 does not apply to a pip: source"):
        rel.stage("hello", "pip:hello_nbx>=1", find_links=str(wheels), sha256="a" * 64)
