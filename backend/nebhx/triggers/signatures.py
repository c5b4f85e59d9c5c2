"""Webhook signatures: which forge signed a body, and whether with the trigger's secret.

    X-Hub-Signature-256: sha256=<hex>   GitHub (HMAC-SHA256 of the body)
    X-Gitea-Signature: <hex>            Gitea (HMAC-SHA256 of the body)
    X-Gitlab-Token: <secret>            GitLab (the secret itself, compared in constant time)
    X-Nebhx-Signature: sha256=<hex>     generic (nebhx trigger install-hook)
"""
from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

HEADERS = {"github": "x-hub-signature-256", "gitea": "x-gitea-signature", "gitlab": "x-gitlab-token",
           "generic": "x-nebhx-signature"}


class BadSignature(PermissionError):
    """No signature, or one the trigger's secret did not make."""


def sign(body: bytes, secret: str) -> str:
    """The generic header's value: ``sha256=<hex>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(headers: Mapping[str, str], body: bytes, secret: str) -> str:
    """The kind of sender whose signature matches (github, gitea, gitlab, generic); BadSignature
    when none is given or a given one does not match."""
    given = {kind: headers.get(name) for kind, name in HEADERS.items() if headers.get(name)}
    if not given:
        raise BadSignature("no signature: send X-Hub-Signature-256, X-Gitea-Signature, "
                           "X-Gitlab-Token or X-Nebhx-Signature")
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    for kind, value in given.items():
        value = value.strip()
        if kind in ("github", "generic"):
            value = value.removeprefix("sha256=")
            want = expected
        elif kind == "gitea":
            want = expected
        else:
            want = secret
        if hmac.compare_digest(value.encode(), want.encode()):
            return kind
    raise BadSignature(f"the {', '.join(given)} signature does not match this trigger's secret")
