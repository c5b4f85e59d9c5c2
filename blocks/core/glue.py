"""Glue bricks: small, pure, typed helpers that shape values between other bricks."""
from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator

from nebhx import Address, Brick, BrickFailed, Context, Ports, Secret, Url
from nebhx.bricks.base import is_known
from nebhx.graph_model import check_portion, portion
from nebhx.templating import render


class Template(Brick):
    """Render a Jinja2 string template over a map of values.

    A name the template uses but the map lacks fails the node and names the key
    (strict undefined), instead of rendering an empty string. Templates run in a
    sandbox: no access to Python internals (`_`-prefixed attributes), no mutating
    methods, and a bounded `range`.
    """

    id = "core.template"
    on_repeat = ''
    title = "Template"
    category = "core"

    class Inputs(Ports):
        template: str = Field(description="Jinja2 template text, e.g. 'http://{{ host }}:{{ port }}/'")
        values: dict[str, Any] = Field(default_factory=dict, description="Names the template may use")

    class Outputs(Ports):
        text: str

    def run(self, ctx: Context, inputs: Inputs) -> Outputs:
        text = render(inputs.template, inputs.values, undefined_hint="not in 'values'")
        return self.Outputs(text=text)

    def plan(self, ctx: Context, inputs: Inputs) -> dict[str, Any]:
        if not is_known(inputs.template) or not is_known(inputs.values):
            return {"effect": "renders once its template and values are known", "changes": False}
        text = self.run(ctx, inputs).text  # a BrickFailed is the plan's "would fail"
        return {"effect": f"renders {len(text)} characters", "outputs": {"text": text}, "changes": False}


URL_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^\s/?#]+[^\s]*$")


class TemplateUrl(Template):
    """Render a Jinja2 template whose result is a URL: its `text` output is typed Url.

    Wire it into a Url input (a check, a webhook) where a plain Template's string would
    not fit. The rendered text must be an absolute URL (`scheme://host...`), else the
    node fails showing what it rendered.
    """

    id = "core.template_url"
    title = "URL template"

    class Outputs(Ports):
        text: Url

    def run(self, ctx: Context, inputs: Template.Inputs) -> Outputs:
        text = super().run(ctx, inputs).text.strip()
        if not URL_RE.match(text):
            raise BrickFailed(f"the template rendered {ctx.mask(text)[:200]!r}, not an absolute URL (scheme://host/...)")
        return self.Outputs(text=text)


class MakeUrl(Brick):
    """Make a URL from a service's address: `scheme://address/path`.

    Wire a service's or a balancer's `address` (host:port) here and its `url` into a
    check: the port is written once, where the service is defined.
    """

    id = "core.url"
    on_repeat = ''
    title = "URL from address"
    category = "core"

    class Inputs(Ports):
        address: Address = Field(description="host:port, e.g. from service.run or lb.haproxy")
        scheme: Literal["http", "https"] = Field(default="http", description="http or https")
        path: str = Field(default="/", description="Path (and query) after the address, e.g. /health")

    class Outputs(Ports):
        url: Url

    def run(self, ctx: Context, inputs: Inputs) -> Outputs:
        address = inputs.address.strip()
        if not address or any(c.isspace() or c in "/?#@" for c in address):
            raise BrickFailed(f"address {inputs.address!r} is not host:port")
        host, sep, port = address.rpartition(":")
        if sep and ":" in host and not host.startswith("["):  # a bare IPv6 address and a port
            address = f"[{host}]:{port}"
        path = inputs.path if inputs.path.startswith("/") else "/" + inputs.path
        return self.Outputs(url=f"{inputs.scheme}://{address}{path}")


