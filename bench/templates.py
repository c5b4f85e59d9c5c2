"""The cost of the template budget: one render of typical templates, budgeted (nebhx.templating)
beside Jinja2's plain sandbox (what rendering cost before the budget), alternated in one run.

    .venv/bin/python bench/templates.py [ROUNDS]
Prints the median time per render of each and their ratio: once with a text seen before
(nebhx.templating keeps compiled code per text), once with a new text each time (compiled again).
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import jinja2  # noqa: E402
from jinja2.sandbox import ImmutableSandboxedEnvironment  # noqa: E402

from engine import CONFIG, VALUES  # noqa: E402
from nebhx import templating  # noqa: E402

CASES = {
    "url": ("http://{{ host }}:{{ port }}/health", {"host": "web1", "port": 8080}),
    "config file": (CONFIG, VALUES),
    "loop of 2,000": ("{% for i in range(2000) %}{{ i }},{% endfor %}", {}),
}


def plain(text: str, values: dict) -> str:
    env = ImmutableSandboxedEnvironment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    return env.from_string(text).render(**values)


def timed(fn, text: str, values: dict, n: int, fresh: bool) -> float:
    texts = [f"{text}{{# {time.perf_counter_ns()} {i} #}}" if fresh else text for i in range(n)]
    started = time.perf_counter()
    for t in texts:
        fn(t, values)
    return (time.perf_counter() - started) / n


def main(rounds: int) -> None:
    for name, (text, values) in CASES.items():
        assert plain(text, values) == templating.render(text, values), name
        n = 20 if "loop" in name else 100
        for fresh in (False, True):
            base, budgeted = [], []
            for _ in range(rounds):
                base.append(timed(plain, text, values, n, fresh))
                budgeted.append(timed(templating.render, text, values, n, fresh))
            b, t = statistics.median(base), statistics.median(budgeted)
            seen = "new text " if fresh else "same text"
            print(f"{name:<14} {seen}  plain sandbox {b * 1e3:7.3f} ms   budgeted {t * 1e3:7.3f} ms   "
                  f"ratio {t / b:5.2f}x", flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 7)
