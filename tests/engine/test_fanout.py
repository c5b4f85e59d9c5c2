"""for_each at the API (the fan-out and batch rules run in process: test_fanout_rules.py)."""
from __future__ import annotations

from support import graph, wire


def test_gathered_output_types_are_checked(stack):
    bad = graph("fan-types", [("fan", "test.echo", {"text": ["a"]}, {"for_each": "text"}), ("one", "test.echo")],
                [wire("fan", "text", "one", "text")])
    with stack.client() as c:
        resp = c.post("/graphs/validate", json=bad)
    assert resp.status_code == 422
    assert "fan.text (string[]) does not fit one.text (string)" in resp.text
