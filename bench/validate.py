"""Validation time of a 10,000-node graph (target: under 1 s).

    .venv/bin/python bench/validate.py
Three shapes: a chain wired port to port, a wide fan of independent nodes, and a chain
of template nodes with params checked against the brick's schema.
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from support import TEST_BLOCKS, graph, wire  # noqa: E402

from nebhx.bricks.registry import load_registry  # noqa: E402
from nebhx.graphs.validate import validate_graph  # noqa: E402

N = 10_000


def shapes() -> dict[str, dict]:
    return {
        "chain (echo)": graph("chain", [("n0", "test.echo", {"text": "x"})] + [(f"n{i}", "test.echo")
                                                                              for i in range(1, N)],
                              [wire(f"n{i-1}", "text", f"n{i}", "text") for i in range(1, N)]),
        "wide (noop)": graph("wide", [(f"n{i}", "test.noop") for i in range(N)]),
        "templates+params": graph("tpl", [(f"n{i}", "core.template", {"template": "{{ a }}", "values": {"a": i}})
                                          for i in range(N)]),
    }


def main() -> None:
    reg = load_registry([ROOT / "blocks", TEST_BLOCKS])
    print(f"validating {N:,}-node graphs, best and median of 5")
    for name, doc in shapes().items():
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            _, problems = validate_graph(doc, reg)
            times.append(time.perf_counter() - t0)
            assert not problems, problems[:3]
        print(f"  {name:<18} best {min(times):.3f} s   median {statistics.median(times):.3f} s")


if __name__ == "__main__":
    main()
