"""Helpers for the build tests: a real git repository with the example app in it."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from support import ROOT

GIT_ENV = {"GIT_AUTHOR_NAME": "Dev", "GIT_AUTHOR_EMAIL": "dev@example.com",
           "GIT_COMMITTER_NAME": "Dev", "GIT_COMMITTER_EMAIL": "dev@example.com"}


def git(*args: str, cwd: Path, env: dict | None = None) -> str:
    import os
    full = {**os.environ, **GIT_ENV, **(env or {})}
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True,
                          env=full).stdout.strip()


def app_repo(tmp: Path, version: str = "v1") -> tuple[Path, Path]:
    """A bare repository and a clone of it holding examples/app with VERSION ``version``,
    committed and pushed to main (no hook yet); (bare, clone)."""
    bare, clone = tmp / "app.git", tmp / "clone"
    git("init", "--quiet", "--bare", "--initial-branch=main", str(bare), cwd=tmp)
    git("init", "--quiet", "--initial-branch=main", str(clone), cwd=tmp)
    shutil.copytree(ROOT / "examples" / "app", clone / "examples" / "app")
    commit_version(clone, version)
    git("remote", "add", "origin", str(bare), cwd=clone)
    git("push", "--quiet", "origin", "main", cwd=clone)
    return bare, clone


def commit_version(clone: Path, version: str) -> str:
    (clone / "examples" / "app" / "VERSION").write_text(version + "\n")
    git("add", "-A", cwd=clone)
    git("commit", "--quiet", "-m", f"version {version}", cwd=clone)
    return git("rev-parse", "HEAD", cwd=clone)


def push(clone: Path) -> str:
    """``git push origin main``; what the remote said (the hook's lines)."""
    import os
    proc = subprocess.run(["git", "push", "origin", "main"], cwd=clone, capture_output=True, text=True,
                          env={**os.environ, **GIT_ENV}, check=True)
    return proc.stderr + proc.stdout
