"""Graph templates: a shipped example made into a newcomer's own graph.

`canary` reads ``examples/canary-update.json`` as it is now (the reviewed shape: select, volume,
prepare, the canary switch, report and e-mail, approval, the rest in batches, commit, rollback
with its order wires) and fills in a service, a source, a release, a selector, the app's spec and
its checks. Nothing of the shape is written here: values go where the example's bricks take
them (by brick and port, never by node id), through the graph input the example binds there when
there is one, so a reworked example (new nodes, other ids, batches on the rollback) is followed
as it is. The answer is an unsaved document, edited and saved like any other.
"""
from __future__ import annotations

import copy
import json
import re
from typing import Any

from pydantic import BaseModel, Field

from nebhx.bricks.registry import Registry
from nebhx.graphs.problem import Problem
from nebhx.graphs.validate import GraphInvalid, validate_graph
from nebhx.runtime.rollout import CheckSpec
from nebhx.settings import REPO_DIR

CANARY_EXAMPLE = REPO_DIR / "examples" / "canary-update.json"
SERVICE = r"^[A-Za-z0-9][A-Za-z0-9._+-]*$"


class CanaryRequest(BaseModel):
    """What a newcomer knows of their app; the rest of the canary comes from the example."""
    service: str = Field(pattern=SERVICE, max_length=100, description="Service name (the supervisord program)")
    source: str = Field(min_length=1, max_length=2000,
                        description="The new release on each host: a folder or archive path, an https URL "
                                    "(give sha256) or pip:SPEC")
    release_id: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._+-]*$",
                            description="Id of the new release, e.g. 2.0.0")
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$", description="Of an https source")
    selector: str = Field(default="", max_length=500, description="Hosts by label, e.g. role=web; "
                                                                  "empty: every host that is up")
    command: str = Field(min_length=1, max_length=4000, description="Command line; may use {release}, "
                                                                    "{config}, {data}, {port}")
    port: int | None = Field(default=None, ge=1, le=65535, description="Port the app listens on")
    ready_http: str | None = Field(default=None, max_length=500, description="HTTP path that answers 200 when "
                                                                             "ready, e.g. /health")
    env: dict[str, str] = Field(default_factory=dict, description="Environment of the app")
    checks: list[CheckSpec] = Field(default_factory=list, description='After readiness, e.g. [{"kind": "http", '
                                    '"url": "http://127.0.0.1:{port}/", "contains": "2.0"}]')
    profiles: dict[str, dict[str, Any]] | None = Field(
        default=None, description="Config profiles of the new release (the profile rendered is the "
                                  "service's name); none: no config")
    canary_share: str | None = Field(default=None, max_length=20, description="How many hosts go first: "
                                                                              "a count or a percentage")
    admin_email: list[str] | None = Field(default=None, max_length=50, description="Who hears about the "
                                                                                   "canary and a rollback")
    name: str | None = Field(default=None, max_length=200, description="Graph name; default SERVICE-canary")


class Draft(BaseModel):
    """A graph made from an example, not saved yet."""
    graph: dict[str, Any] = Field(description="The graph document (nebhx/graph@1)")
    example: str = Field(description="The example it was made from")
    filled: list[str] = Field(description="Where each value went: node.port, or the graph input it reads")


def _is_input(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get("$input"), str)


def _renamed(value: Any, pattern: re.Pattern, new: str) -> Any:
    """Every string in ``value`` with the example's service name (a whole word) replaced."""
    if isinstance(value, str):
        return pattern.sub(new, value)
    if isinstance(value, list):
        return [_renamed(v, pattern, new) for v in value]
    if isinstance(value, dict):
        return value if _is_input(value) else {k: _renamed(v, pattern, new) for k, v in value.items()}
    return value


