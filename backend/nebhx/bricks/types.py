"""Port types: plain JSON types plus semantic types, and the one wiring rule.

A port's type is read from the JSON Schema of its field: ``x-nebhx-type`` names a
semantic type, otherwise the JSON type is used (``string``, ``integer``, ``number``,
``boolean``, ``object``, ``T[]`` for arrays, ``any`` when unconstrained).

The rule (``fits``): an output fits an input when the input's type is the output's
type or one of its ancestors::

    VolumeUrl -> Url -> string      Address -> string      HostRef -> string
    integer -> number               T[] fits U[] when T fits U
    any (input) accepts every type but Secret; any (output) fits every input but Secret
    Secret fits only Secret, and only Secret fits a Secret input.

The editor applies the same table (served at GET /api/bricks as ``type_parents``).
"""
from __future__ import annotations

from typing import Annotated, Any

from pydantic import GetJsonSchemaHandler, SecretStr
from pydantic_core import core_schema as cs

PARENTS: dict[str, str] = {
    "VolumeUrl": "Url",
    "Url": "string",
    "Address": "string",
    "HostRef": "string",
    "integer": "number",
}
SECRET = "Secret"
ANY = "any"


class PortType:
    """Annotation marker that tags a field's JSON Schema with its semantic type."""

    def __init__(self, name: str, fmt: str | None = None):
        self.name = name
        self.fmt = fmt

    def __get_pydantic_json_schema__(self, schema: cs.CoreSchema, handler: GetJsonSchemaHandler):
        js = handler(schema)
        js = handler.resolve_ref_schema(js)
        js["x-nebhx-type"] = self.name
        if self.fmt:
            js.setdefault("format", self.fmt)
        return js

    def __repr__(self) -> str:
        return f"PortType({self.name!r})"


Url = Annotated[str, PortType("Url", "uri")]
VolumeUrl = Annotated[str, PortType("VolumeUrl", "uri")]
Address = Annotated[str, PortType("Address")]
HostRef = Annotated[str, PortType("HostRef")]
Secret = Annotated[SecretStr, PortType(SECRET)]


def ancestors(t: str) -> list[str]:
    chain = [t]
    while chain[-1] in PARENTS:
        chain.append(PARENTS[chain[-1]])
    return chain


def fits(out_t: str, in_t: str) -> bool:
    """True when a wire from an output of type ``out_t`` into ``in_t`` is legal."""
    if SECRET in (out_t, in_t):
        return out_t == in_t
    if ANY in (out_t, in_t):
        return True
    out_arr, in_arr = out_t.endswith("[]"), in_t.endswith("[]")
    if out_arr or in_arr:
        return out_arr and in_arr and fits(out_t[:-2], in_t[:-2])
    return in_t in ancestors(out_t)


def port_type(schema: dict[str, Any], defs: dict[str, Any] | None = None) -> str:
    """The port type of one property's JSON Schema."""
    defs = defs or {}
    if "x-nebhx-type" in schema:
        return schema["x-nebhx-type"]
    if "$ref" in schema:
        return port_type(defs.get(schema["$ref"].rsplit("/", 1)[-1], {}), defs)
    for key in ("anyOf", "oneOf"):
        members = [m for m in schema.get(key, []) if m.get("type") != "null"]
        if len(members) == 1:
            return port_type(members[0], defs)
        if members:
            return ANY
    if "allOf" in schema and len(schema["allOf"]) == 1:
        return port_type(schema["allOf"][0], defs)
    t = schema.get("type")
    if t == "array":
        return port_type(schema.get("items", {}), defs) + "[]"
    if isinstance(t, str) and t != "null":
        return t
    return ANY
