"""Webhook signatures: which sender signed a delivery, with the trigger's secret, and what
identifies the delivery so that it is taken once.

    X-Hub-Signature-256: sha256=<hex>   GitHub (HMAC-SHA256 of the body)
    X-Gitea-Signature: <hex>            Gitea (HMAC-SHA256 of the body)
    X-Gitlab-Token: <secret>            GitLab (the secret itself, compared in constant time)
    X-Nebhx-Signature: sha256=<hex>     generic (nebhx trigger install-hook): HMAC-SHA256 of
                                        "<X-Nebhx-Timestamp>.<X-Nebhx-Delivery>." + body

A forge signs only the body, so its delivery is known by the body's hash (a push's body names
its commits: a second delivery of the same body is a replay). The generic hook signs its
delivery id and time too: a delivery older or newer than WINDOW_S is refused as well. So is
a GitHub push whose signed body's ``repository.pushed_at`` (the push's time, Unix seconds) is
outside the window: GitHub's redelivery of an old push is refused too. Gitea's and GitLab's
bodies hold no time of the push (only commit times, which may be old): theirs are refused when
received before, however long ago (not in WINDOWED: the service keeps their keys).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass

HEADERS = {"github": "x-hub-signature-256", "gitea": "x-gitea-signature", "gitlab": "x-gitlab-token",
           "generic": "x-nebhx-signature"}
WINDOW_S = 300
WINDOWED = ("github", "generic")  # senders whose deliveries' time is signed and checked
_DELIVERY = re.compile(r"^[A-Za-z0-9_.-]{8,100}$")


class BadSignature(PermissionError):
    """No signature, one the trigger's secret did not make, or a delivery out of its time window."""


@dataclass(frozen=True)
class Delivery:
    kind: str  # github, gitea, gitlab or generic
    key: str  # what identifies it: "generic:<id>", else "<kind>:<sha256 of the body>"


def sign(body: bytes, secret: str) -> str:
    """A forge's signature of a body: ``sha256=<hex>`` (GitHub's header; Gitea's without the prefix)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def sign_delivery(body: bytes, secret: str, *, delivery: str, timestamp: int) -> str:
    """The generic header's value: the delivery's id and time signed with its body."""
    return sign(f"{timestamp}.{delivery}.".encode() + body, secret)


def verify(headers: Mapping[str, str], body: bytes, secret: str, now: float | None = None) -> Delivery:
    """The delivery whose signature matches; BadSignature when none is given, a given one does
    not match, or a generic delivery has no id and time or one outside the window."""
    given = {kind: headers.get(name) for kind, name in HEADERS.items() if headers.get(name)}
    if not given:
        raise BadSignature("no signature: send X-Hub-Signature-256, X-Gitea-Signature, "
                           "X-Gitlab-Token or X-Nebhx-Signature")
    for kind, value in given.items():
        value = value.strip()
        if kind == "generic":
            signed, key = _generic(headers, body, now)
            want = sign(signed, secret)
        else:
            key = f"{kind}:{hashlib.sha256(body).hexdigest()}"
            want = secret if kind == "gitlab" else sign(body, secret)
            if kind == "gitea":
                want = want.removeprefix("sha256=")
        if kind in ("github", "generic") and not value.startswith("sha256="):
            value = "sha256=" + value
        if hmac.compare_digest(value.encode(), want.encode()):
            if kind == "github":
                _github_time(body, now)
            return Delivery(kind, key)
    raise BadSignature(f"the {', '.join(given)} signature does not match this trigger's secret")


def _generic(headers: Mapping[str, str], body: bytes, now: float | None) -> tuple[bytes, str]:
    """What the generic signature covers, and the delivery's key; BadSignature for a delivery
    without a usable id and time, or one outside the window."""
    delivery = (headers.get("x-nebhx-delivery") or "").strip()
    stamp = (headers.get("x-nebhx-timestamp") or "").strip()
    if not _DELIVERY.match(delivery) or not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 12):
        raise BadSignature("the X-Nebhx-Signature does not match: a generic delivery signs its "
                           "X-Nebhx-Delivery (8-100 of A-Z a-z 0-9 _ . -) and X-Nebhx-Timestamp (Unix seconds) "
                           "with its body; a hook installed before must be installed again "
                           "(nebhx trigger install-hook)")
    _within(int(stamp), now, f"delivery {delivery} was sent")
    return f"{stamp}.{delivery}.".encode() + body, f"generic:{delivery}"


def _github_time(body: bytes, now: float | None) -> None:
    """A GitHub push's signed time (``repository.pushed_at``) inside the window; BadSignature if not."""
    try:
        pushed = json.loads(body)["repository"]["pushed_at"]
    except (ValueError, KeyError, TypeError):
        pushed = None
    if not isinstance(pushed, int) or isinstance(pushed, bool):
        raise BadSignature("a GitHub delivery is taken only as a push whose signed body holds its time "
                           "(repository.pushed_at, Unix seconds): this one has none")
    _within(pushed, now, "the push (repository.pushed_at) was made")


def _within(stamp: int, now: float | None, what: str) -> None:
    skew = abs((time.time() if now is None else now) - stamp)
    if skew > WINDOW_S:
        raise BadSignature(f"{what} {int(skew)} s from now, outside the {WINDOW_S} s "
                           "window (a replay, or a clock that is off)")
