"""The host inventory a control brick reads as ``ctx.inventory``: hosts, labels, state, services.

This module holds the resource's type and the label selector, nothing that reads the store:
the engine gives control bricks a store-backed inventory (``nebhx.engine.inventory``), a
brick test gives ``StaticInventory([...])``.

Selectors (every comma-separated term must hold)::

    role=web   role==web   zone!=b   zone in (a,b)   zone notin (c)   canary   !canary

``name`` matches the host's own name unless the host has a label called ``name``.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import StringConstraints

_KEY = r"[A-Za-z0-9_][A-Za-z0-9_./-]*"
_VALUE = r"[A-Za-z0-9_.:/@+-]*"
# A label is stored only when a selector can name it: an agent's, an admin's, a join token's.
LabelKey = Annotated[str, StringConstraints(pattern=rf"^{_KEY}$", max_length=100)]
LabelValue = Annotated[str, StringConstraints(pattern=rf"^{_VALUE}$", max_length=200)]
LABEL_RULE = ("key=value; the key of letters, digits and '_./-' (not starting with '.', '/' or '-'), "
              "the value of letters, digits and '_.:/@+-'")


def parse_labels(pairs: Iterable[str]) -> dict[str, str]:
    """``["role=web", "zone=a"]`` as a dict; raises ValueError naming the first pair that is not a label."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not (sep and len(key) <= 100 and len(value) <= 200
                and re.fullmatch(_KEY, key) and re.fullmatch(_VALUE, value)):
            raise ValueError(f"label {pair!r} is not {LABEL_RULE}")
        out[key] = value
    return out
_TERM = re.compile(
    rf"^\s*(?:!\s*(?P<absent>{_KEY})"
    rf"|(?P<key>{_KEY})\s*(?:(?P<op>==|=|!=)\s*(?P<value>{_VALUE})"
    rf"|\s+(?P<setop>in|notin)\s*\((?P<values>[^()]*)\))?)\s*$")
SYNTAX = "key=value, key!=value, key in (a,b), key notin (a,b), key or !key"


class SelectorError(ValueError):
    """A selector that does not parse; the message names it."""


@dataclass(frozen=True)
class HostInfo:
    name: str
    labels: dict[str, Any] = field(default_factory=dict)
    state: str = "up"  # or "down": its agent stopped heartbeating
    address: str = ""
    services: tuple[dict[str, Any], ...] = ()  # the services view, as the agent last reported it

    def label(self, key: str) -> str | None:
        if key in self.labels:
            return str(self.labels[key])
        return self.name if key == "name" else None

    def shown(self) -> str:
        labels = ", ".join(f"{k}={v}" for k, v in sorted(self.labels.items()))
        return f"{self.name} ({labels + '; ' if labels else ''}{self.state})"


Match = Callable[[HostInfo], bool]


def _terms(selector: str) -> list[str]:
    """Split at the commas outside parentheses."""
    terms, depth, start = [], 0, 0
    for i, ch in enumerate(selector):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            terms.append(selector[start:i])
            start = i + 1
    return [*terms, selector[start:]]


def _term(text: str, selector: str) -> Match:
    m = _TERM.match(text)
    if m is None or (m["values"] is not None and not all(
            re.fullmatch(_VALUE, v.strip()) and v.strip() for v in m["values"].split(","))):
        raise SelectorError(f"bad selector {selector!r}: cannot read {text.strip()!r} (expected {SYNTAX})")
    if m["absent"]:
        return lambda h, k=m["absent"]: h.label(k) is None
    key = m["key"]
    if m["op"]:
        want, equal = m["value"], m["op"] != "!="
        return lambda h: (h.label(key) == want) == equal
    if m["setop"]:
        values, inside = {v.strip() for v in m["values"].split(",")}, m["setop"] == "in"
        return lambda h: (h.label(key) in values) == inside
    return lambda h: h.label(key) is not None


def parse_selector(selector: str) -> list[Match]:
    """The selector's terms as predicates; an empty selector matches every host."""
    if not selector.strip():
        return []
    return [_term(t, selector) for t in _terms(selector)]


class Inventory:
    """Hosts as the control plane knows them. Subclasses give ``hosts()``."""

    def hosts(self) -> list[HostInfo]:
        raise NotImplementedError

    def host(self, name: str) -> HostInfo | None:
        return next((h for h in self.hosts() if h.name == name), None)

    def select(self, selector: str, *, only_up: bool = True) -> list[HostInfo]:
        """The hosts every term of ``selector`` matches, sorted by name (``SelectorError``
        when it does not parse)."""
        terms = parse_selector(selector)
        picked = [h for h in self.hosts() if all(t(h) for t in terms)
                  and (h.state == "up" or not only_up)]
        return sorted(picked, key=lambda h: h.name)

    def services(self, host: str, service: str) -> list[dict[str, Any]] | None:
        """The instances of ``service`` on ``host`` in the services view; None for an unknown host."""
        info = self.host(host)
        return None if info is None else [s for s in info.services if s.get("service") == service]


class StaticInventory(Inventory):
    """A fixed list of hosts: for brick tests and for planning against a snapshot."""

    def __init__(self, hosts: Iterable[HostInfo]):
        self._hosts = list(hosts)

    def hosts(self) -> list[HostInfo]:
        return list(self._hosts)
