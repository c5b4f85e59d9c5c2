"""build.python as a plain object on real git repositories holding a pyproject.toml package:
a reproducible wheel with its provenance in the artifact store; a bundle with a dependency's
wheel that release.stage turns into a virtualenv whose script runs; a project that does not
build fails naming it and stores nothing."""
from __future__ import annotations

import subprocess
import sys
import tarfile
import time

import pytest

from buildkit import git
from nebhx.bricks.base import BrickFailed, Context
from nebhx_blocks.build.build import Checkout
from nebhx_blocks.build.python import Python

PYPROJECT = """[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "{name}"
version = "{version}"
dependencies = {deps}
{scripts}
"""


@pytest.fixture
def home(tmp_path, monkeypatch):
    from nebhx.settings import reset_settings
    monkeypatch.setenv("NEBHX_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("NEBHX_DATABASE_URL", raising=False)
    reset_settings()
    yield tmp_path / "home"
    reset_settings()


def package(folder, name: str, version: str, body: str, deps: list[str] = (), script: bool = False):
    """A src-less setuptools project: pyproject.toml and the module ``name``."""
    folder.mkdir(parents=True, exist_ok=True)
    scripts = f'[project.scripts]\n{name} = "{name}:main"\n' if script else ""
    (folder / "pyproject.toml").write_text(PYPROJECT.format(name=name, version=version,
                                                            deps=list(deps).__repr__().replace("'", '"'),
                                                            scripts=scripts))
    (folder / f"{name}.py").write_text(body)


def repo(tmp_path, files) -> str:
    """A bare repository whose main holds ``files(clone)``'s work; its path."""
    bare, clone = tmp_path / "py.git", tmp_path / "py-clone"
    git("init", "--quiet", "--bare", "--initial-branch=main", str(bare), cwd=tmp_path)
    git("init", "--quiet", "--initial-branch=main", str(clone), cwd=tmp_path)
    files(clone)
    git("add", "-A", cwd=clone)
    git("commit", "--quiet", "-m", "the app", cwd=clone)
    git("remote", "add", "origin", str(bare), cwd=clone)
    git("push", "--quiet", "origin", "main", cwd=clone)
    return str(bare)


def wheelhouse(tmp_path):
    """A folder holding the wheel of ``tinydep`` 0.3: the dependency pip collects from."""
    package(tmp_path / "tinydep", "tinydep", "0.3", "GREETING = 'hello from tinydep'\n")
    house = tmp_path / "wheelhouse"
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(house),
                    str(tmp_path / "tinydep")], check=True, capture_output=True)
    return house


APP = """import tinydep

def main():
    print("tinyapp 1.2.0:", tinydep.GREETING)
"""


def build(run: str, bare: str, **params):
    co = Checkout()(Context(run_id=run, node_id="co"), repository=bare, ref="main")
    return co, Python()(Context(run_id=run, node_id="py"), workdir=co.workdir, **params)


def _artifacts():
    from nebhx.artifacts.service import list_artifacts
    from nebhx.store.db import session_scope
    with session_scope() as s:
        return [a.model_dump(mode="json") for a in list_artifacts(s)]


def test_a_wheel_is_stored_with_its_provenance_and_the_same_commit_gives_the_same_wheel(home, tmp_path):
    bare = repo(tmp_path, lambda c: package(c / "app", "tinyapp", "1.2.0", APP, ["tinydep"], script=True))
    co, out = build("w1", bare, path="app")
    assert (out.distribution, out.version, out.bundle) == ("tinyapp", "1.2.0", None)
    assert out.source == out.wheel == f"artifact:tinyapp-1.2.0-py3-none-any.whl@sha256:{out.sha256}"
    prov = out.provenance
    assert prov["commit"] == co.commit and prov["repository"] == bare and prov["run"] == "w1"
    assert prov["artifacts"] == {"tinyapp-1.2.0-py3-none-any.whl": out.sha256}
    assert prov["recipe"]["command"] == "python -m build --wheel --no-isolation"
    assert len(prov["recipe_sha256"]) == 64 and prov["builder"]
    assert prov["tools"]["build"] == "1.6.1" and prov["tools"]["git"].startswith("git version")
    assert "Successfully built tinyapp-1.2.0-py3-none-any.whl" in prov["log"]
    time.sleep(1.1)  # another second on the clock: only the commit's time may reach the wheel
    _, again = build("w2", bare, path="app")
    assert again.sha256 == out.sha256
    assert [a["source"] for a in _artifacts()] == [out.source]


