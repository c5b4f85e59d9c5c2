"""Build on push against a real stack: a bare repository's post-receive hook calls the
trigger's webhook, the run checks out the pushed commit, packs it, stages the artifact on host
`local`, switches and serves it; the staged release names the commit and build run."""
from __future__ import annotations

import json
import re
import subprocess
import sys

import httpx

from buildkit import app_repo, commit_version, push
from support import ROOT, free_port, wait_for

SECRET = "push-hook-s3cret"


def store_example(stack, bare, trigger: str, port: int) -> dict:
    doc = json.loads((ROOT / "examples" / "build-on-push.json").read_text())
    doc["name"] = f"build-on-push-{trigger}"
    next(i for i in doc["inputs"] if i["name"] == "port")["default"] = port
    doc["meta"]["triggers"][0].update(name=trigger, repository=str(bare), secret=f"{trigger}-secret")
    with stack.client() as c:
        assert c.put(f"/secrets/{trigger}-secret", json={"value": SECRET}).status_code == 204
        resp = c.post("/graphs", json=doc)
        assert resp.status_code == 201, resp.text
    return resp.json()


def install_hook(stack, bare, trigger: str) -> None:
    out = subprocess.run([sys.executable, "-m", "nebhx.cli.main", "trigger", "install-hook", str(bare), trigger,
                          "--secret", SECRET, "--url", stack.url], env=stack.env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def pushed_run(stack, said: str) -> dict:
    found = re.search(r"nebhx: run (\w+) started for refs/heads/main", said)
    assert found, said
    return stack.wait_run(found.group(1), timeout=120)


def test_each_push_builds_stages_and_serves_the_pushed_commit(stack, tmp_path):
    bare, clone = app_repo(tmp_path)
    port = free_port()
    store_example(stack, bare, "app-push", port)
    install_hook(stack, bare, "app-push")
    service = stack.home / "hosts" / "local" / "services" / "built-app"
    for version in ("v2", "v3"):
        commit = commit_version(clone, version)
        run = pushed_run(stack, push(clone))
        assert run["status"] == "succeeded", {n: v["error"] for n, v in run["nodes"].items()}
        assert run["inputs"]["commit"] == commit and run["outputs"]["commit"] == commit
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=5).json()["version"] == version
        provenance = json.loads((service / "current" / ".nebhx-provenance.json").read_text())
        assert provenance["commit"] == commit and provenance["run"] == run["id"]
        assert provenance["repository"] == str(bare) and provenance["artifact"] == "webapp.tar.gz"
        with stack.client() as c:
            trigger = c.get(f"/triggers/runs/{run['id']}").json()["trigger"]
            assert trigger["name"] == "app-push" and trigger["commit"] == commit and trigger["kind"] == "generic"
            artifact = c.get("/artifacts", params={"name": "webapp.tar.gz"}).json()[0]
            assert artifact["provenance"]["commit"] == commit and run["outputs"]["artifact"] == artifact["source"]
            blob = c.get(f"/artifacts/{artifact['sha256']}")
            assert blob.status_code == 200 and len(blob.content) == artifact["size"]

        def shown():  # the releases view, from the agent's heartbeat
            rows = stack.client().get("/releases", params={"host": "local", "service": "built-app"}).json()
            active = [r for row in rows for r in row["releases"] if r["active"]]
            return active and active[0].get("commit") == commit and active[0]
        assert wait_for(shown, 20, what="the releases view shows the commit")["build_run"] == run["id"]
    assert len([p for p in (service / "releases").iterdir() if not p.name.startswith(".")]) == 2


def test_a_wrong_signature_an_unknown_trigger_or_repository_starts_nothing(stack, tmp_path):
    bare, _ = app_repo(tmp_path)
    store_example(stack, bare, "guarded", free_port())
    body = json.dumps({"repository": str(bare), "ref": "refs/heads/main", "commit": "a" * 40}).encode()
    from nebhx.triggers.signatures import sign
    with stack.client() as c:
        before = len(c.get("/runs").json())
        unsigned = c.post("/triggers/guarded", content=body)
        forged = c.post("/triggers/guarded", content=body, headers={"X-Nebhx-Signature": sign(body, "guess")})
        gitlab = c.post("/triggers/guarded", content=body, headers={"X-Gitlab-Token": "guess"})
        unknown = c.post("/triggers/nope", content=body, headers={"X-Nebhx-Signature": sign(body, SECRET)})
        other = json.dumps({"repository": "/elsewhere/other.git", "ref": "refs/heads/main", "commit": "b" * 40}).encode()
        elsewhere = c.post("/triggers/guarded", content=other, headers={"X-Gitea-Signature": sign(other, SECRET)[7:]})
        branch = json.dumps({"repository": str(bare), "ref": "refs/heads/dev", "commit": "c" * 40}).encode()
        ignored = c.post("/triggers/guarded", content=branch, headers={"X-Gitea-Signature": sign(branch, SECRET)[7:]})
        assert [unsigned.status_code, forged.status_code, gitlab.status_code] == [401, 401, 401]
        assert "no signature" in unsigned.json()["detail"] and "does not match" in forged.json()["detail"]
        assert unknown.status_code == 404 and "no trigger 'nope'" in unknown.json()["detail"]
        assert elsewhere.status_code == 404 and "does not build repository '/elsewhere/other.git'" in elsewhere.text
        assert ignored.status_code == 202 and ignored.json()["started"] is False
        assert len(c.get("/runs").json()) == before
        audit = [a for a in c.get("/audit", params={"limit": 50}).json() if a["actor"] == "trigger:guarded"]
    assert sorted(a["data"]["status"] for a in audit) == [202, 401, 401, 401, 404]
