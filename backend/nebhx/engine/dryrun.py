"""Plan a run without running it (``POST /api/graphs/plan``, ``nebhx plan``).

The graph is walked in dependency order as if every node succeeded, and each node's brick
tells what it would do (``Brick.plan``), once per fan-out item (so per host). Inputs come
from the params, the graph inputs given and what upstream plans could already tell; what
they could not is an ``Unknown`` shown as "(from node.port)". Nothing is written: no run
row, no event, no message; stored secrets are not even read (shown as ******). A composite
node is planned as its inner graph, fed the composite's inputs: its inner nodes are listed
under ``children`` with the ids a run gives them (``update:switch``).
"""
from __future__ import annotations

import math
import time
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from nebhx.bricks.base import UNKNOWN_EFFECT, Brick, BrickFailed, Context, Unknown, is_known
from nebhx.bricks.inventory import Inventory
from nebhx.bricks.registry import Registry, get_registry
from nebhx.engine.plan import Plan
from nebhx.engine.resolve import item_id
from nebhx.graphs.composites import MAX_NESTING, SEP, Library, is_composite
from nebhx.graphs.models import Graph, Node, portion
from nebhx.graphs.validate import FAN_OUT_SETTINGS

MASK = "******"
ONLY_ON_FAILURE = {"any_failed": "only if an upstream node fails", "all_failed": "only if every upstream node fails"}


