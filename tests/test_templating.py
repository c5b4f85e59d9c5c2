"""Every template entry point renders in the sandbox: known escapes fail, naming the template.

The API entry point is in tests/api/test_template_sandbox.py (it needs the api fixture).
"""
from __future__ import annotations

import time

import jinja2
import pytest

from escapes import IDS, PAYLOADS, armed
from nebhx import BrickFailed, Context, templating
from nebhx.runtime.configs import ConfigError, resolve
from nebhx_blocks.core.glue import Template
from support import graph


def _unsandboxed() -> jinja2.Environment:
    """Plain Jinja2 with the sandbox's range: what rendering looked like before (its own lipsum,
    the sandbox's checks its arguments from a module that does not import os)."""
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    env.globals["range"] = templating.environment().globals["range"]
    return env


@pytest.mark.parametrize(("pid", "template", "effect"),
                         [p for p in PAYLOADS if p[2] in ("marker", "leak")], ids=lambda v: v)
def test_payloads_are_real_escapes_without_the_sandbox(tmp_path, pid, template, effect):
    marker = tmp_path / "MARKER"
    out = _unsandboxed().from_string(armed(template, marker)).render()
    if effect == "marker":
        assert marker.exists(), f"{pid} did not run its command unsandboxed"
    else:
        assert "<function popen" in out


@pytest.mark.parametrize(("pid", "template", "effect"), PAYLOADS, ids=IDS)
def test_core_template_brick_refuses_every_payload(tmp_path, pid, template, effect):
    marker = tmp_path / "MARKER"
    started = time.monotonic()
    with pytest.raises(BrickFailed, match=r"^template( line \d+| at line \d+)?: ") as info:
        Template()(Context(), template=armed(template, marker), values={})
    # Unsandboxed, range(10**9) or "x" * 10**10 would run for minutes; refused, it is instant.
    assert time.monotonic() - started < 60, f"{pid} ran for too long"
    assert not marker.exists()
    assert "popen" not in str(info.value) or effect == "leak"


@pytest.mark.parametrize(("pid", "template", "effect"), PAYLOADS, ids=IDS)
def test_config_resolve_refuses_every_payload(tmp_path, pid, template, effect):
    marker = tmp_path / "MARKER"
    profiles = {"p": {"values": {"port": 80},
                      "templates": {"app.conf": "port={{ port }}\n" + armed(template, marker)}}}
    with pytest.raises(ConfigError, match=r"^template 'app.conf' (at )?line 2: "):
        resolve(profiles, "p", host="h1")
    assert not marker.exists()


def test_errors_name_template_line_and_reason():
    with pytest.raises(templating.TemplateError) as info:
        templating.render_named("app.conf", {"app.conf": "a\n{{ cycler.__init__ }}"}, {})
    assert str(info.value) == ("template 'app.conf' line 2: access to attribute '__init__' "
                               "of 'type' object is unsafe")
    with pytest.raises(templating.TemplateError, match=r"^template 'inc.conf' line 3: access"):
        templating.render_named("main.conf", {"main.conf": "x\n{% include 'inc.conf' %}",
                                              "inc.conf": "\n\n{{ ''.__class__ }}"}, {})
    with pytest.raises(templating.TemplateError, match=r"^template 'a.conf' line 1: syntax error"):
        templating.parse("{% if %}", "a.conf")


def test_ordinary_templates_still_work():
    text = ("{% set ns = namespace(total=0) %}{% for i in range(4) %}{% set ns.total = ns.total + i %}"
            "{% endfor %}{{ ns.total }} {{ '{}:{}'.format(host, port) }} {{ 'ab' * 2 }} {{ 2 ** 10 }}"
            "{{ cycler('a', 'b').next() }}\n")
    out = Template()(Context(), template=text, values={"host": "h1", "port": 80}).text
    assert out == "6 h1:80 abab 1024a\n"
    profiles = {"p": {"values": {"port": 80}, "templates": {
        "main.conf": "{% include 'part.conf' %}end\n", "part.conf": "port={{ port }}\n"}}}
    assert resolve(profiles, "p").files["main.conf"] == "port=80\nend\n"


def test_escape_fails_the_node_on_the_control_worker(stack, tmp_path):
    marker = tmp_path / "MARKER"
    payload = next(t for pid, t, _ in PAYLOADS if pid == "cycler-globals")
    doc = graph("escape", [("t", "core.template", {"template": armed(payload, marker)})])
    run = stack.run(doc)
    node = run["nodes"]["t"]
    assert run["status"] == "failed" and node["status"] == "failed", run
    assert node["error"].startswith("template line 1: access to attribute '__init__'"), node
    assert not marker.exists()
