"""A viewer's plan executes nothing: no package manager or build backend runs, no host name
leads out of NEBHX_HOME, no path outside the host's folders is read, and a plan ends within its
deadline whatever a host or the graph does (issue 18, finding 1).

One embedded stack (API + the agent of host `local`, sign-in required) and a viewer's token:
the plan goes through the real route, the real dispatch to the host's agent and back.
"""
from __future__ import annotations

import json
import os
import threading
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from support import Stack, graph, make_env

VIEWER_PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def viewer(tmp_path_factory):
    """(stack, a viewer's client): the API and the agent of `local` as real processes."""
    home = tmp_path_factory.mktemp("plan-attacks") / "home"
    home.mkdir()
    stack = Stack(home, make_env(home, NEBHX_AUTH="required", NEBHX_PLAN_TIMEOUT_S="20",
                                 NEBHX_PLAN_HOST_TIMEOUT_S="3")).start()
    from nebhx.auth import service
    from nebhx.store.db import session_scope
    with session_scope(f"sqlite:///{home / 'nebhx.db'}") as s:
        service.create_user(s, name="vera", password=VIEWER_PASSWORD, role="viewer")
        token = service.create_token(s, owner="vera", name="plan").token
    client = httpx.Client(base_url=stack.url + "/api", timeout=120,
                          headers={"Authorization": f"Bearer {token}"})
    from support import wait_for
    wait_for(lambda: client.get("/hosts").json()[0]["state"] == "up", 30, what="host local up")
    yield stack, client
    client.close()
    stack.stop()


def plan(client: httpx.Client, nodes: list, inputs: dict | None = None) -> dict:
    resp = client.post("/graphs/plan", json={"graph": graph("attack", nodes), "inputs": inputs or {}})
    assert resp.status_code == 200, resp.text
    return resp.json()["nodes"]


def evil_project(root: Path, marker: Path) -> Path:
    """A source tree whose PEP 517 build backend writes ``marker`` as soon as anything imports it."""
    root.mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "evil_backend"\nbackend-path = ["."]\n'
        '[project]\nname = "evil"\nversion = "1.0"\n')
    (root / "evil_backend.py").write_text(
        f"import os\nopen({str(marker)!r}, 'w').write('uid %d' % os.getuid())\n"
        "def get_requires_for_build_wheel(config_settings=None): return []\n"
        "def prepare_metadata_for_build_wheel(d, config_settings=None): raise SystemExit(1)\n"
        "def build_wheel(d, config_settings=None, metadata_directory=None): raise SystemExit(1)\n")
    return root


def test_a_viewers_plan_of_a_pip_source_runs_no_package_manager(viewer, tmp_path):
    _stack, client = viewer
    marker = tmp_path / "backend-ran"
    src = evil_project(tmp_path / "evil", marker)
    nodes = plan(client, [
        ("prepare", "rollout.prepare", {"host": "local", "service": "web", "source": f"pip:{src}"}),
        ("stage", "release.stage", {"host": "local", "service": "web", "source": f"pip:{src}"}),
        ("prepare_url", "rollout.prepare", {"host": "local", "service": "web",
                                            "source": f"pip:evil @ file://{src}"}),
    ])
    assert not marker.exists(), f"a viewer's plan ran a build backend: {marker.read_text()}"
    for nid in ("prepare", "stage", "prepare_url"):
        assert nodes[nid]["changes"] is None, nodes[nid]
        assert "pip" in nodes[nid]["effect"] and "cannot tell" in nodes[nid]["effect"], nodes[nid]


def test_a_host_name_cannot_lead_out_of_nebhx_home(viewer):
    stack, client = viewer
    outside = stack.home.parent / "escaped"
    nodes = plan(client, [
        ("prepare", "rollout.prepare", {"host": "../../escaped", "service": "web", "source": "/nope",
                                        "release_id": "1.0"}),
        ("switch", "rollout.switch", {"host": "../../escaped/x", "service": "web", "command": "true",
                                      "data_policy": "keep"}),
        ("volume", "storage.volume", {"host": "..", "name": "v"}),
    ])
    assert not outside.exists() and not (stack.home / "hosts" / "..").resolve().joinpath("x").exists()
    assert sorted(p.name for p in stack.home.parent.iterdir()) == ["home"]
    for nid, host in (("prepare", "../../escaped"), ("switch", "../../escaped/x"), ("volume", "..")):
        assert nodes[nid].get("fails") is True, nodes[nid]
        assert f"host {host!r} is not a host name" in nodes[nid]["effect"], nodes[nid]