class Split(Brick):
    """Split a list in two: its first items (`head`) and the others (`rest`), order kept.

    `first` is a count or a percentage of the list ("10%"), rounded up and at least 1
    when the list is not empty: a canary is `split 10%`, the head first, then the rest.
    For hosts, `hosts.split` is the same brick with typed `HostRef[]` ports.
    """

    id = "core.split"
    on_repeat = ''
    title = "Split list"
    category = "core"

    class Inputs(Ports):
        items: list[Any] = Field(description="The list to split")
        first: int | str = Field(default=1, description='How many go first: a count or a percentage like "10%"')

        @field_validator("first")
        @classmethod
        def _first(cls, value: int | str) -> int | str:
            return check_portion(value, "first")  # the same rule as a for_each batch

    class Outputs(Ports):
        head: list[Any]
        rest: list[Any]

    def run(self, ctx: Context, inputs: Inputs) -> Outputs:
        n = portion(inputs.first, len(inputs.items))
        ctx.log("first %d of %d items, then %d", n, len(inputs.items), len(inputs.items) - n)
        return self.Outputs(head=inputs.items[:n], rest=inputs.items[n:])

    def plan(self, ctx: Context, inputs: Inputs) -> dict[str, Any]:
        if not isinstance(inputs.items, list) or not is_known(inputs.first):
            return {"effect": f"splits {inputs.items} once it is known", "changes": False}
        out = self.run(ctx, inputs)
        items = lambda n: f"{n} item" if n == 1 else f"{n} items"  # noqa: E731
        return {"effect": f"head: {items(len(out.head))}, rest: {items(len(out.rest))}",
                "outputs": out.model_dump(mode="json"), "changes": False}


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Merge ``over`` into a copy of ``base``: maps merge key by key, anything else is replaced."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


class Merge(Brick):
    """Deep-merge maps in order: later maps win, nested maps merge key by key."""

    id = "core.merge"
    on_repeat = ''
    title = "Merge maps"
    category = "core"

    class Inputs(Ports):
        base: dict[str, Any] = Field(default_factory=dict, description="The first map")
        override: dict[str, Any] = Field(default_factory=dict, description="Merged over base")
        more: list[dict[str, Any]] = Field(default_factory=list, description="Merged last, in order")

    class Outputs(Ports):
        result: dict[str, Any]

    def run(self, ctx: Context, inputs: Inputs) -> Outputs:
        result = deep_merge(inputs.base, inputs.override)
        for extra in inputs.more:
            result = deep_merge(result, extra)
        return self.Outputs(result=result)


class ShareSettings(Brick):
    """Build network-share settings from an address, a share name, a login and a password.

    Gives the settings as an object (for bricks that mount shares) and as a CIFS
    mount-options string. The password stays a Secret: it is masked wherever it is shown.
    """

    id = "core.share_settings"
    on_repeat = ''
    title = "Network share settings"
    category = "core"

    class Inputs(Ports):
        address: Address = Field(description="File server address, e.g. 10.0.0.5 or files:445")
        share: str = Field(description="Share name, e.g. 'data'", min_length=1)
        login: str = Field(description="User name")
        password: Secret = Field(description="Password of the login")
        domain: str = Field(default="", description="Windows domain, if any")
        options: str = Field(default="vers=3.0", description="Extra mount options")

    class Outputs(Ports):
        unc: str
        settings: dict[str, Any]
        mount_options: Secret

    def run(self, ctx: Context, inputs: Inputs) -> Outputs:
        host = inputs.address.rsplit(":", 1)[0] if inputs.address.count(":") == 1 else inputs.address
        unc = f"//{host}/{inputs.share.strip('/')}"
        opts = [f"username={inputs.login}", f"password={inputs.password.get_secret_value()}"]
        if inputs.domain:
            opts.append(f"domain={inputs.domain}")
        if inputs.options:
            opts.append(inputs.options)
        settings = {"address": inputs.address, "unc": unc, "share": inputs.share,
                    "login": inputs.login, "domain": inputs.domain, "password": "******"}
        ctx.log("share settings for %s as %s", unc, inputs.login)
        return self.Outputs(unc=unc, settings=settings, mount_options=",".join(opts))
