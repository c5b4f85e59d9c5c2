"""Plan a run without running it (``POST /api/graphs/plan``, ``nebhx plan``).

The graph is walked in dependency order as if every node succeeded, and each node's brick
tells what it would do (``Brick.plan``), once per fan-out item (so per host). Inputs come
from the params, the graph inputs given and what upstream plans could already tell; what
they could not is an ``Unknown`` shown as "(from node.port)". Nothing is written: no run
row, no event; stored secrets are not even read (shown as ******). A composite node is
planned as its inner graph, fed the composite's inputs: its inner nodes are listed under
``children`` with the ids a run gives them (``update:switch``).

Where the state is, the plan is made: a brick without a host plans here, a host brick on its
host's agent (``HostPlanner``: the execution API's plan tasks), against its real runtime. Host
nodes are queued per host and sent in waves: a node that reads an output of a queued one (and
what follows it) is planned after the wave, so a whole rollout (prepare, switch, its report,
commit and rollback on every host) is one round trip per host. Each host's items go in dependency order with ``Planned``, what the
nodes planned before will have changed there, so a switch plans what its prepare stages.
A plan ends within ``plan_timeout_s`` and plans at most ``MAX_ITEMS`` nodes and items.
"""
from __future__ import annotations

import math
import time
from contextlib import nullcontext
from typing import Any

from sqlalchemy.orm import Session

from nebhx.bricks.base import UNKNOWN_EFFECT, BrickFailed, Context, Unknown, is_known
from nebhx.bricks.inventory import Inventory
from nebhx.bricks.planning import MASK, cannot_tell, check_inputs, fails, tell
from nebhx.bricks.registry import Registry, get_registry
from nebhx.engine.plan import Plan
from nebhx.plans.waves import Future, HostPlanner, Pending, Waves, unanswered
from nebhx.engine.resolve import item_id
from nebhx.engine.library import MAX_NESTING, SEP, Library, is_composite
from nebhx.graph_model import Graph, Node, portion
from nebhx.graphs.validate import FAN_OUT_SETTINGS

CONTROL_PLANE = "(control plane)"  # not a host name (nebhx.runtime.HOST_NAME_RE)
ONLY_ON_FAILURE = {"any_failed": "only if an upstream node fails", "all_failed": "only if every upstream node fails"}
MAX_ITEMS = 10_000  # nodes and fan-out items one plan tells; a bigger list is "cannot tell"


