"""Issue 18, finding 7: masking by value holds.

Every site masks through one function (nebhx.sealing.masking): a brick's ``ctx.mask`` and
log, and the engine's finish path (``sealing.crypto.mask_values``) for outputs, errors, waits
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
from nebhx.sealing.crypto import mask_values

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


def test_a_secret_given_as_a_run_input_is_normalised_like_a_stored_one(secured):
    """The editor's Run dialog and `nebhx run -i` send a Secret input's value with the run: it
    loses its trailing line end and refuses other control characters, as `nebhx secret` does."""
    from nebhx.graph_model import Graph
    from nebhx.runs.service import BadInputs, check_inputs
    from nebhx.sealing.crypto import unseal_value
    doc = {"format": "nebhx/graph@1", "name": "login", "nodes": [], "edges": [],
           "inputs": [{"name": "password", "type": "Secret", "required": True}]}
    given = check_inputs(Graph.model_validate(doc), {"password": "k3y-value-1234\n"})
    assert unseal_value(given["password"]) == "k3y-value-1234"
    with pytest.raises(BadInputs, match="input 'password' \\(Secret\\): a secret cannot hold the control character U\\+001B"):
        check_inputs(Graph.model_validate(doc), {"password": "\x1b[31mred"})
    admin = bearer(add_user("admin1", "admin"))
    answer = secured.post("/api/runs", json={"graph": doc, "inputs": {"password": "a\x00b"}}, headers=admin)
    assert answer.status_code == 422 and "password" in answer.text and "U+0000" in answer.text, answer.text


def test_a_brick_masks_before_it_cuts_an_excerpt():
    """A webhook that echoes its token just before the 200th character of its answer: the
    excerpt in the error is cut from the masked answer, so not even a short start shows."""
    import http.server
    import threading

    from nebhx import BrickFailed
    from nebhx_blocks.notify.notify import Webhook

    class Echo(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's hook
            self.rfile.read(int(self.headers["Content-Length"]))
            body = ("x" * 195 + self.headers["Authorization"].split()[1] + " denied").encode()
            self.send_response(401)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass
    server = http.server.HTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with pytest.raises(BrickFailed) as failed:
            Webhook()(Context(secrets=[SECRET]), url=f"http://127.0.0.1:{server.server_port}/hook", token=SECRET)
    finally:
        server.shutdown()
    assert "answered 401: " + "x" * 195 in str(failed.value)
    assert _leaks(str(failed.value), SECRET, least=3) == [], str(failed.value)[-40:]


@pytest.mark.parametrize("cut", [2000, 300])
def test_a_host_command_that_prints_a_secret_leaks_no_piece_at_the_cut(cut):
    """A command run on a host (shell.run) fails printing a secret just before the cut of its
    stderr; a build script (run_script) does the same: the excerpt is cut after masking,
    so not even a 3-character end of the secret shows where edge masking (8+) stops."""
    from nebhx import BrickFailed
    from nebhx.runtime import shell
    ctx = Context(secrets=[SECRET])
    tail = "y" * (cut - 4)  # the cut would begin with the secret's last 4 characters
    with pytest.raises(BrickFailed) as failed:  # the secret in its environment, not on its command line
        shell.run(["sh", "-c", 'printf "key %s%s\\n" "$S" "$T" >&2; exit 3'], ctx=ctx,
                  env={"PATH": "/usr/bin:/bin", "S": SECRET, "T": tail})
    assert "exit 3" in str(failed.value) and _leaks(str(failed.value), SECRET, least=3) == [], str(failed.value)[-200:]
    from nebhx.sealing.masking import excerpt
    shown = excerpt(f"key {SECRET}{tail}", cut, ctx.mask)
    assert shown.endswith(tail) and _leaks(shown, SECRET, least=3) == []
