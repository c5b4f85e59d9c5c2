"""Issue 18, finding 2: a template cannot exhaust the process that renders it.

Each payload grows a value past any budget by another door (a filter's width, a format's
field width, ``~`` doubling, integer squaring, ``replace('')``, a loop over a long string,
a shared list printed...). They all render in one child process capped at 1 GiB of address
space: unbudgeted, they die there of MemoryError or run past the timeout; budgeted, each is a
TemplateError naming the limit, within the wall-time limit, and the child stays small.
The same renders run in the API (a viewer's plan, config explain) and in bricks (runs on
workers and agents): those doors are tried too.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from nebhx import Context
from nebhx.runtime.configs import ConfigError, resolve
from nebhx.template_budget import MAX_SECONDS
from nebhx_blocks.core.glue import Template
from apikit import add_user, bearer

LONG = "abcdefghij" * 2000  # the 20,000-character string
PAYLOADS = {
    "center": ("{{ ('x'|center(2000000000))|length }}", {}),
    "format-method": ("{{ '{:>200000000}'.format('x')|length }}", {}),
    "format-filter": ("{{ '%200000000s'|format('x')|length }}", {}),
    "percent": ("{{ ('%200000000s' % 'x')|length }}", {}),
    "tilde-doubling": ("{% set ns = namespace(s='x') %}{% for i in range(40) %}"
                       "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}", {}),
    "int-squaring": ("{% set ns = namespace(n=3) %}{% for i in range(40) %}"
                     "{% set ns.n = ns.n * ns.n %}{% endfor %}{{ ns.n > 5 }}", {}),
    "replace-empty": ("{{ ('x' * 1000)|replace('', 'y' * 1000000)|length }}", {}),
    "replace-method": ("{{ ('x' * 1000).replace('', 'y' * 1000000)|length }}", {}),
    "indent": ("{{ 'a\nb'|indent(2000000000)|length }}", {}),
    "join-shared": ("{{ (['x' * 900000] * 1000)|join|length }}", {}),
    "nested-literal": ("{% set ns = namespace(l=[1]) %}{% for i in range(60) %}"
                       "{% set ns.l = [ns.l, ns.l] %}{% endfor %}{{ ns.l }}", {}),
    "loop-over-long-string": ("{% for a in s %}{% for b in s %}{% endfor %}{% endfor %}done", {"s": LONG}),
    "lipsum": ("{{ lipsum(100000000)|length }}", {}),
    "to-bytes": ("{{ (1).to_bytes(2000000000, 'big')|length }}", {}),
    "text-in-loop": ("{% for i in range(1000000) %}" + "y" * 5000 + "{% endfor %}", {}),
    "captured-block": ("{% set x %}{% for i in range(900000) %}" + "z" * 3000
                       + "{% endfor %}{% endset %}{{ x|length }}", {}),
    "batch-fill": ("{{ [1]|batch(2000000000, 0)|list|length }}", {}),
    "slow-filter-in-loop": ("{% for i in range(30) %}{{ (s|wordwrap(3))|length }}{% endfor %}", {"s": "a" * 200000}),
}
CHILD = """
import json, resource, sys, time
resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
from nebhx import templating
out = {}
for pid, (text, values) in json.loads(sys.stdin.read()).items():
    started = time.monotonic()
    try:
        templating.render(text, values)
        out[pid] = {"kind": "rendered"}
    except Exception as exc:
        out[pid] = {"kind": type(exc).__name__, "error": str(exc)[:300]}
    out[pid]["seconds"] = time.monotonic() - started
    print(json.dumps({pid: out[pid]}), flush=True)
# VmHWM, not ru_maxrss: Linux folds the pre-exec memory's peak into ru_maxrss at execve, so
# a child of a big pytest (450 MB in a full run) reported the parent's size, not its own.
peak = next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"rss_mb": int(peak) // 1024}), flush=True)
"""


@pytest.fixture(scope="module")
def confined() -> dict:
    """Every payload rendered in one child process with 1 GiB of address space."""
    proc = subprocess.run([sys.executable, "-c", CHILD], input=json.dumps(PAYLOADS), capture_output=True,
                          text=True, timeout=len(PAYLOADS) * (MAX_SECONDS + 5))
    results: dict = {}
    for line in proc.stdout.splitlines():
        results.update(json.loads(line))
    results["stderr"] = proc.stderr[-2000:]
    return results


@pytest.mark.parametrize("pid", list(PAYLOADS))
def test_payload_is_refused_within_the_budget(confined, pid):
    result = confined.get(pid)
    assert result is not None, f"the child died before {pid}: {confined['stderr']}"
    assert result["kind"] == "TemplateError", result
    assert result["error"].startswith("template"), result
    assert result["seconds"] < MAX_SECONDS + 2, result


def test_the_renders_stayed_small(confined):
    # Unbudgeted, these payloads take gigabytes (center(2000000000) alone is 2 GB); budgeted
    # the child peaks at about 40 MB, wherever it runs (its own peak: see CHILD's VmHWM).
    assert "rss_mb" in confined, confined["stderr"]
    assert confined["rss_mb"] < 300, confined


def test_ordinary_templates_render_as_before():
    text = ("{% for h in hosts %}{{ h }}:{{ port }} {% endfor %}{{ '{}:{:>4}'.format(1, 2) }} {{ '%05d' % 3 }} "
            "{{ [1, 2]|join(',') }} {{ 'a b'|replace(' ', '-') }} {{ ('x' * 3)|center(7) }}|{{ {'k': [1]}.k }}")
    out = Template()(Context(), template=text, values={"hosts": ["a", "b"], "port": 80}).text
    assert out == "a:80 b:80 1:   2 00003 1,2 a-b   xxx  |[1]"


def test_a_brick_fails_naming_the_budget():
    """What a worker or an agent runs: core.template, and config.render's resolve."""
    with pytest.raises(Exception, match=r"^template line 1: center\(2000000000\) would be larger"):
        Template()(Context(), template="{{ 'x'|center(2000000000) }}", values={})
    profiles = {"p": {"values": {}, "templates": {"app.conf": "{{ 'x'|center(2000000000) }}"}}}
    with pytest.raises(ConfigError, match=r"^template 'app.conf' line 1: center"):
        resolve(profiles, "p", host="h1")


def test_a_viewer_plan_is_refused_by_the_budget(secured):
    token = add_user("viewer1", "viewer")
    doc = {"format": "nebhx/graph@1", "name": "t", "nodes": [
        {"id": "t", "brick": "core.template", "params": {"template": "{{ 'x'|center(20000000) }}", "values": {}}}],
        "edges": []}
    started = time.monotonic()
    answer = secured.post("/api/graphs/plan", json={"graph": doc}, headers=bearer(token))
    assert answer.status_code == 200, answer.text
    node = answer.json()["nodes"]["t"]
    assert node.get("fails") is True and "center(20000000) would be larger" in node["effect"], node
    assert len(answer.content) < 100_000 and time.monotonic() - started < MAX_SECONDS


def test_config_explain_is_refused_by_the_budget(secured):
    admin, viewer = add_user("admin1", "admin"), add_user("viewer1", "viewer")
    doc = {"values": {}, "templates": {"app.conf": "{{ '%20000000s'|format('x') }}"}}
    assert secured.put("/api/config/profiles/p", json=doc, headers=bearer(admin)).status_code == 200
    answer = secured.get("/api/config/profiles/p/explain", headers=bearer(viewer))
    assert answer.status_code == 422, answer.text[:300]
    assert "template 'app.conf' line 1: format() would be larger" in answer.text