class DryRun:
    """One plan: what each node's outputs are known to be so far, node after node."""

    def __init__(self, graph: Graph, inputs: dict[str, Any], inventory: Inventory, registry: Registry,
                 library: Library | None = None, prefix: str = "", waves: Waves | None = None):
        self.graph, self.plan, self.inputs = graph, Plan.of(graph), inputs
        self.inventory, self.registry = inventory, registry
        self.library, self.prefix = library or Library(includes=graph.includes), prefix
        self.waves = waves or Waves(None, 20.0, 5.0)
        self.decls = {i.name: i for i in graph.inputs}
        self.outputs: dict[str, dict[str, Any]] = {}  # node -> port -> value (lists for a fan-out)
        self.items: dict[str, list[dict[str, Any]]] = {}  # fan-out node -> each item's outputs
        self.queued: Pending | None = None  # the host item the last _one queued
        self.waves.graphs[prefix] = self.plan

    def run(self) -> dict[str, Any]:
        nodes: dict[str, dict[str, Any]] = {}
        later: list[str] = []  # nodes that need a host's answer: planned after the wave
        for nid in self._order():
            if not self.prefix and self._must_wait(self.plan.nodes[nid], later):
                later.append(nid)
                nodes[nid] = {}  # its place in graph order
                continue
            nodes[self.prefix + nid] = self._node(self.plan.nodes[nid])
        if not self.prefix:
            self.waves.flush()
            for nid in later:
                nodes[nid] = self._node(self.plan.nodes[nid])
            self.waves.flush()
            for entry in nodes.values():
                self._settle(entry)
        return {"graph": self.graph.name, "nodes": nodes}

    def _node(self, node: Node) -> dict[str, Any]:
        late = self.waves.out_of_time()
        if late:
            entry = {"brick": node.brick, **cannot_tell(late)}
        elif is_composite(node.brick):
            entry = self._composite(node)
        else:
            entry = self._fan_out(node) if node.for_each else self._one(node, self._values(node))
        if node.trigger in ONLY_ON_FAILURE:
            entry["when"] = ONLY_ON_FAILURE[node.trigger]
        return entry

    def _must_wait(self, node: Node, later: list[str]) -> bool:
        """Whether ``node`` is planned once the hosts answered: it reads an output no host told
        yet, or follows a node that waits. So every host item that needs no answer goes in one
        wave (a round trip per host, not one per node that reads an answer). A host node after
        a waiting control node (order edge only) goes now: a control node changes nothing on a
        host, so each host's items stay in dependency order."""
        cls = self.registry.get(node.brick)
        on_host = cls is not None and bool(cls.host_input) and not is_composite(node.brick)
        fed = {e.from_.node for e in self.plan.wires.get(node.id, [])}
        for pred in self.plan.preds.get(node.id, []):
            if pred not in later:
                continue
            pred_cls = self.registry.get(self.plan.nodes[pred].brick)
            pred_on_host = is_composite(self.plan.nodes[pred].brick) or bool(pred_cls and pred_cls.host_input)
            if pred in fed or pred_on_host or not on_host:
                return True
        return any(unanswered(self.outputs.get(e.from_.node, {}).get(e.from_.port))
                   for e in self.plan.wires.get(node.id, []))

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

    def _known(self, value: Any) -> Any:
        """``value`` with each queued host item's output filled in (sending the queue first when
        one is not answered yet: this is what makes a wave)."""
        if isinstance(value, Future):
            if value.item.told is None:
                self.waves.flush()
            outs = (value.item.told or {}).get("outputs")
            if isinstance(outs, dict) and value.port in outs:
                return outs[value.port]
            return Unknown(f"(from {value.item.id}.{value.port})")
        if isinstance(value, list):
            if not any(isinstance(v, (Future, list, dict)) for v in value):
                return value  # a plain list (a selection of 100 hosts): nothing to fill in
            return [self._known(v) for v in value]
        if isinstance(value, dict) and not isinstance(value, Unknown):
            return {k: self._known(v) for k, v in value.items()}
        return value

    def _values(self, node: Node, index: int | None = None) -> dict[str, Any]:
        values = {k: self._param(v) for k, v in node.params.items()}
        for e in self.plan.wires.get(node.id, []):
            src, port = e.from_.node, e.from_.port
            if index is not None and e.to.port == node.for_each:
                continue  # the item itself: the caller sets it (not the whole list, scanned per item)
            if index is not None and self.plan.nodes[src].for_each:
                items = self.items.get(src, [])  # item i meets item i (zip), as in a run
                got = items[index].get(port) if index < len(items) else None
                values[e.to.port] = got if got is not None else Unknown(f"(from {item_id(src, index)}.{port})")
            else:
                values[e.to.port] = self.outputs.get(src, {}).get(port, Unknown(f"(from {src}.{port})"))
        return self._known(values)

    def _one(self, node: Node, values: dict[str, Any], instance: str | None = None,
             entry: dict[str, Any] | None = None) -> dict[str, Any]:
        cls = self.registry.get(node.brick)
        entry = {**(entry or {}), "brick": node.brick, "inputs": values}
        self.waves.count += 1
        self.queued = None
        if cls is not None and cls.host_input:
            self.queued = self._queue(node, cls, values, instance or self.prefix + node.id, entry)
            if instance is None:
                self.outputs[node.id] = self._futures(node, self.queued)
            return entry
        # Control bricks share facts too (what an earlier net.pool or net.allocate will have
        # stored), under a key no host name can take.
        planned = self.waves.planned[CONTROL_PLANE]
        told = tell(cls, node.brick, values, Context(run_id="plan", node_id=instance or node.id,
                                                     inventory=self.inventory, planned=planned))
        sets = told.pop("sets", None)
        if sets and node.trigger not in ONLY_ON_FAILURE:
            planned.merge(sets)
        entry["effect"] = told.pop("effect", UNKNOWN_EFFECT)
        entry.update(told)
        if instance is None and isinstance(told.get("outputs"), dict):
            self.outputs[node.id] = told["outputs"]
        return entry

    def _queue(self, node: Node, cls: Any, values: dict[str, Any], item: str, entry: dict) -> Pending:
        """A host brick's item, queued for its host (or told here when no host could plan it)."""
        host = entry["host"] = values.get(cls.host_input)
        pending = Pending(item, host if isinstance(host, str) else "", node.brick, values, entry,
                          node.trigger in ONLY_ON_FAILURE, (self.prefix, node.id))
        _inputs, problem = check_inputs(cls, values)
        if problem:
            pending.fill(fails(problem))
        elif not is_known(host):
            pending.fill(cannot_tell(f"it runs on host {host}, known only at run time"))
        else:
            from nebhx.runtime import check_host_name
            try:
                check_host_name(host)
                self.waves.pending.append(pending)
            except BrickFailed as exc:
                pending.fill(fails(str(exc)))
        return pending

    def _futures(self, node: Node, pending: Pending) -> dict[str, Any]:
        spec = self.registry.specs.get(node.brick, {"outputs": []})
        return {p["name"]: Future(pending, p["name"]) for p in spec["outputs"]}

    def _fan_out(self, node: Node) -> dict[str, Any]:
        values = self._values(node)
        items = values.get(node.for_each)
        settings = {k: getattr(node, k) for k in FAN_OUT_SETTINGS if getattr(node, k) is not None}
        if not isinstance(items, list):
            return {"brick": node.brick, "inputs": values, **settings, "changes": None,
                    "effect": f"runs once per item of {items}, not known before the run"}
        if self.waves.count + len(items) > MAX_ITEMS:
            return {"brick": node.brick, **settings, **cannot_tell(
                f"{len(items)} items; a plan tells at most {MAX_ITEMS} nodes and items in all")}
        size = portion(node.batch, len(items)) if node.batch is not None and items else len(items) or 1
        entries, self.items[node.id] = [], []
        for i, item in enumerate(items):
            iid = item_id(self.prefix + node.id, i)
            one = {**self._values(node, i), node.for_each: item}
            entry = self._one(node, one, iid, {"id": iid, "item": item, "batch": i // size + 1})
            entries.append(entry)
            self.items[node.id].append(self._futures(node, self.queued) if self.queued else
                                       entry.get("outputs") if isinstance(entry.get("outputs"), dict) else {})
        self.outputs[node.id] = self._gathered(node)
        return {"brick": node.brick, **settings, "effect": _fan_out_effect(node, len(items), size),
                "batches": math.ceil(len(items) / size), "items": entries, "outputs": self.outputs[node.id]}

    def _composite(self, node: Node) -> dict[str, Any]:
        """The inner graph planned with the composite's inputs (an unknown one stays unknown)."""
        values = self._values(node)
        found = self.library.lookup(node.brick)
        if isinstance(found, str) or self.prefix.count(SEP) >= MAX_NESTING:
            return {"brick": node.brick, "inputs": values, **fails(str(found))}
        gid, rev, inner = found
        given = {i.name: values[i.name] for i in inner.inputs if i.name in values}
        sub = DryRun(inner, given, self.inventory, self.registry, self.library,
                     f"{self.prefix}{node.id}{SEP}", self.waves)
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

    def _settle(self, entry: dict[str, Any]) -> None:
        """Every output in the answer as a value (the queues were sent)."""
        if "outputs" in entry:
            entry["outputs"] = self._known(entry["outputs"])
        for item in entry.get("items", []):
            self._settle(item)
        for child in entry.get("children", {}).values():
            self._settle(child)


def _fan_out_effect(node: Node, n: int, size: int) -> str:
    words = [f"{n} item" if n == 1 else f"{n} items"]
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
               registry: Registry | None = None, library: Library | None = None,
               hosts: HostPlanner | None = None, timeout_s: float | None = None) -> dict[str, Any]:
    """The plan of ``graph``; host nodes are planned by ``hosts`` (None: each is "cannot tell")."""
    from nebhx.settings import get_settings
    settings = get_settings()
    started = time.perf_counter()
    waves = Waves(hosts, timeout_s or settings.plan_timeout_s, settings.plan_host_timeout_s)
    out = DryRun(graph, inputs, inventory, registry or get_registry(), library, waves=waves).run()
    return {**out, "elapsed_s": round(time.perf_counter() - started, 4)}


def plan_request(session: Session | None = None, *, graph: dict | None = None, graph_id: str | None = None,
                 revision: int | None = None, inputs: dict[str, Any] | None = None,
                 hosts: HostPlanner | None = None) -> dict[str, Any]:
    """The plan route: a document (validated first) or a stored revision, and run inputs. The
    store is read in short transactions of its own: none stays open while hosts answer."""
    from nebhx.engine.inventory import StoreInventory
    from nebhx.execution.plan import AgentHosts
    from nebhx.graphs import service
    from nebhx.errors import BadInputs
    from nebhx.store.db import session_scope
    if graph is None and graph_id is None:
        raise BadInputs([{"input": "graph_id", "message": "give graph_id or graph"}])
    with session_scope() if session is None else nullcontext(session) as s:
        if graph is not None:
            parsed = service.validate_doc(doc=graph, session=s)
        else:
            parsed = Graph.model_validate(service.get_revision(s, graph_id=graph_id, number=revision))
        inventory = StoreInventory(s)
        inventory.hosts()
    return plan_graph(parsed, _given(parsed, inputs or {}), inventory, library=Library(None, parsed.includes),
                      hosts=hosts or AgentHosts())


def _given(graph: Graph, inputs: dict[str, Any]) -> dict[str, Any]:
    """Inputs coerced as a run would; a missing one stays unknown, a Secret is never shown."""
    from nebhx.runs.service import check_inputs as check_run_inputs
    optional = graph.model_copy(update={"inputs": [i.model_copy(update={"required": False})
                                                   for i in graph.inputs if i.type != "Secret"]})
    plain = {k: v for k, v in inputs.items() if k not in {i.name for i in graph.inputs if i.type == "Secret"}}
    return check_run_inputs(optional, plain)