def test_a_bundle_stages_as_a_virtualenv_whose_script_runs(home, tmp_path):
    house = wheelhouse(tmp_path)
    bare = repo(tmp_path, lambda c: package(c, "tinyapp", "1.2.0", APP, ["tinydep==0.3"], script=True))
    _, out = build("b1", bare, bundle=True, pip_args=["--no-index", "--find-links", str(house)])
    assert out.bundle == out.source == f"artifact:tinyapp-1.2.0-bundle.tar.gz@sha256:{out.sha256}"
    assert sorted(out.provenance["bundled_wheels"]) == ["tinyapp-1.2.0-py3-none-any.whl",
                                                        "tinydep-0.3-py3-none-any.whl"]
    time.sleep(1.1)  # another second on the clock: the bundle is reproducible all the same
    _, again = build("b2", bare, bundle=True, pip_args=["--no-index", "--find-links", str(house)])
    assert again.sha256 == out.sha256
    blob = home / "artifacts" / "sha256" / out.sha256[:2] / out.sha256
    with tarfile.open(blob) as tar:
        assert sorted(tar.getnames()) == ["install.sh", "nebhx-bundle.json", "wheels",
                                          "wheels/tinyapp-1.2.0-py3-none-any.whl",
                                          "wheels/tinydep-0.3-py3-none-any.whl"]
    from nebhx.runtime.releases import Releases
    staged = Releases(tmp_path / "host").stage("tiny", out.source, ctx=Context())
    said = subprocess.run([str(staged.path / "venv" / "bin" / "tinyapp")], capture_output=True, text=True)
    assert said.stdout == "tinyapp 1.2.0: hello from tinydep\n", said.stderr
    # The install script does the same by hand, from the bundle's wheels only.
    unpacked = tmp_path / "unpacked"
    with tarfile.open(blob) as tar:
        tar.extractall(unpacked, filter="data")
    subprocess.run(["sh", str(unpacked / "install.sh"), str(tmp_path / "byhand")], check=True, capture_output=True)
    assert subprocess.run([str(tmp_path / "byhand" / "bin" / "tinyapp")], capture_output=True,
                          text=True).stdout.startswith("tinyapp 1.2.0")


@pytest.mark.parametrize(("files", "params", "message"), [
    (lambda c: package(c, "brokenapp", "1.0", "x = (\n") or (c / "setup.py").write_text("raise SystemExit('no')\n"),
     {}, r"project brokenapp does not build: python -m build failed \(exit 1\); nothing stored"),
    (lambda c: (c / "README").write_text("no project here\n"), {},
     "path: no pyproject.toml in src .*nothing stored"),
    (lambda c: package(c, "needsdep", "1.0", "", ["absent-dependency==9"]),
     {"bundle": True, "pip_args": ["--no-index"]},
     "(?s)the dependencies of needsdep could not be collected: pip wheel failed .*absent-dependency==9"),
])
def test_a_project_that_does_not_build_is_named_and_nothing_is_stored(home, tmp_path, files, params, message):
    bare = repo(tmp_path, files)
    with pytest.raises(BrickFailed, match=message):
        build("bad", bare, **params)
    assert _artifacts() == []


def test_provenance_and_log_keep_no_index_credential_nor_stored_secret(tmp_path):
    """pip_args may name a private index: its password, or a stored secret put in them, never
    reaches the provenance every viewer sees nor the node's log."""
    ctx = Context(secrets=["s3cr3t-token"])
    inputs = Python.Inputs(workdir=str(tmp_path), bundle=True, pip_args=[
        "--index-url", "https://ci:hunter22@pypi.example/simple", "--extra-index-url",
        "https://pypi.example/s3cr3t-token/simple"])
    prov = Python._provenance(ctx, inputs, {"commit": "c"}, time.time(), {}, {},
                              "Looking in indexes: https://ci:hunter22@pypi.example/simple\n")
    assert prov["recipe"]["pip_args"] == ["--index-url", "https://ci:******@pypi.example/simple",
                                          "--extra-index-url", "https://pypi.example/******/simple"]
    assert "hunter22" not in str(prov) and "s3cr3t-token" not in str(prov)
    from nebhx.runtime import pybuild
    with pytest.raises(BrickFailed):
        pybuild.run(["false", *inputs.pip_args], cwd=tmp_path, env={"PATH": "/usr/bin:/bin"},
                    timeout_s=30, ctx=ctx, what="pip")
    assert "hunter22" not in "\n".join(ctx.lines) and "s3cr3t-token" not in "\n".join(ctx.lines)
    assert "https://ci:******@pypi.example/simple" in ctx.lines[0]


@pytest.mark.parametrize("requirement", ["-e git+https://evil.example/x#egg=x", "-r /etc/shadow",
                                         "tinyapp==1.0 --index-url=http://evil.example/"])
def test_a_bundle_manifest_whose_requirement_is_not_name_version_stages_nothing(tmp_path, requirement):
    """A checkout can hold a nebhx-bundle.json of its own: its requirement reaches pip's
    command line on the host, so only NAME==VERSION is taken."""
    import json

    from nebhx.runtime import pybuild
    (tmp_path / pybuild.BUNDLE_META).write_text(json.dumps({"format": pybuild.BUNDLE_FORMAT,
                                                            "requirement": requirement}))
    with pytest.raises(BrickFailed, match="is not NAME==VERSION"):
        pybuild.bundle_requirement(tmp_path)
    (tmp_path / pybuild.BUNDLE_META).write_text(json.dumps({"format": pybuild.BUNDLE_FORMAT,
                                                            "requirement": "tiny_app==1.2.0rc1+local"}))
    assert pybuild.bundle_requirement(tmp_path) == "tiny_app==1.2.0rc1+local"
