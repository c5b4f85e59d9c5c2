"""What cannot work is refused before the run (issue 17, item 1): an input a brick's defaults
make necessary (`rollout.switch` left on `data_policy: snapshot` needs `volume`; a command with
`{data}` needs the data path; a download needs its sha256) is a validation problem naming the
node and both inputs, and the plan, which knows the run's inputs, says the same."""
from __future__ import annotations

from nebhx.bricks.inventory import StaticInventory
from nebhx.bricks.registry import get_registry
from nebhx.plans.dryrun import plan_graph
from nebhx.execution.plan_agent import LocalHosts
from nebhx.graph_model import Graph
from nebhx.graphs.validate import validate_graph
from nebhx.runtime import HostRuntime
from support import graph, wire

SWITCH = {"host": "h1", "service": "web", "command": "app --port {port}", "port": 8080}


def problems(doc: dict) -> list[dict]:
    return [p.as_dict() for p in validate_graph(doc, get_registry())[1]]


def test_a_default_that_needs_an_unset_input_is_a_problem_naming_node_and_both_inputs():
    found = problems(graph("g", [("sw", "rollout.switch", SWITCH)]))
    assert [(p["code"], p["node"], p["port"]) for p in found] == [("requirement", "sw", "volume")]
    assert found[0]["message"] == (
        "node 'sw': data_policy is 'snapshot' (its default), which needs volume, and volume is neither "
        "set nor wired: the switch snapshots the data volume first; name the volume, or set data_policy to keep")
    assert problems(graph("g", [("sw", "rollout.switch", {**SWITCH, "data_policy": "keep"})])) == []
    assert problems(graph("g", [("sw", "rollout.switch", {**SWITCH, "volume": "web-data"})])) == []
    run = {"host": "h1", "service": "web", "command": "app --data {data} --config {config}"}
    found = problems(graph("g", [("run", "service.run", run), ("cfg", "config.render", {
        "host": "h1", "service": "web", "profiles": {"p": {}}, "profile": "p"})],
        [wire("cfg", "path", "run", "config_path")]))
    assert [(p["node"], p["port"]) for p in found] == [("run", "data_path")]  # config_path is wired
    assert "command is 'app --data {data} --config {config}'" in found[0]["message"]
    found = problems(graph("g", [("stage", "release.stage", {"host": "h1", "service": "web",
                                                             "source": "https://example.org/app.tar"})]))
    assert [(p["node"], p["port"]) for p in found] == [("stage", "sha256")]


def test_validation_and_plan_agree_when_the_value_is_known_only_at_run_time(tmp_path):
    doc = graph("g", [("sw", "rollout.switch", {**SWITCH, "data_policy": {"$input": "policy"}})],
                inputs=[{"name": "policy", "type": "string", "required": False, "default": "snapshot"}])
    assert problems(doc) == []  # the run's input decides: the plan checks it with the value given
    hosts = LocalHosts({"h1": HostRuntime("h1", tmp_path / "h1")}.get)

    def plan(policy: str) -> dict:
        return plan_graph(Graph.model_validate(doc), {"policy": policy}, StaticInventory([]), get_registry(),
                          hosts=hosts)["nodes"]["sw"]
    refused = plan("snapshot")
    assert refused["fails"] is True and refused["effect"].startswith(
        "would fail: data_policy is 'snapshot', which needs volume, and volume is neither set nor wired")
    kept = plan("keep")  # no requirement left: what fails now is the host's state (nothing prepared)
    assert "needs volume" not in kept["effect"] and "nothing prepared for web on host h1" in kept["effect"]
