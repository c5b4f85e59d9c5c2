"""Build bricks as plain objects: a clean checkout, a reproducible tarball, a build script,
each storing what it made with its provenance; bad input fails clearly and stores nothing."""
from __future__ import annotations

import pytest

from buildkit import app_repo, commit_version, git
from nebhx.bricks.base import BrickFailed, Context
from nebhx_blocks.build.build import Checkout, Script, Tarball


@pytest.fixture
def home(tmp_path, monkeypatch):
    from nebhx.settings import reset_settings
    monkeypatch.setenv("NEBHX_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("NEBHX_DATABASE_URL", raising=False)
    reset_settings()
    yield tmp_path / "home"
    reset_settings()


def _artifacts():
    from nebhx.artifacts.service import list_artifacts
    from nebhx.store.db import session_scope
    with session_scope() as s:
        return [a.model_dump(mode="json") for a in list_artifacts(s)]


def test_a_checkout_is_clean_and_names_its_commit(home, tmp_path):
    bare, clone = app_repo(tmp_path)
    head = git("rev-parse", "HEAD", cwd=clone)
    out = Checkout()(Context(run_id="r1", node_id="co"), repository=str(bare), ref="main")
    assert out.commit == head and out.workdir == str(home / "builds" / "r1" / "co" / "src")
    assert (home / "builds/r1/co/src/examples/app/VERSION").read_text() == "v1\n"
    by_url = Checkout()(Context(run_id="r1", node_id="co"), repository=f"file://{bare}", ref=head[:10])
    assert by_url.commit == head


def test_a_ref_that_does_not_exist_is_named(home, tmp_path):
    bare, _ = app_repo(tmp_path)
    with pytest.raises(BrickFailed, match="ref 'no-such-branch' does not exist in"):
        Checkout()(Context(run_id="r1", node_id="co"), repository=str(bare), ref="no-such-branch")


def test_the_same_commit_gives_the_same_tarball_sha256(home, tmp_path):
    bare, clone = app_repo(tmp_path)
    first = Checkout()(Context(run_id="a", node_id="co"), repository=str(bare), ref="main")
    tar1 = Tarball()(Context(run_id="a", node_id="tar"), workdir=first.workdir, name="webapp", root="examples/app")
    import time
    time.sleep(1.1)  # another second: mtimes of a fresh checkout differ
    again = Checkout()(Context(run_id="b", node_id="co"), repository=str(bare), ref="main")
    tar2 = Tarball()(Context(run_id="b", node_id="tar"), workdir=again.workdir, name="webapp", root="examples/app")
    assert tar1.sha256 == tar2.sha256 and tar1.source == f"artifact:webapp.tar.gz@sha256:{tar1.sha256}"
    prov = tar1.provenance
    assert prov["commit"] == first.commit and prov["repository"] == str(bare) and prov["run"] == "a"
    assert prov["artifacts"] == {"webapp.tar.gz": tar1.sha256} and len(prov["recipe_sha256"]) == 64
    assert prov["tools"]["git"].startswith("git version") and prov["builder"]
    stored = (home / "artifacts" / "sha256" / tar1.sha256[:2] / tar1.sha256)
    assert stored.is_file() and not list((home / "artifacts" / "tmp").iterdir())
    assert [a["sha256"] for a in _artifacts()] == [tar1.sha256]  # one record for the same content
    commit_version(clone, "v2")
    git("push", "--quiet", "origin", "main", cwd=clone)
    new = Checkout()(Context(run_id="c", node_id="co"), repository=str(bare), ref="main")
    tar3 = Tarball()(Context(run_id="c", node_id="tar"), workdir=new.workdir, name="webapp", root="examples/app")
    assert tar3.sha256 != tar1.sha256 and len(_artifacts()) == 2


def test_a_script_stores_its_declared_artifacts(home, tmp_path):
    bare, _ = app_repo(tmp_path)
    co = Checkout()(Context(run_id="s", node_id="co"), repository=str(bare))
    out = Script()(Context(run_id="s", node_id="sh"), workdir=co.workdir, artifacts=["dist/app.txt"],
                   script="mkdir -p dist\necho built $NEBHX_COMMIT > dist/app.txt\necho done\n"
                          "test -z \"${NEBHX_DATABASE_URL:-}\"\n")
    assert out.sources[0].startswith("artifact:app.txt@sha256:") and "done" in out.log
    assert out.provenance["commit"] == co.commit and out.provenance["recipe"]["kind"] == "script"


@pytest.mark.parametrize(("script", "artifacts", "timeout", "message"), [
    ("echo compiling; exit 3", ["out.bin"], 30, r"failed \(exit 3\); nothing stored: compiling"),
    ("echo ok", ["out.bin"], 30, "did not make out.bin; nothing stored"),
    ("sleep 30", ["out.bin"], 0.5, "timed out after 0.5s; nothing stored"),
])
def test_a_failing_script_or_a_missing_artifact_stores_nothing(home, tmp_path, script, artifacts, timeout, message):
    bare, _ = app_repo(tmp_path)
    co = Checkout()(Context(run_id="f", node_id="co"), repository=str(bare))
    with pytest.raises(BrickFailed, match=message):
        Script()(Context(run_id="f", node_id="sh"), workdir=co.workdir, script=script, artifacts=artifacts,
                 timeout_s=timeout)
    assert _artifacts() == []


def test_a_workdir_outside_the_builds_folder_is_refused(home, tmp_path):
    with pytest.raises(BrickFailed, match="workdir: .* outside"):
        Tarball()(Context(), workdir=str(tmp_path), name="x")
