"""Generated graph documents, valid-ish and garbage, deep and wide, through the validator and
the importer: the validator never raises, and POST /api/graphs never answers 5xx."""
from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support import TEST_BLOCKS

BRICKS = ["test.echo", "test.noop", "core.template", "test.fail", "nope.brick", ""]
SCALARS = (st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
           | st.sampled_from(["\x00", "\ud800", "a\x1fb", "1e400"]))
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=6), inner, max_size=4), max_leaves=30)


def _deep(levels: int, leaf) -> object:
    for _ in range(levels):
        leaf = {"v": leaf}
    return leaf


NODE = st.fixed_dictionaries({
    "id": st.text(max_size=8) | st.sampled_from(["a", "b", "c"]),
    "brick": st.sampled_from(BRICKS),
    "params": st.dictionaries(st.sampled_from(["text", "template", "values", "x"]), JSON, max_size=3),
}, optional={"position": st.fixed_dictionaries({"x": st.floats(), "y": st.floats()}),
             "retries": st.integers(), "for_each": st.text(max_size=5)})
EDGE = st.fixed_dictionaries({"from": st.fixed_dictionaries({"node": st.sampled_from(["a", "b", "c"])},
                                                            optional={"port": st.sampled_from(["text", "value"])}),
                              "to": st.fixed_dictionaries({"node": st.sampled_from(["a", "b", "c"])},
                                                          optional={"port": st.sampled_from(["text", "values"])})})
GRAPH = st.fixed_dictionaries({"format": st.just("nebhx/graph@1"), "name": st.text(min_size=1, max_size=30),
                               "nodes": st.lists(NODE, max_size=6), "edges": st.lists(EDGE, max_size=6)},
                              optional={"meta": JSON, "inputs": st.lists(JSON, max_size=2)})
# Valid-ish: graphs that pass the checks, so what they carry (meta, labels, positions,
# params of any shape) reaches the store and comes back in the export.
VALID = st.builds(lambda n, name, meta, labels, xy, values: {
    "format": "nebhx/graph@1", "name": name, "meta": meta,
    "nodes": [{"id": f"n{i}", "brick": "core.template", "label": labels[i % len(labels)],
               "params": {"template": "{{ a }}", "values": values}, "position": {"x": xy[0], "y": xy[1]}}
              for i in range(n)]},
    st.integers(1, 4), st.text(min_size=1, max_size=30), st.dictionaries(st.text(max_size=6), JSON, max_size=4),
    st.lists(st.text(max_size=20), min_size=1, max_size=3), st.tuples(st.floats(), st.floats()),
    st.dictionaries(st.text(max_size=6), JSON, max_size=4))
# Deep documents are built in the test from a drawn depth: hypothesis's own printer recurses.
DEPTH = st.none() | st.sampled_from([0, 1, 50, 63, 64, 65, 500, 5_000, 50_000])


def _document(doc, depth):
    """``doc``, or with node 0's params (or the whole document) nested ``depth`` levels deeper."""
    if depth is None:
        return doc
    if isinstance(doc, dict) and doc.get("nodes"):
        return {**doc, "nodes": [{**doc["nodes"][0], "params": {"values": _deep(depth, 1)}}, *doc["nodes"][1:]]}
    return _deep(depth, doc)

FUZZ = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))


@FUZZ
@given(doc=VALID | GRAPH | JSON, depth=DEPTH)
def test_the_validator_answers_problems_never_raises(doc, depth):
    from nebhx.bricks.registry import load_registry
    from nebhx.graphs.validate import validate_graph
    from support import ROOT
    global _REGISTRY
    _REGISTRY = globals().get("_REGISTRY") or load_registry([ROOT / "blocks", TEST_BLOCKS])
    graph, problems = validate_graph(_document(doc, depth), _REGISTRY)
    assert graph is not None or problems
    assert all(p.message for p in problems)


def _text(doc, depth) -> str:
    """``_document`` as JSON text, built without recursion (json.dumps recurses); NaN and
    Infinity are written as such, as a careless client would."""
    if depth is None:
        return json.dumps(doc)
    deep, mark = '{"v": ' * depth + "1" + "}" * depth, "\u2603deep\u2603"
    if isinstance(doc, dict) and doc.get("nodes"):
        doc = {**doc, "nodes": [{**doc["nodes"][0], "params": {"values": mark}}, *doc["nodes"][1:]]}
        return json.dumps(doc).replace(json.dumps(mark), deep)
    return '{"v": ' * depth + json.dumps(doc) + "}" * depth


def test_the_importer_never_answers_5xx(api):
    seen = []

    @FUZZ
    @given(doc=VALID | GRAPH | JSON, depth=DEPTH)
    def post(doc, depth):
        body = _text(doc, depth)  # NaN and Infinity are written as such, as a careless client would
        resp = api.post("/api/graphs", content=body, headers={"content-type": "application/json"})
        seen.append(resp.status_code)
        assert resp.status_code < 500, (body[:300], resp.text[:300])
        if resp.status_code == 201:  # what was stored is exported unchanged
            assert api.get(f"/api/graphs/{resp.json()['id']}/revisions/1").json() == json.loads(body)
    post()
    assert 422 in seen and 201 in seen
