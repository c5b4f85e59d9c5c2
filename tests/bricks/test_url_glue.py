"""Wiring a service to its check: core.url and core.template_url give typed Url outputs."""
from __future__ import annotations

import pytest

from nebhx import BrickFailed, Context
from nebhx.bricks.types import fits
from nebhx_blocks.core.glue import MakeUrl, TemplateUrl


def test_url_from_an_address_scheme_and_path():
    assert MakeUrl()(Context(), address="10.0.0.7:8100").url == "http://10.0.0.7:8100/"
    assert MakeUrl()(Context(), address="web1:443", scheme="https", path="health").url == "https://web1:443/health"
    assert MakeUrl()(Context(), address="::1:8100", path="/h?x=1").url == "http://[::1]:8100/h?x=1"
    with pytest.raises(BrickFailed, match="is not host:port"):
        MakeUrl()(Context(), address="http://x:1/")


def test_template_url_renders_a_url_or_fails_showing_the_text():
    out = TemplateUrl()(Context(), template="http://{{ host }}:{{ port }}/health", values={"host": "a", "port": 81})
    assert out.text == "http://a:81/health"
    with pytest.raises(BrickFailed, match="rendered 'a:81', not an absolute URL"):
        TemplateUrl()(Context(), template="{{ host }}:{{ port }}", values={"host": "a", "port": 81})


def test_their_outputs_are_typed_url_and_fit_a_checks_url_input():
    from nebhx.bricks.registry import get_registry
    specs = get_registry().specs
    out = {b: {p["name"]: p["type"] for p in specs[b]["outputs"]} for b in ("core.url", "core.template_url")}
    assert out == {"core.url": {"url": "Url"}, "core.template_url": {"text": "Url"}}
    check_url = next(p for p in specs["check.http"]["inputs"] if p["name"] == "url")["type"]
    assert fits("Url", check_url) and not fits("Address", check_url) and not fits("string", check_url)
    assert specs["core.template_url"]["parent"] == "core.template"
