"""nebhx secret rotate-key: a new key, every sealed value re-sealed, the old key opens nothing."""
from __future__ import annotations

import re
import subprocess
import sys
import uuid

import pytest
from cryptography.fernet import Fernet, InvalidToken

from secret_support import every_cell
from support import ROOT, graph

from nebhx.graphs.service import create_graph
from nebhx.sealing import keys
from nebhx.secrets import rotate
from nebhx.sealing.crypto import seal, unseal_value
from nebhx.secrets.service import put_secret, secret_value
from nebhx.store.db import session_scope
from nebhx.store.models import NodeRow, RunRow
from nebhx.settings import get_settings

TOKEN = re.compile(r"gAAAAA[A-Za-z0-9_\-]+=*")  # a Fernet token, wherever a cell holds one


def nebhx(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nebhx.cli.main", *args], capture_output=True, text=True,
                          env=env, timeout=120, cwd=ROOT)


def opens(key: str, token: str) -> bool:
    try:
        Fernet(key.encode()).decrypt(token.encode())
        return True
    except InvalidToken:
        return False


def file_keys() -> list[str]:
    return keys.key_file().read_text().split()


def seed(values: dict[str, str]) -> None:
    """A sealed value in every place the store keeps them: the secrets table and JSON columns."""
    sealed = {k: seal(v) for k, v in values.items()}
    with session_scope() as s:
        put_secret(s, name="db-pw", value=values["secret"])
        gid = create_graph(s, doc=graph("rot", [("a", "test.noop")], meta={"note": sealed["doc"]}, inputs=[
            {"name": "pw", "type": "Secret", "required": False, "default": values["default"]}])).id
        s.flush()
        s.add(RunRow(id="r1", graph_id=gid, revision=1, inputs={"pw": sealed["run_in"]},
                     outputs={"all": [sealed["run_out"]]}))
        s.flush()
        s.add(NodeRow(run_id="r1", node_id="a", brick="test.noop", inputs={"x": {"deep": sealed["node_in"]}},
                      outputs={"y": sealed["node_out"]}, item=sealed["item"], wait={"token": sealed["wait"]}))


def stored_tokens(url: str) -> list[str]:
    return TOKEN.findall(every_cell(url))


def test_rotation_reseals_everything_and_drops_the_old_key(store):
    values = {k: f"{k}-{uuid.uuid4().hex}" for k in (
        "secret", "default", "doc", "run_in", "run_out", "node_in", "node_out", "item", "wait")}
    seed(values)
    old = file_keys()
    before = stored_tokens(store)
    assert len(before) == len(values) and all(opens(old[0], t) for t in before)
    assert rotate.rotate_key() == len(values)
    (new,) = file_keys()
    after = stored_tokens(store)
    assert new not in old and len(after) == len(values)
    assert not any(opens(old[0], t) for t in after)
    assert sorted(unseal_value({"$enc": t}) for t in after) == sorted(values.values())
    with session_scope() as s:
        assert secret_value(s, name="db-pw") == values["secret"]


def test_at_every_moment_the_key_file_opens_every_stored_value(store, monkeypatch):
    seed({k: f"{k}-{uuid.uuid4().hex}" for k in (
        "secret", "default", "doc", "run_in", "run_out", "node_in", "node_out", "item", "wait")})
    write, reseal, checks = keys.write_keys, rotate._reseal_store, []

    def every_value_opens() -> None:
        checks.append(all(any(opens(k, t) for k in file_keys()) for t in stored_tokens(store)))

    monkeypatch.setattr(keys, "write_keys", lambda ks: (write(ks), every_value_opens()))
    monkeypatch.setattr(rotate, "_reseal_store", lambda *a: (reseal(*a), every_value_opens()))
    rotate.rotate_key()
    assert checks == [True] * 4  # new key written, two passes, old keys dropped

    def crash(*args) -> None:
        raise OSError("power cut while re-sealing")
    monkeypatch.setattr(rotate, "_reseal_table", crash)
    with pytest.raises(OSError):
        rotate.rotate_key()
    monkeypatch.undo()
    assert len(file_keys()) == 2  # the new key and the old: nothing was lost
    every_value_opens()
    assert checks[-1] is True
    assert rotate.rotate_key() > 0 and len(file_keys()) == 1
    assert all(opens(file_keys()[0], t) for t in stored_tokens(store))


def test_the_cli_refuses_a_key_from_the_environment(store):
    env = {"PATH": "/usr/bin:/bin", "NEBHX_HOME": str(get_settings().home), "NEBHX_DATABASE_URL": store,
           "NEBHX_SECRET_KEY_FILE": str(keys.key_file()), "NEBHX_SECRET_KEY": Fernet.generate_key().decode()}
    res = nebhx("secret", "rotate-key", env=env)
    assert res.returncode == 1 and "rotated by hand" in res.stderr
    assert not keys.key_file().exists()


def test_a_running_stack_keeps_working_after_the_cli_rotates(stack):
    value = f"db-{uuid.uuid4().hex}"
    with stack.client() as c:
        assert c.put("/secrets/rot-pw", json={"value": value}).status_code == 204
    doc = graph(f"rotated-{stack.kind}", [("use", "test.echo_secret", {"secret": {"$secret": "rot-pw"},
                                                                      "other": {"$input": "pw"}})],
                inputs=[{"name": "pw", "type": "Secret", "required": False, "default": "default-" + value}])
    assert stack.run(doc)["status"] == "succeeded"
    old = stack.key_file.read_text().split()
    res = nebhx("secret", "rotate-key", env=stack.env)
    assert res.returncode == 0, res.stderr
    assert re.search(r"re-sealed [1-9]\d* values", res.stdout)
    tokens = stored_tokens(stack.db_url)
    assert tokens and not any(opens(k, t) for k in old for t in tokens)
    # The API and worker processes read the rewritten key file without a restart.
    after = stack.run(doc)
    assert after["status"] == "succeeded", after
    assert after["nodes"]["use"]["outputs"] == {"text": "echo ****** and ******"}