class _Filler:
    """Puts values into a document where its bricks take them."""

    def __init__(self, doc: dict[str, Any], registry: Registry):
        self.doc, self.registry, self.filled = doc, registry, []

    def takes(self, node: dict[str, Any], port: str) -> bool:
        cls = self.registry.get(node["brick"])
        return cls is not None and port in cls.Inputs.model_fields

    def put(self, brick: str | None, port: str, value: Any, only: set[str] | None = None) -> None:
        """Set ``port`` on every node of ``brick`` (any brick taking it when None; of ids ``only``);
        through the graph input the node reads there, when it reads one; ``None`` unsets it."""
        for node in self.doc["nodes"]:
            if (brick is not None and node["brick"] != brick) or not self.takes(node, port) \
                    or (only is not None and node["id"] not in only):
                continue
            params = node.setdefault("params", {})
            if _is_input(params.get(port)):
                self._default(params[port]["$input"], value, self.registry.get(node["brick"]).Inputs.model_fields[port])
                self.filled.append(f"{node['id']}.{port} (input {params[port]['$input']})")
            elif value is None:
                params.pop(port, None)
            else:
                params[port] = value
                self.filled.append(f"{node['id']}.{port}")

    def _default(self, name: str, value: Any, field: Any) -> None:
        """The input's default; described as the port it feeds (the example's words fit its own app)."""
        for gi in self.doc.get("inputs", []):
            if gi["name"] == name:
                gi.update(default=value, required=False, description=field.description or gi.get("description", ""))


def _example_service(doc: dict[str, Any]) -> str:
    for node in doc["nodes"]:
        if node["brick"] == "rollout.prepare" and isinstance(node.get("params", {}).get("service"), str):
            return node["params"]["service"]
    raise GraphInvalid([Problem("template", "the canary example has no rollout.prepare node naming its service")])


def make_canary(*, request: CanaryRequest, registry: Registry, example: dict[str, Any] | None = None) -> Draft:
    """The canary example made for ``request``'s service; refused naming the problem when the
    result does not validate."""
    doc = copy.deepcopy(example) if example is not None else json.loads(CANARY_EXAMPLE.read_text(encoding="utf-8"))
    old, new = _example_service(doc), request.service
    pattern = re.compile(rf"(?<![A-Za-z0-9_]){re.escape(old)}(?![A-Za-z0-9_])")
    doc["description"] = _renamed(doc.get("description", ""), pattern, new)
    doc["name"] = request.name or f"{new}-canary"
    for node in doc["nodes"]:
        node["params"] = _renamed(node.get("params", {}), pattern, new)
        if isinstance(node.get("label"), str):
            node["label"] = _renamed(node["label"], pattern, new)
    fill = _Filler(doc, registry)
    fill.put(None, "service", new)
    fill.put("hosts.select", "selector", request.selector)
    if request.canary_share:
        fill.put("hosts.split", "first", request.canary_share)
    fill.put("rollout.prepare", "source", request.source)
    fill.put("rollout.prepare", "sha256", request.sha256)
    fill.put("rollout.prepare", "release_id", request.release_id)
    fill.put("rollout.prepare", "profiles", request.profiles or {})
    fill.put("rollout.prepare", "profile", new if request.profiles else None)
    # The app's spec goes where the example writes one out (its canary); the switches that take the
    # running spec by reference keep doing so. The checks go to every switch, as the example has them.
    switches = [n for n in doc["nodes"] if n["brick"] == "rollout.switch"]
    carriers = {n["id"] for n in switches if "command" in n.get("params", {})} or {n["id"] for n in switches}
    spec = {"command": request.command, "port": request.port, "ready_http": request.ready_http,
            "env": request.env or None}
    for port, value in spec.items():
        fill.put("rollout.switch", port, value, only=carriers)
    fill.put("rollout.switch", "checks", [c.model_dump(exclude_defaults=True) for c in request.checks])
    if request.admin_email:
        fill.put("notify.email", "to", request.admin_email)
    _, problems = validate_graph(doc, registry)
    if problems:
        raise GraphInvalid(problems)
    return Draft(graph=doc, example=f"examples/{CANARY_EXAMPLE.name}", filled=fill.filled)