class FifoWatch:
    """A named pipe in a folder: tells whether anything opened it for reading (a hash of the
    folder would, and would hang there until a writer came)."""

    def __init__(self, folder: Path):
        folder.mkdir(parents=True)
        (folder / "app.py").write_text("print('hello')\n")
        self.fifo = folder / "pipe"
        os.mkfifo(self.fifo)
        self.read, self.stop = False, threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self.stop.wait(0.05):
            try:
                fd = os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:  # ENXIO: no reader has it open
                continue
            self.read = True
            os.write(fd, b"x")
            os.close(fd)

    def __enter__(self) -> FifoWatch:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(5)


def test_a_plan_reads_no_path_outside_the_hosts_folders(viewer, tmp_path):
    _stack, client = viewer
    with FifoWatch(tmp_path / "outside" / "app") as watch:
        nodes = plan(client, [
            ("prepare", "rollout.prepare", {"host": "local", "service": "web",
                                            "source": str(watch.fifo.parent)}),
            ("stage", "release.stage", {"host": "local", "service": "web", "source": str(watch.fifo)}),
        ])
    assert not watch.read, "the plan opened a file outside the host's folders"
    for nid in ("prepare", "stage"):
        assert nodes[nid]["changes"] is None and "cannot tell" in nodes[nid]["effect"], nodes[nid]
        assert "outside the folders a plan may read" in nodes[nid]["effect"], nodes[nid]


def test_a_host_that_does_not_answer_is_waited_for_only_until_the_deadline(viewer):
    stack, client = viewer
    from nebhx.store.db import session_scope
    from nebhx.store.models import HostRow, WorkerRow, utcnow
    # An agent that beats but never takes its plan task (busy, or wedged).
    with session_scope(f"sqlite:///{stack.home / 'nebhx.db'}") as s:
        s.merge(HostRow(name="wedged", labels={"role": "stuck"}, last_seen=utcnow() + timedelta(minutes=10)))
        s.merge(WorkerRow(id="wedged:w1", host="wedged", last_seen=utcnow() + timedelta(minutes=10)))
    started = time.monotonic()
    nodes = plan(client, [("prepare", "rollout.prepare", {"host": "wedged", "service": "web",
                                                          "source": "/srv/app.tar", "release_id": "2.0"}),
                          ("here", "rollout.prepare", {"host": "local", "service": "web",
                                                       "source": "/srv/app.tar", "release_id": "2.0"})])
    took = time.monotonic() - started
    assert nodes["prepare"]["changes"] is None, nodes["prepare"]
    assert "cannot tell: host wedged did not answer within 3 s" in nodes["prepare"]["effect"]
    assert nodes["here"]["changes"] is True and "stage release 2.0" in nodes["here"]["effect"], nodes["here"]
    assert took < 30, took  # the host's deadline, not a hang (generous: the machine is shared)


def test_a_plan_over_a_huge_list_is_cut_at_the_plan_limit(viewer):
    _stack, client = viewer
    items = [f"x{i} {{{{ n }}}}" for i in range(60_000)]
    doc = graph("huge", [("each", "core.template", {"template": {"$input": "many"}, "values": {"n": 1}},
                          {"for_each": "template"})], inputs=[{"name": "many", "type": "string[]"}])
    resp = client.post("/graphs/plan", json={"graph": doc, "inputs": {"many": items}})
    assert resp.status_code == 200, resp.text[:500]
    each = resp.json()["nodes"]["each"]
    assert each["changes"] is None and "60000 items" in each["effect"], {k: v for k, v in each.items() if k != "inputs"}
    assert "a plan tells at most" in each["effect"]
    assert len(json.dumps(each)) < 3_000_000
