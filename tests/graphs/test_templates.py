"""The canary template: the shipped example's shape, filled in for another service."""
from __future__ import annotations

import copy
import json
import re

import pytest

from nebhx.bricks.registry import get_registry
from nebhx.graphs.templates import CANARY_EXAMPLE, CanaryRequest, make_canary
from nebhx.graphs.validate import GraphInvalid

SHOP = CanaryRequest(service="shop", source="/srv/shop-2", release_id="2.1", selector="role=shop",
                     command="python3 {release}/shop.py --port {port}", port=9123, ready_http="/ping",
                     env={"SHOP_MODE": "canary"},
                     checks=[{"kind": "http", "url": "http://127.0.0.1:{port}/items", "contains": "apple"}])


def _example() -> dict:
    return json.loads(CANARY_EXAMPLE.read_text(encoding="utf-8"))


def _shape(doc: dict) -> tuple:
    """What the reviewed shape is: nodes with their bricks and execution settings, every wire."""
    keys = ("brick", "for_each", "batch", "max_failures", "trigger", "max_parallel", "pause_s")
    nodes = {n["id"]: tuple(n.get(k) for k in keys) for n in doc["nodes"]}
    edges = sorted(json.dumps(e, sort_keys=True) for e in doc["edges"])
    return nodes, edges, [o["name"] for o in doc["outputs"]]


def _input(doc: dict, name: str) -> dict:
    return next(i for i in doc["inputs"] if i["name"] == name)


def _value(doc: dict, node: dict, port: str):
    """A param as a run gets it: through the graph input's default when it reads one."""
    v = node["params"].get(port)
    return _input(doc, v["$input"])["default"] if isinstance(v, dict) and "$input" in v else v


def test_the_example_filled_in_for_another_service():
    example = _example()
    draft = make_canary(request=SHOP, registry=get_registry())
    doc = draft.graph
    assert draft.example == "examples/canary-update.json"
    assert _shape(doc) == _shape(example)  # every node, wire and batch setting as reviewed
    assert doc["name"] == "shop-canary"
    by_brick: dict[str, list[dict]] = {}
    for n in doc["nodes"]:
        by_brick.setdefault(n["brick"], []).append(n)
    for brick in ("rollout.prepare", "rollout.switch", "rollout.commit", "rollout.rollback"):
        assert {n["params"]["service"] for n in by_brick[brick]} == {"shop"}
    (select,), (prepare,) = by_brick["hosts.select"], by_brick["rollout.prepare"]
    assert _value(doc, select, "selector") == "role=shop"
    assert _value(doc, prepare, "source") == "/srv/shop-2"
    assert _value(doc, prepare, "release_id") == "2.1"
    assert "profile" not in prepare["params"] and _value(doc, prepare, "profiles") == {}
    assert len(by_brick["rollout.switch"]) == 2  # the canary and the rest
    # The app's spec where the example writes one out; a switch taking the running spec by reference
    # (the rest) still does; every switch runs the checks.
    spelled = {n["id"] for n in example["nodes"] if n["brick"] == "rollout.switch" and "command" in n["params"]}
    assert spelled, "the example writes the app's spec out on no switch"
    for switch in by_brick["rollout.switch"]:
        if switch["id"] in spelled:
            assert _value(doc, switch, "command") == SHOP.command
            assert _value(doc, switch, "port") == 9123
            assert _value(doc, switch, "ready_http") == "/ping"
            assert _value(doc, switch, "env") == {"SHOP_MODE": "canary"}
        else:
            assert not {"command", "port", "ready_http", "env"} & set(switch["params"])
        assert _value(doc, switch, "checks") == [{"kind": "http", "url": "http://127.0.0.1:{port}/items",
                                                   "contains": "apple"}]
        assert switch["params"]["volume"] == "shop-data"
    assert by_brick["storage.volume"][0]["params"]["name"] == "shop-data"
    # Nothing of the example's own app is left: not its service's name, nor its check or command.
    text = json.dumps([[n["params"], n.get("label")] for n in doc["nodes"]])
    assert not re.search(r"\bweb\b", text) and "webapp.py" not in text and '"hello"' not in text
    assert {n.get("params", {}).get("subject") for n in by_brick["notify.email"]} == {
        "shop: the canary runs the new release", "shop: the update was rolled back"}
    assert "select.selector (input selector)" in draft.filled and "canary.command" in draft.filled
    # The input a filled port reads is described as that port, not as the example's app.
    assert "8110" not in _input(doc, "port")["description"]


def test_a_reworked_example_is_followed():
    """Other node ids, a batch on the rollback, a node more: the template takes the example as it is."""
    example = _example()
    rename = {"rest": "the_rest", "canary": "first_hosts"}
    text = json.dumps(example)
    for old, new in rename.items():
        text = text.replace(f'"node": "{old}"', f'"node": "{new}"').replace(f'"id": "{old}"', f'"id": "{new}"')
    reworked = json.loads(text)
    next(n for n in reworked["nodes"] if n["brick"] == "rollout.rollback")["batch"] = 1
    reworked["nodes"].append({"id": "note", "brick": "core.template", "params": {"template": "web done"},
                              "position": {"x": 0, "y": 600}})
    reworked["edges"].append({"from": {"node": "commit"}, "to": {"node": "note"}})
    doc = make_canary(request=SHOP, registry=get_registry(), example=copy.deepcopy(reworked)).graph
    assert _shape(doc) == _shape(reworked)
    ids = {n["id"]: n for n in doc["nodes"]}
    assert ids["first_hosts"]["params"]["command"] == SHOP.command and "command" not in ids["the_rest"]["params"]
    assert ids["the_rest"]["params"]["checks"][0]["contains"] == "apple"
    assert ids["note"]["params"]["template"] == "shop done"


def test_a_spec_written_out_nowhere_goes_to_every_switch():
    example = _example()
    for n in example["nodes"]:
        if n["brick"] == "rollout.switch":
            n["params"] = {k: v for k, v in n["params"].items() if k not in ("command", "port", "ready_http")}
    doc = make_canary(request=SHOP, registry=get_registry(), example=example).graph
    switches = [n for n in doc["nodes"] if n["brick"] == "rollout.switch"]
    assert [n["params"]["command"] for n in switches] == [SHOP.command] * 2


def test_profiles_are_rendered_under_the_service_name():
    req = SHOP.model_copy(update={"profiles": {"shop": {"values": {"x": 1}, "templates": {"a.json": "{{ x }}"}}}})
    doc = make_canary(request=req, registry=get_registry()).graph
    prepare = next(n for n in doc["nodes"] if n["brick"] == "rollout.prepare")
    assert prepare["params"]["profile"] == "shop"
    assert _value(doc, prepare, "profiles") == req.profiles


def test_a_result_that_does_not_validate_is_refused_naming_the_problem():
    example = _example()
    for n in example["nodes"]:
        if n["brick"] == "rollout.switch":
            n["params"]["drain_timeout_s"] = "soon"
    with pytest.raises(GraphInvalid) as err:
        make_canary(request=SHOP, registry=get_registry(), example=example)
    assert any(p.port == "drain_timeout_s" for p in err.value.problems)
