"""Config profiles stored as revisions, explained per host, rendered on a host by a run."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from support import ROOT, graph, wire

BASE = {"values": {"greeting": "hello", "log": {"level": "info", "dir": "/var/log"}},
        "templates": {"app.json": '{"greeting": "{{ greeting }}", "level": "{{ log.level }}"}\n'}}
DB = {"parents": ["base-linux"], "values": {"log": {"level": "warn"}, "port": 5432},
      "hosts": {"local": {"port": 6432}}}


def test_profiles_revisions_explain_and_render(stack, tmp_path):
    with stack.client() as c:
        assert c.put("/config/profiles/base-linux", json=BASE).json() == {"name": "base-linux", "revision": 1,
                                                                          "changed": True}
        assert c.put("/config/profiles/db-on-linux", json=DB).json()["revision"] == 1
        assert c.put("/config/profiles/db-on-linux", json=DB).json() == {"name": "db-on-linux", "revision": 1,
                                                                         "changed": False}
        bad = c.put("/config/profiles/base-linux", json={**BASE, "parents": ["db-on-linux"]})
        assert bad.status_code == 422 and "cycle" in bad.text
        missing = c.put("/config/profiles/x", json={"parents": ["nope"]})
        assert missing.status_code == 422 and "nope" in missing.text
        broken = c.put("/config/profiles/x", json={"templates": {"a.conf": "{% if %}"}})
        assert broken.status_code == 422 and "template 'a.conf' line 1" in broken.text
        abstract = c.put("/config/profiles/abstract", json={"templates": {"a.conf": "{{ only_in_children }}"}})
        assert abstract.status_code == 200
        ex = c.get("/config/profiles/db-on-linux/explain", params={"host": "local"}).json()
    assert ex["values"]["port"] == 6432 and ex["values"]["log"] == {"level": "warn", "dir": "/var/log"}
    assert ex["explain"]["port"]["layer"] == "db-on-linux@host:local"
    assert ex["explain"]["log.dir"]["layer"] == "base-linux"
    assert ex["explain"]["log.level"]["overrode"][0]["layer"] == "base-linux"
    cli = subprocess.run([sys.executable, "-m", "nebhx.cli.main", "config", "explain", "db-on-linux", "--host",
                          "local"], capture_output=True, text=True, env={**stack.env, "NEBHX_URL": stack.url,
                                                                         "COLUMNS": "200"}, cwd=ROOT, timeout=60)
    assert cli.returncode == 0, cli.stderr
    assert "db-on-linux@host:local" in cli.stdout and "base-linux -> db-on-linux" in cli.stdout
    run = stack.run(graph("render", [
        ("profiles", "config.profiles"),
        ("render", "config.render", {"host": "local", "service": f"db-{stack.kind.replace('+', '-')}",
                                     "profile": "db-on-linux"}),
    ], [wire("profiles", "profiles", "render", "profiles")]))
    assert run["status"] == "succeeded", run
    out = run["nodes"]["render"]["outputs"]
    assert out["version"] == ex["version"]
    assert run["nodes"]["profiles"]["outputs"]["revisions"] == {"abstract": 1, "base-linux": 1, "db-on-linux": 1}
    written = Path(out["path"]) / "app.json"
    assert written.read_text() == '{"greeting": "hello", "level": "warn"}\n'
