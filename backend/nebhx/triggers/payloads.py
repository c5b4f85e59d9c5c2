"""What a push says, whoever sent it: the repository (every name it goes by), ref and commit."""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any

ZERO = "0" * 40


@dataclass(frozen=True)
class Push:
    repositories: tuple[str, ...]  # every name the sender gives the repository, the first shown
    ref: str
    commit: str
    before: str = ""

    def fields(self, repository: str) -> dict[str, str]:
        """What a trigger's ``inputs`` mapping may take from the push."""
        branch = self.ref.removeprefix("refs/heads/") if self.ref.startswith("refs/heads/") else ""
        tag = self.ref.removeprefix("refs/tags/") if self.ref.startswith("refs/tags/") else ""
        return {"repository": repository, "ref": self.ref, "commit": self.commit, "before": self.before,
                "branch": branch, "tag": tag}


def parse(body: Any) -> Push:
    """A GitHub, Gitea, GitLab or generic push (``{repository, ref, commit}``); ValueError when
    it is none of them."""
    if not isinstance(body, dict):
        raise ValueError("the payload is not a JSON object")
    repo = body.get("repository")
    project = body.get("project") if isinstance(body.get("project"), dict) else {}
    names: list[str] = []
    if isinstance(repo, str):
        names.append(repo)
    for obj in (repo if isinstance(repo, dict) else {}, project):
        names += [obj[k] for k in ("clone_url", "git_http_url", "ssh_url", "git_ssh_url", "html_url",
                                   "web_url", "url", "full_name", "path_with_namespace")
                  if isinstance(obj.get(k), str)]
    commit = body.get("commit") or body.get("checkout_sha") or body.get("after") or ""
    ref = body.get("ref") or ""
    if not names or not isinstance(ref, str) or not ref or not isinstance(commit, str):
        raise ValueError("the payload names no repository and ref (a push event: repository, ref, commit)")
    return Push(tuple(dict.fromkeys(names)), ref, commit, str(body.get("before") or ""))


def _norm(name: str) -> str:
    return name.removeprefix("file://").rstrip("/").removesuffix(".git").rstrip("/").lower()


def matching_repository(push: Push, patterns: list[str] | str | None) -> str | None:
    """The name of the pushed repository the trigger declares (glob patterns), else None."""
    patterns = [patterns] if isinstance(patterns, str) else list(patterns or [])
    for name in push.repositories:
        if any(fnmatch.fnmatchcase(_norm(name), _norm(p)) for p in patterns):
            return name
    return None


def ref_wanted(ref: str, patterns: list[str] | None) -> bool:
    return not patterns or any(fnmatch.fnmatchcase(ref, p) for p in patterns)
