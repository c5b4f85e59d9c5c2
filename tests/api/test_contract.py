"""The API's typed contract: routes answer pydantic models, so the OpenAPI document (and the
editor's generated types) name every answer; statuses and trigger rules are the engine's enums."""
from __future__ import annotations

import pytest

from nebhx.api.app import create_app
from nebhx.statuses import NodeStatus, RunStatus, TriggerRule

# Answers that are not a model on purpose (each with its reason).
UNTYPED = {
    ("get", "/api/schema/graph"): "a JSON Schema document",
    ("get", "/api/artifacts/{sha256}"): "the artifact's bytes",
    ("get", "/api/exec/artifacts/{sha256}"): "the artifact's bytes",
}


@pytest.fixture(scope="module")
def openapi():
    return create_app().openapi()


def _named(schema: dict) -> bool:
    """A model's schema ($ref), a list of one, or text (a log)."""
    return "$ref" in schema or "$ref" in schema.get("items", {}) or schema.get("type") == "string"


def test_every_answer_is_a_model(openapi):
    loose = []
    for path, ops in openapi["paths"].items():
        for method, op in ops.items():
            for code, answer in op["responses"].items():
                if not code.startswith("2") or code == "204" or (method, path) in UNTYPED:
                    continue
                schemas = [c.get("schema", {}) for c in answer.get("content", {}).values()]
                if not schemas or not all(_named(s) for s in schemas):
                    loose.append(f"{method.upper()} {path} {code}")
    assert not loose, "answers without a response model: " + ", ".join(loose)


def test_every_422_lists_problems(openapi):
    for path, ops in openapi["paths"].items():
        for method, op in ops.items():
            if "422" in op["responses"]:
                # (under the route's media type: text/plain for a log, text/event-stream for events)
                content = op["responses"]["422"]["content"]
                assert all(c["schema"]["$ref"].endswith("/ProblemList") for c in content.values()), (method, path)


@pytest.mark.parametrize("enum", [NodeStatus, RunStatus, TriggerRule])
def test_statuses_and_trigger_rules_are_the_engines_enums(openapi, enum):
    assert openapi["components"]["schemas"][enum.__name__]["enum"] == [m.value for m in enum]


def test_runs_name_their_statuses(openapi):
    schemas = openapi["components"]["schemas"]
    assert schemas["RunSummary"]["properties"]["status"]["$ref"].endswith("/RunStatus")
    assert schemas["NodeRead"]["properties"]["status"]["$ref"].endswith("/NodeStatus")
    assert schemas["Node"]["properties"]["trigger"]["$ref"].endswith("/TriggerRule")
