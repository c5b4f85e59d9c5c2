"""How a release source names a build artifact: ``artifact:NAME@sha256:HEX``."""
from __future__ import annotations

import re

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,199}$")
REF_RE = re.compile(r"^artifact:([^@\s]+)@sha256:([0-9a-fA-F]{64})$")


def check_name(name: str) -> str:
    if not NAME_RE.match(name or ""):
        raise ValueError(f"artifact name {name!r}: use letters, digits, '.', '_', '+' and '-'")
    return name


def reference(name: str, sha256: str) -> str:
    """How a release source names an artifact: ``artifact:NAME@sha256:HEX``."""
    return f"artifact:{name}@sha256:{sha256}"


def parse_reference(source: str) -> tuple[str, str]:
    found = REF_RE.match(source.strip())
    if not found:
        raise ValueError(f"{source!r} is not artifact:NAME@sha256:<64 hex digits>")
    return check_name(found.group(1)), found.group(2).lower()
