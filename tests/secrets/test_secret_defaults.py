"""A Secret input's default is stored as a secret: revisions and exports keep only its name."""
from __future__ import annotations

import uuid

from secret_support import every_cell
from support import graph

from nebhx.bricks.registry import get_registry
from nebhx.graphs.service import create_graph, ensure_graph, get_graph, get_revision, save_revision
from nebhx.graphs.validate import validate_graph
from nebhx.sealing.crypto import unseal_value
from nebhx.store.db import session_scope
from nebhx.store.models import SecretRow


def with_default(password: str, name: str = "defaults", **extra) -> dict:
    return graph(name, [("use", "test.echo_secret", {"secret": {"$input": "password"}})],
                 inputs=[{"name": "password", "type": "Secret", "required": False, "default": password}], **extra)


def stored_value(name: str) -> str:
    with session_scope() as s:
        return unseal_value({"$enc": s.get(SecretRow, name).value})


def test_a_saved_default_is_a_sealed_secret_and_the_revision_names_it(store):
    value = f"pw-{uuid.uuid4().hex}"
    with session_scope() as s:
        gid = create_graph(s, doc=with_default(value)).id
    with session_scope() as s:
        default = get_revision(s, graph_id=gid)["inputs"][0]["default"]
    assert default == {"$secret": f"graph.{gid}.password"}
    assert stored_value(f"graph.{gid}.password") == value
    changed = f"pw-{uuid.uuid4().hex}"
    with session_scope() as s:
        assert save_revision(s, graph_id=gid, doc=with_default(changed)).revision == 2
    with session_scope() as s:
        assert get_revision(s, graph_id=gid)["inputs"][0]["default"] == default
    assert stored_value(f"graph.{gid}.password") == changed
    cells = every_cell(store)
    assert value not in cells and changed not in cells


def test_the_same_document_sent_again_makes_no_revision(store):
    doc = with_default(f"pw-{uuid.uuid4().hex}", name="resent")
    with session_scope() as s:
        gid, first = ensure_graph(s, doc=doc)
    with session_scope() as s:
        assert ensure_graph(s, doc=doc) == (gid, first)
        exported = get_revision(s, graph_id=gid)
    with session_scope() as s:
        assert ensure_graph(s, doc=exported) == (gid, first)  # its export, re-sent
    new_value = f"pw-{uuid.uuid4().hex}"
    with session_scope() as s:
        assert ensure_graph(s, doc=with_default(new_value, name="resent")) == (gid, first + 1)
    assert stored_value(f"graph.{gid}.password") == new_value
    with session_scope() as s:
        assert ensure_graph(s, doc=with_default(new_value, name="resent")) == (gid, first + 1)
        assert [r.number for r in get_graph(s, graph_id=gid).revisions] == [1, 2]


def test_validation_takes_a_secret_reference_as_a_secret_default_only(store):
    registry = get_registry()

    def problems(inputs: list[dict]) -> list[tuple[str, str]]:
        doc = graph("v", [("a", "test.noop")], inputs=inputs)
        return [(p.code, p.path) for p in validate_graph(doc, registry)[1]]

    assert problems([{"name": "pw", "type": "Secret", "default": {"$secret": "db-pw"}}]) == []
    assert problems([{"name": "pw", "type": "Secret", "default": "plain, sealed on save"}]) == []
    assert problems([{"name": "pw", "type": "Secret", "default": {"$secret": 5}}]) == [
        ("bad_default", "/inputs/0/default")]
    assert problems([{"name": "pw", "type": "Secret", "default": {"$enc": "gAAAA..."}}]) == [
        ("bad_default", "/inputs/0/default")]
    assert problems([{"name": "who", "type": "string", "default": {"$secret": "db-pw"}}]) == [
        ("bad_default", "/inputs/0/default")]


def test_a_run_resolves_the_default_and_the_export_holds_only_its_name(stack):
    value = f"pw-{uuid.uuid4().hex}"
    doc = with_default(value, name=f"run-default-{stack.kind}")
    run = stack.run(doc)
    assert run["status"] == "succeeded", run
    # The brick echoed what it was given; the engine masks exactly the secret's value.
    assert run["nodes"]["use"]["outputs"] == {"text": "echo ******"}
    override = stack.run(doc, {"password": "given-at-run-time"})
    assert override["nodes"]["use"]["outputs"] == {"text": "echo ******"}
    with stack.client() as c:
        exported = c.get(f"/graphs/{run['graph_id']}/revisions/latest")
        imported = c.post("/graphs", json=doc).json()
        imported_doc = c.get(f"/graphs/{imported['id']}/revisions/latest").json()
    assert exported.json()["inputs"][0]["default"] == {"$secret": f"graph.{run['graph_id']}.password"}
    assert imported_doc["inputs"][0]["default"] == {"$secret": f"graph.{imported['id']}.password"}
    assert value not in exported.text + str(imported_doc) + every_cell(stack.db_url)
    assert stack.run(doc)["revision"] == run["revision"]  # the same file again: no new revision