class DryRun:
    """One plan: what each node's outputs are known to be so far, node after node."""

    def __init__(self, graph: Graph, inputs: dict[str, Any], inventory: Inventory, registry: Registry,
                 library: Library | None = None, prefix: str = ""):
        self.graph, self.plan, self.inputs = graph, Plan.of(graph), inputs
        self.inventory, self.registry = inventory, registry
        self.library, self.prefix = library or Library(includes=graph.includes), prefix
        self.decls = {i.name: i for i in graph.inputs}
        self.outputs: dict[str, dict[str, Any]] = {}  # node -> port -> value (lists for a fan-out)
        self.items: dict[str, list[dict[str, Any]]] = {}  # fan-out node -> each item's outputs

    def run(self) -> dict[str, Any]:
        nodes = {}
        for nid in self._order():
            node = self.plan.nodes[nid]
            if is_composite(node.brick):
                nodes[self.prefix + nid] = self._composite(node)
            else:
                nodes[self.prefix + nid] = self._fan_out(node) if node.for_each else self._one(node, self._values(node))
            if node.trigger in ONLY_ON_FAILURE:
                nodes[self.prefix + nid]["when"] = ONLY_ON_FAILURE[node.trigger]
        return {"graph": self.graph.name, "nodes": nodes}

    def _order(self) -> list[str]:
        """Dependency order, graph order among equals (validation refused cycles)."""
        left = {n.id: len(self.plan.preds.get(n.id, [])) for n in self.graph.nodes}
        ready = [n.id for n in self.graph.nodes if not left[n.id]]
        out = []
        while ready:
            nid = ready.pop(0)
            out.append(nid)
            for succ in self.plan.succs.get(nid, []):
                left[succ] -= 1
                if not left[succ]:
                    ready.append(succ)
        return out

    def _param(self, value: Any) -> Any:
        if isinstance(value, dict) and "$secret" in value:
            return MASK
        if isinstance(value, dict) and "$input" in value:
            decl = self.decls.get(value["$input"])
            if decl is not None and decl.type == "Secret":
                return MASK
            if value["$input"] in self.inputs:
                return self.inputs[value["$input"]]
            return decl.default if decl is not None and decl.default is not None else Unknown(
                f"(input {value['$input']})")
        return value

    def _values(self, node: Node, index: int | None = None) -> dict[str, Any]:
        values = {k: self._param(v) for k, v in node.params.items()}
        for e in self.plan.wires.get(node.id, []):
            src, port = e.from_.node, e.from_.port
            if index is not None and self.plan.nodes[src].for_each and e.to.port != node.for_each:
                items = self.items.get(src, [])  # item i meets item i (zip), as in a run
                got = items[index].get(port) if index < len(items) else None
                values[e.to.port] = got if got is not None else Unknown(f"(from {item_id(src, index)}.{port})")
            else:
                values[e.to.port] = self.outputs.get(src, {}).get(port, Unknown(f"(from {src}.{port})"))
        return values

    def _one(self, node: Node, values: dict[str, Any], instance: str | None = None) -> dict[str, Any]:
        cls = self.registry.get(node.brick)
        entry: dict[str, Any] = {"brick": node.brick, "inputs": values}
        if cls is not None and cls.host_input:
            entry["host"] = values.get(cls.host_input)
        told = _tell(cls, node, values, Context(run_id="plan", node_id=instance or node.id,
                                                 host=entry.get("host"), inventory=self.inventory))
        entry["effect"] = told.pop("effect", UNKNOWN_EFFECT)
        entry.update(told)
        if instance is None and isinstance(told.get("outputs"), dict):
            self.outputs[node.id] = told["outputs"]
        return entry

    def _fan_out(self, node: Node) -> dict[str, Any]:
        values = self._values(node)
        items = values.get(node.for_each)
        settings = {k: getattr(node, k) for k in FAN_OUT_SETTINGS if getattr(node, k) is not None}
        if not isinstance(items, list):
            return {"brick": node.brick, "inputs": values, **settings, "changes": None,
                    "effect": f"runs once per item of {items}, not known before the run"}
        size = portion(node.batch, len(items)) if node.batch is not None and items else len(items) or 1
        entries = []
        for i, item in enumerate(items):
            one = {**self._values(node, i), node.for_each: item}
            entry = self._one(node, one, item_id(self.prefix + node.id, i))
            entries.append({"id": item_id(self.prefix + node.id, i), "item": item, "batch": i // size + 1, **entry})
        self.items[node.id] = [e.get("outputs") if isinstance(e.get("outputs"), dict) else {} for e in entries]
        self.outputs[node.id] = self._gathered(node)
        return {"brick": node.brick, **settings, "effect": _fan_out_effect(node, len(items), size),
                "batches": math.ceil(len(items) / size), "items": entries, "outputs": self.outputs[node.id]}

    def _composite(self, node: Node) -> dict[str, Any]:
        """The inner graph planned with the composite's inputs (an unknown one stays unknown)."""
        values = self._values(node)
        found = self.library.lookup(node.brick)
        if isinstance(found, str) or self.prefix.count(SEP) >= MAX_NESTING:
            return {"brick": node.brick, "inputs": values, **_fails(found)}
        gid, rev, inner = found
        given = {i.name: values[i.name] for i in inner.inputs if i.name in values}
        sub = DryRun(inner, given, self.inventory, self.registry, self.library, f"{self.prefix}{node.id}{SEP}")
        children = sub.run()["nodes"]
        self.outputs[node.id] = {o.name: sub.outputs.get(o.from_.node, {}).get(o.from_.port, Unknown(
            f"(from {sub.prefix}{o.from_.node}.{o.from_.port})")) for o in inner.outputs}
        return {"brick": node.brick, "inputs": values, "graph": gid, "revision": rev,
                "effect": f"runs graph {inner.name!r} revision {rev}: {len(children)} inner nodes",
                "children": children, "outputs": self.outputs[node.id]}

    def _gathered(self, node: Node) -> dict[str, list[Any]]:
        spec = self.registry.specs.get(node.brick, {"outputs": []})
        return {p["name"]: [outs.get(p["name"], Unknown(f"(from {item_id(node.id, i)}.{p['name']})"))
                            for i, outs in enumerate(self.items[node.id])] for p in spec["outputs"]}


def _fails(why: str) -> dict[str, Any]:
    return {"effect": f"would fail: {why}", "fails": True}


def _tell(cls: type[Brick] | None, node: Node, values: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """The brick's own plan of this node, or why there is none. Each says outright whether a
    run would change something (``changes``: true, false, or None for cannot tell) or fail
    (``fails``), so no reader has to guess it from the effect's words."""
    if cls is None:
        return _fails(f"brick {node.brick!r} is not in this server's palette")
    inputs, problem = _inputs(cls, values)
    if problem:
        return _fails(problem)
    if not cls.plans():
        return {"effect": UNKNOWN_EFFECT, "changes": None}
    try:
        told = dict(cls().plan(ctx, inputs))
    except BrickFailed as exc:
        return _fails(str(exc))
    except Exception as exc:  # a bug in a brick's plan must not take the whole plan down
        return {"effect": f"cannot plan: {type(exc).__name__}: {exc}", "fails": True}
    told.setdefault("changes", None)  # a brick's plan that does not say: cannot tell
    return told


def _inputs(cls: type[Brick], values: dict[str, Any]) -> tuple[Any, str | None]:
    """The brick's Inputs: checked where known; fields still Unknown are passed as they are."""
    try:
        checked = cls.Inputs.model_validate(values)
    except ValidationError as exc:
        bad = [e for e in exc.errors() if not e["loc"] or is_known(values.get(str(e["loc"][0])))]
        if bad:
            return None, "; ".join(f"input {'.'.join(map(str, e['loc'])) or '(inputs)'}: {e['msg']}" for e in bad)
        return cls.Inputs.model_construct(**values), None
    if is_known(values):
        return checked, None
    unknown = {k: v for k, v in values.items() if not is_known(v)}
    return cls.Inputs.model_construct(**{**dict(checked), **unknown}), None


def _fan_out_effect(node: Node, n: int, size: int) -> str:
    words = [f"{n} items"]
    if size < n:
        words.append(f"in {math.ceil(n / size)} batches of {size}, in item order")
    if node.max_parallel:
        words.append(f"at most {node.max_parallel} at once")
    if node.pause_s:
        words.append(f"pausing {node.pause_s:g}s between batches")
    if node.max_failures is not None:
        words.append(f"no further batch once more than {node.max_failures} failed")
    return ", ".join(words)


def plan_graph(graph: Graph, inputs: dict[str, Any], inventory: Inventory,
               registry: Registry | None = None, library: Library | None = None) -> dict[str, Any]:
    started = time.perf_counter()
    out = DryRun(graph, inputs, inventory, registry or get_registry(), library).run()
    return {**out, "elapsed_s": round(time.perf_counter() - started, 4)}


def plan_request(session: Session, *, graph: dict | None = None, graph_id: str | None = None,
                 revision: int | None = None, inputs: dict[str, Any] | None = None) -> dict[str, Any]:
    """The plan route: a document (validated first) or a stored revision, and run inputs."""
    from nebhx.engine.inventory import StoreInventory
    from nebhx.graphs import service
    from nebhx.runs.service import BadInputs
    if graph is not None:
        parsed = service.validate_doc(doc=graph, session=session)
    elif graph_id is not None:
        parsed = Graph.model_validate(service.get_revision(session, graph_id=graph_id, number=revision))
    else:
        raise BadInputs([{"input": "graph_id", "message": "give graph_id or graph"}])
    library = Library(session, parsed.includes)
    return plan_graph(parsed, _given(parsed, inputs or {}), StoreInventory(session), library=library)


def _given(graph: Graph, inputs: dict[str, Any]) -> dict[str, Any]:
    """Inputs coerced as a run would; a missing one stays unknown, a Secret is never shown."""
    from nebhx.runs.service import check_inputs
    optional = graph.model_copy(update={"inputs": [i.model_copy(update={"required": False})
                                                   for i in graph.inputs if i.type != "Secret"]})
    plain = {k: v for k, v in inputs.items() if k not in {i.name for i in graph.inputs if i.type == "Secret"}}
    return check_inputs(optional, plain)
