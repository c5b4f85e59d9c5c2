"""An agent holding only a host token stages a build.python bundle: it fetches the artifact
through the execution API and makes the release's virtualenv from the bundle's own wheels
(no index, no store, no key on the host); the venv's console script runs."""
from __future__ import annotations

import subprocess

from support import graph, wire
from test_artifact_agents import plane  # noqa: F401 - the fixture: a stack and agent h1 (host token only)
from test_build_python import APP, package, repo, wheelhouse


def test_an_agent_stages_a_python_bundle_as_a_virtualenv(plane, tmp_path):  # noqa: F811
    house = wheelhouse(tmp_path)
    bare = repo(tmp_path, lambda c: package(c, "tinyapp", "1.2.0", APP, ["tinydep==0.3"], script=True))
    run = plane.run(graph("bundle-to-h1", [
        ("co", "build.checkout", {"repository": bare}),
        ("py", "build.python", {"bundle": True, "pip_args": ["--no-index", "--find-links", str(house)]}),
        ("st", "release.stage", {"host": "h1", "service": "tiny"}),
    ], [wire("co", "workdir", "py", "workdir"), wire("py", "source", "st", "source")]), timeout=240)
    assert run["status"] == "succeeded", {k: n["error"] for k, n in run["nodes"].items() if n["error"]}
    release = plane.home / "host-h1" / "services" / "tiny" / "releases" / run["nodes"]["st"]["outputs"]["release"]
    said = subprocess.run([str(release / "venv" / "bin" / "tinyapp")], capture_output=True, text=True)
    assert said.stdout == "tinyapp 1.2.0: hello from tinydep\n", said.stderr
    with plane.client() as c:
        log = c.get(f"/runs/{run['id']}/nodes/st/log").text
    assert "verified" in log and "--no-index" in log
