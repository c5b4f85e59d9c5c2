"""Container images as releases and as a launcher, on the real thing: podman (runc,
cgroupfs) builds the image from a git repository, the artifact store keeps its archive,
release.stage loads it on host `local`, service.run keeps it running under supervisord.

The image is built FROM scratch with a static busybox: no base image can be pulled here
(see imagekit). podman, runc and busybox-static come from deps/apt.txt (./dev test installs
them); a machine without them makes these tests fail with the reason, never skip.
"""
from __future__ import annotations

import httpx
import pytest

from imagekit import commit_app, image_repo, remove_containers
from support import free_port, graph, order, wait_for, wire

pytestmark = pytest.mark.usefixtures("podman_ready")
SERVICE = "boxweb"


def deploy_graph(bare, port: int, data) -> dict:
    """Build main, stage the image on `local`, switch to it and run it with podman."""
    run = {"host": "local", "service": SERVICE, "command": "{port}", "port": port, "runtime": "podman",
           "data_path": str(data), "data_mount": "/www/data", "env": {"GREETING": "hello from env"},
           "ready_http": "/health", "advertise_host": "127.0.0.1", "ready_timeout_s": 60}
    return graph("image-deploy", [
        ("co", "build.checkout", {"repository": str(bare), "ref": "main"}),
        ("img", "build.image", {"name": "boxweb"}),
        ("st", "release.stage", {"host": "local", "service": SERVICE, "keep": 2}),
        ("sw", "release.switch", {"host": "local", "service": SERVICE}),
        ("run", "service.run", run),
    ], [wire("co", "workdir", "img", "workdir"), wire("img", "image", "st", "source"),
        wire("img", "archive_sha256", "st", "sha256"), wire("st", "release", "sw", "release"),
        order("sw", "run")])


def switch_graph(release: str, deploy: dict) -> dict:
    run = next(n for n in deploy["nodes"] if n["id"] == "run")
    return graph("image-switch", [("sw", "release.switch", {"host": "local", "service": SERVICE,
                                                             "release": release}),
                                  ("run", "service.run", run["params"])], [order("sw", "run")])


def ok(run: dict) -> dict:
    assert run["status"] == "succeeded", {n: v["error"] for n, v in run["nodes"].items() if v["error"]}
    return run


def get(port: int, path: str) -> str:
    resp = httpx.get(f"http://127.0.0.1:{port}{path}", timeout=5)
    assert resp.status_code == 200, (path, resp.status_code)
    return resp.text.strip()


def test_an_image_is_built_staged_run_switched_and_switched_back_with_new_data(stack, tmp_path):
    bare, clone = image_repo(tmp_path, "v1")
    port, data = free_port(), stack.home / "hosts" / "local" / "volumes" / SERVICE
    data.mkdir(parents=True, exist_ok=True)
    deploy = deploy_graph(bare, port, data)
    try:
        first = ok(stack.run(deploy, timeout=180))
        v1 = first["nodes"]["img"]["outputs"]
        assert v1["image"] == f"oci:localhost/boxweb@sha256:{v1['digest']}"
        assert v1["provenance"]["commit"] == first["nodes"]["co"]["outputs"]["commit"]
        assert v1["provenance"]["tools"]["podman"].startswith("podman version")
        assert get(port, "/VERSION") == "v1" and get(port, "/greeting.txt") == "hello from env"
        assert get(port, "/data/history.txt").split() == ["v1"]
        restarted_by_supervisord(stack, port)

        commit_app(clone, "v2")
        second = ok(stack.run(deploy, timeout=180))
        assert second["nodes"]["img"]["outputs"]["digest"] != v1["digest"]
        assert get(port, "/VERSION") == "v2" and get(port, "/data/history.txt").split() == ["v1", "v1", "v2"]
        shown_in_releases_view(stack, second["nodes"]["img"]["outputs"]["image"])

        back = ok(stack.run(switch_graph(first["nodes"]["st"]["outputs"]["release"], deploy), timeout=120))
        assert back["nodes"]["sw"]["outputs"]["previous"] == second["nodes"]["st"]["outputs"]["release"]
        # Old binary, new data: v1 runs again on the volume v2 wrote to.
        assert get(port, "/VERSION") == "v1" and get(port, "/data/history.txt").split() == ["v1", "v1", "v2", "v1"]
    finally:
        from nebhx.runtime.supervisor import Supervisor
        Supervisor(stack.home / "hosts" / "local" / "supervisor").remove(SERVICE)
        remove_containers(stack.home)


