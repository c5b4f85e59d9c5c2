"""Issue 18, finding 7: masking by value holds.

Every site masks through one function (nebhx.secrets.masking): a brick's ``ctx.mask`` and
log, and the engine's finish path (``secrets.crypto.mask_values``) for outputs, errors, waits
and logs. Tried here: an excerpt cut inside a secret (500/200 characters, a log chunk), the
JSON-escaped, repr and URL-encoded forms of a secret, secrets masked in list order, and a
secret with a trailing newline or a control character.
"""
from __future__ import annotations

import json
from urllib.parse import quote, quote_plus

import pytest
from apikit import add_user, bearer

from nebhx import Context
from nebhx.secrets.crypto import mask_values

SECRET = "s3cr3t-T0ken-a8f9c2d4e5"
QUOTED = 'pa"ss\\w0rd-with "quotes"'
SPACED = "p@ss w/rd&x=1;y"


def _leaks(text: str, secret: str, least: int = 8) -> list[str]:
    """Every piece of ``secret`` of ``least`` characters or more that ``text`` still shows."""
    return [secret[i:i + least] for i in range(len(secret) - least + 1) if secret[i:i + least] in text]


def _masks() -> list:
    """Both doors: a brick's context, and the engine's finish path."""
    ctx = Context(secrets=[SECRET, QUOTED, SPACED])
    return [ctx.mask, lambda text: mask_values(text, [SECRET, QUOTED, SPACED])]


@pytest.mark.parametrize("door", [0, 1], ids=["ctx.mask", "finish path"])
def test_an_excerpt_cut_inside_a_secret_leaks_no_prefix(door):
    mask = _masks()[door]
    body = "x" * 190 + SECRET + " more"
    for cut in (body[:200], body[:205], f"webhook answered 401: {body[:200]}", f"rendered {body[:200]!r}, not a URL"):
        assert _leaks(mask(cut), SECRET) == [], cut
    tail = (SECRET + "\n" + "y" * 300)[-(300 + len(SECRET) - 5):]  # a tail cut: a secret's suffix first
    assert _leaks(mask(f"exit code 1: {tail}"), SECRET) == []
    first, second = ("log: " + SECRET)[:17], ("log: " + SECRET)[17:]  # a log streamed in two chunks
    assert _leaks(mask(first), SECRET) == [] and _leaks(mask(second), SECRET) == []


@pytest.mark.parametrize("door", [0, 1], ids=["ctx.mask", "finish path"])
def test_escaped_repr_and_url_forms_are_masked(door):
    mask = _masks()[door]
    answer = json.dumps({"password": QUOTED, "token": SECRET})
    assert QUOTED.replace('"', '\\"') not in mask(answer)
    assert json.dumps(QUOTED)[1:-1] not in mask(answer) and "******" in mask(answer)
    assert repr(QUOTED)[1:-1] not in mask(f"bad value {QUOTED!r}")
    for form in (quote(SPACED, safe=""), quote(SPACED), quote_plus(SPACED)):
        assert form not in mask(f"GET /login?password={form}&next=1"), form


def test_the_longest_secret_is_masked_first():
    short, long = "abcdefgh", "abcdefgh-ijkl-mnop"
    assert Context(secrets=[short, long]).mask(f"token={long}") == "token=******"
    assert mask_values({"x": f"token={long}"}, [short, long]) == {"x": "token=******"}


def test_a_secret_with_a_trailing_newline_is_stored_as_the_cli_stores_it(secured):
    from nebhx.secrets.service import secret_value
    from nebhx.store.db import session_scope
    admin = bearer(add_user("admin1", "admin"))
    assert secured.put("/api/secrets/key", json={"value": "k3y-value-1234\r\n"}, headers=admin).status_code == 204
    with session_scope() as s:
        assert secret_value(s, name="key") == "k3y-value-1234"  # `nebhx secret` strips it too
    pem = "-----BEGIN KEY-----\nabc\ndef\n-----END KEY-----\n"
    assert secured.put("/api/secrets/pem", json={"value": pem}, headers=admin).status_code == 204
    with session_scope() as s:
        assert secret_value(s, name="pem") == pem.rstrip("\n")  # inner newlines kept
    for bad in ("a\x00b", "\x1b[31mred", "tab\x7fdel"):
        answer = secured.put("/api/secrets/bad", json={"value": bad}, headers=admin)
        assert answer.status_code == 422 and "/body/value" in answer.text, (bad, answer.text)
