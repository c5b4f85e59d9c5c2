"""From `git push` to the new version answering on host `local`.

    .venv/bin/python bench/push_to_serving.py [--pushes N] [--postgres]

A real stack (API + worker over SQLite and the filesystem broker, or PostgreSQL and Redis
with --postgres) stores examples/build-on-push.json with its trigger pointed at a fresh
bare repository whose post-receive hook (nebhx trigger install-hook) calls the webhook. Each
push commits a new VERSION of the example app; the clock runs from `git push` until
GET / on the app answers that version. Printed per push and as the median: the total,
and the parts from the run's node times: trigger (push until the run exists), build
(checkout + tarball), stage, switch, serve (service.run ready) and check.
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "build")]
from buildkit import GIT_ENV, app_repo, commit_version  # noqa: E402
from support import Stack, create_pg_database, free_port, make_env, start_redis, wait_for  # noqa: E402

SECRET = "bench-push-secret"
PARTS = {"build": ("checkout", "tarball"), "stage": ("stage",), "switch": ("switch",),
         "serve": ("serve",), "check": ("url", "check")}


def _t(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


def parts(run: dict, pushed_at: float) -> dict[str, float]:
    nodes = run["nodes"]
    out = {"trigger": _t(run["created_at"]) - pushed_at}
    for part, ids in PARTS.items():
        out[part] = _t(nodes[ids[-1]]["finished_at"]) - _t(nodes[ids[0]]["started_at"])
    return out


def setup(stack: Stack, tmp: Path) -> tuple[Path, int]:
    bare, clone = app_repo(tmp)
    port = free_port()
    doc = json.loads((ROOT / "examples" / "build-on-push.json").read_text())
    next(i for i in doc["inputs"] if i["name"] == "port")["default"] = port
    doc["meta"]["triggers"][0]["repository"] = str(bare)
    with stack.client() as c:
        c.put("/secrets/build-on-push-hook", json={"value": SECRET}).raise_for_status()
        c.post("/graphs", json=doc).raise_for_status()
    subprocess.run([sys.executable, "-m", "nebhx.cli.main", "trigger", "install-hook", str(bare), "build-on-push",
                    "--secret", SECRET, "--url", stack.url], env=stack.env, check=True, capture_output=True)
    return clone, port


def one_push(stack: Stack, clone: Path, port: int, version: str) -> dict[str, float]:
    commit_version(clone, version)
    start = time.time()
    said = subprocess.run(["git", "push", "origin", "main"], cwd=clone, capture_output=True, text=True,
                          env={**__import__("os").environ, **GIT_ENV}, check=True).stderr
    run_id = re.search(r"nebhx: run (\w+) started", said).group(1)
    wait_for(lambda: httpx.get(f"http://127.0.0.1:{port}/", timeout=2).json()["version"] == version,
             180, interval=0.02, what=f"{version} answering")
    total = time.time() - start
    run = stack.wait_run(run_id, 60)
    if run["status"] != "succeeded":
        raise SystemExit(f"run {run_id} {run['status']}: {run['error']}")
    return {"total": total, **parts(run, start)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pushes", type=int, default=5)
    ap.add_argument("--postgres", action="store_true", help="PostgreSQL + Redis instead of SQLite + files")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="nebhx-bench-push-") as tmp:
        home, cleanups = Path(tmp) / "home", []
        home.mkdir()
        if args.postgres:
            redis, broker = start_redis()
            db, drop = create_pg_database()
            env = make_env(home, db, broker)
            cleanups = [drop, redis.terminate]
        else:
            env = make_env(home)
        stack = Stack(home, env).start()
        try:
            clone, port = setup(stack, Path(tmp))
            rows = [one_push(stack, clone, port, f"v{i + 2}") for i in range(args.pushes)]
        finally:
            stack.stop()
            for cleanup in cleanups:
                cleanup()
    keys = list(rows[0])
    print(f"push to serving, {'PostgreSQL + Redis' if args.postgres else 'SQLite + filesystem broker'}, "
          f"{args.pushes} pushes (seconds)")
    print(" ".join(f"{k:>8}" for k in ["push", *keys]))
    for i, row in enumerate(rows, 1):
        print(" ".join([f"{i:>8}", *(f"{row[k]:8.2f}" for k in keys)]))
    print(" ".join([f"{'median':>8}", *(f"{statistics.median(r[k] for r in rows):8.2f}" for k in keys)]))


if __name__ == "__main__":
    main()