def restarted_by_supervisord(stack, port: int) -> None:
    """The container dies (podman kill): supervisord starts it again, as for a process."""
    from nebhx.runtime.containers import Engine
    Engine.for_home(stack.home / "hosts" / "local").run("kill", f"nbx-{SERVICE}")
    wait_for(lambda: get(port, "/data/history.txt").split() == ["v1", "v1"], 30, 0.3,
             what="the container restarted by supervisord")


def shown_in_releases_view(stack, image: str) -> None:
    def shown():
        rows = stack.client().get("/releases", params={"host": "local", "service": SERVICE}).json()
        active = [r for row in rows for r in row["releases"] if r["active"]]
        return rows and rows[0].get("image") == image and active and active[0].get("image") == image
    wait_for(shown, 30, what="the releases view shows the running image and its digest")


# -- bad input, retention: the bricks as plain objects -----------------------------------------
@pytest.fixture
def home(tmp_path, monkeypatch):
    from nebhx.settings import reset_settings
    monkeypatch.setenv("NEBHX_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("NEBHX_DATABASE_URL", raising=False)
    reset_settings()
    yield tmp_path / "home"
    remove_containers(tmp_path / "home")
    reset_settings()


def build(bare, run_id: str):
    from nebhx.bricks.base import Context
    from nebhx_blocks.build.build import Checkout
    from nebhx_blocks.build.image import Image
    co = Checkout()(Context(run_id=run_id, node_id="co"), repository=str(bare), ref="main")
    return Image()(Context(run_id=run_id, node_id="img"), workdir=co.workdir, name="boxweb")


def artifacts() -> list:
    from nebhx.artifacts.service import list_artifacts
    from nebhx.store.db import session_scope
    with session_scope() as s:
        return [a.model_dump(mode="json") for a in list_artifacts(s)]


@pytest.mark.parametrize(("containerfile", "message"), [
    ('FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "sh", "-c", "echo compiling; exit 3"]\n',
     r"the image did not build at STEP 3/3: RUN \[\"/bin/busybox\".* \(exit \d+\); nothing stored: .*"),
    ("FROM scratch\nCOPY no-such-file /x\n", r"did not build at STEP 2/2: COPY no-such-file /x .*nothing stored"),
])
def test_a_containerfile_that_fails_names_the_step_and_stores_nothing(home, tmp_path, containerfile, message):
    from nebhx.bricks.base import BrickFailed
    bare, clone = image_repo(tmp_path)
    commit_app(clone, "v1", containerfile)
    with pytest.raises(BrickFailed, match=message):
        build(bare, "bad")
    assert artifacts() == []


def test_a_wrong_digest_or_an_image_nowhere_stages_nothing(home, tmp_path):
    from nebhx.bricks.base import BrickFailed, Context
    from nebhx.runtime.containers import Engine
    from nebhx_blocks.release.releases import Stage
    bare, _ = image_repo(tmp_path)
    built = build(bare, "good")
    wrong = f"oci:localhost/boxweb@sha256:{'0' * 64}"
    with pytest.raises(BrickFailed, match=f"image digest mismatch: .* holds sha256:{built.digest}, "
                                          f"the source names sha256:{'0' * 64}; nothing staged"):
        Stage()(Context(host="local"), host="local", service="app", source=wrong, sha256=built.archive_sha256)
    with pytest.raises(BrickFailed, match="is not in podman's store on this host, no sha256 .* pulling it failed"):
        Stage()(Context(host="local"), host="local", service="app", source=built.image)
    host = home / "hosts" / "local"
    assert not [p for p in (host / "services" / "app" / "releases").iterdir()]  # not even a temp folder
    assert Engine.for_home(host).resolve("localhost/boxweb", built.digest) is None  # nothing loaded


def test_image_releases_keep_the_last_n_and_the_pinned(home, tmp_path):
    from nebhx.bricks.base import Context
    from nebhx_blocks.release.releases import Stage
    bare, clone = image_repo(tmp_path)
    staged = []
    for n, version in enumerate(("v1", "v2", "v3")):
        if n:
            commit_app(clone, version)
        img = build(bare, version)
        out = Stage()(Context(host="local"), host="local", service="app", source=img.image,
                      sha256=img.archive_sha256, keep=1, pin=version == "v1")
        staged.append(out)
    assert staged[2].removed == [staged[1].release]
    kept = sorted(p.name for p in (home / "hosts/local/services/app/releases").iterdir())
    assert kept == sorted([staged[0].release, staged[2].release])
    again = Stage()(Context(host="local"), host="local", service="app", source=img.image)
    assert again.changed is False and again.release == staged[2].release  # in the store: no archive needed
