"""Every input limit, in one place, each with the reason it exists.

The API enforces them at the edge (nebhx.api.edge: path, query and JSON body before any
route runs; FastAPI parameter bounds), the graph validator enforces them on documents (so
`nebhx validate` and the importer agree), and the README's "Limits" table lists them.
Checks are iterative: a document nested 50,000 levels deep is measured, never recursed into.
"""
from __future__ import annotations

import json
import math
import re
from typing import Any

# `limit` of GET /api/runs and /api/audit: one page the browser and the store answer quickly.
# Out of range is refused (422), never clamped: a negative LIMIT means "no limit" to SQLite.
RUNS_LIMIT = (1, 1000)
AUDIT_LIMIT = (1, 5000)
# Revision numbers live in 32-bit INTEGER columns (PostgreSQL refuses larger ones).
REVISION_MAX = 2**31 - 1
# Event ids (`after`, Last-Event-ID) live in BIGINT columns.
EVENT_ID_MAX = 2**63 - 1
# Any path parameter or query value: ids and names are at most 200 characters in the store.
PARAM_MAX = 200
# JSON integers: what every 64-bit JSON reader (and a BIGINT) holds exactly.
INT_MIN, INT_MAX = -(2**63), 2**63 - 1
# Nesting of any JSON body or graph document: deep enough for real params, shallow enough
# that no recursive reader (pydantic, jsonschema, Jinja2, json.dumps) meets its stack limit.
MAX_DEPTH = 64
# Graph size: bench/validate.py validates 10,000 nodes in well under a second; twice that
# still answers promptly, and a node rarely has more than five wires.
MAX_NODES = 20_000
MAX_EDGES = 100_000

# No store can hold NUL (PostgreSQL refuses it in text) or a lone surrogate (not UTF-8);
# other control characters have no business in names. Tab, newline and carriage return
# are text (templates, scripts), so JSON strings may hold them; names may not.
_BAD_NAME = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_BAD_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
# What an agent reports (logs, errors, outputs) may hold any character a program prints; no
# store holds a lone surrogate (not UTF-8). Names in its requests are checked by their schemas.
_BAD_REPORTED = re.compile("[\ud800-\udfff]")

class LimitError(ValueError):
    """An input over a limit; ``path`` is a JSON pointer ("" for the whole document)."""

    def __init__(self, path: str, message: str):
        super().__init__(f"{path or '/'}: {message}")
        self.path, self.message = path, message


def _describe(ch: str) -> str:
    if "\ud800" <= ch <= "\udfff":
        return f"a lone surrogate (U+{ord(ch):04X}), which is not valid Unicode"
    return f"a control character (U+{ord(ch):04X})"


def bad_characters(text: str) -> str | None:
    """Why ``text`` cannot be any part of a name: a control character or lone surrogate."""
    found = _BAD_NAME.search(text)
    return f"contains {_describe(found.group())}" if found else None


def bad_name(text: str) -> str | None:
    """Why ``text`` cannot be a path parameter or query value; None when it can."""
    if bad_characters(text):
        return bad_characters(text)
    if len(text) > PARAM_MAX:
        return f"is {len(text)} characters long; the limit is {PARAM_MAX}"
    return None


def bad_text(text: str) -> str | None:
    """Why ``text`` cannot be a stored JSON string (a key or a value); None when it can."""
    found = _BAD_TEXT.search(text)
    return f"contains {_describe(found.group())}" if found else None


def _pointer(path: str, key: Any) -> str:
    key = str(key)
    if _BAD_NAME.search(key):  # shown in messages and terminals: spell the character out
        key = _BAD_NAME.sub(lambda m: f"\\u{ord(m.group()):04x}", key)
    return f"{path}/{key.replace('~', '~0').replace('/', '~1')}"


def _leaf_problem(value: Any, text: re.Pattern[str], numbers: bool = True) -> str | None:
    kind = type(value)
    if kind is str:
        found = text.search(value)
        return f"contains {_describe(found.group())}" if found else None
    if not numbers:
        return None
    if kind is float and not math.isfinite(value):
        return f"{value} is not a finite number (JSON has no NaN or Infinity; 1e400 overflows)"
    if kind is int and not INT_MIN <= value <= INT_MAX:
        return "the integer is outside -2^63..2^63-1"
    return None


def check_json(value: Any, *, root: str = "", max_depth: int = MAX_DEPTH, reported: bool = False,
               numbers: bool = True) -> None:
    """Raise LimitError at the first value over a limit: nesting, non-finite or huge numbers,
    control characters (``reported``: only lone surrogates, for what agents report; without
    ``numbers``: text only). Walks with an explicit stack, never by recursion."""
    text = _BAD_REPORTED if reported else _BAD_TEXT
    stack: list[tuple[Any, str, int]] = [(value, root, 1)]
    while stack:
        item, path, depth = stack.pop()
        if not isinstance(item, (dict, list)):
            why = _leaf_problem(item, text, numbers)
            if why:
                raise LimitError(path, why)
            continue
        if depth > max_depth and numbers:
            raise LimitError(path, f"nested deeper than {max_depth} levels")
        for key, child in (item.items() if isinstance(item, dict) else enumerate(item)):
            if isinstance(key, str) and _leaf_problem(key, text):
                raise LimitError(_pointer(path, key), f"the key {_leaf_problem(key, text)}")
            stack.append((child, _pointer(path, key), depth + 1))


def _quick_ok(value: Any, max_depth: int, text: re.Pattern[str] = _BAD_TEXT) -> bool:
    """True when ``value`` keeps every limit: level by level with C-speed checks per level,
    so a 10,000-node graph costs milliseconds. False sends ``check_json`` to find the path."""
    level: list[Any] = [[value]]
    texts: list[Any] = []
    floats: list[float] = []
    ints: list[int] = []
    for _ in range(max_depth + 1):
        deeper: list[Any] = []
        for item in level:
            if type(item) is dict:
                texts.extend(item)
                item = item.values()
            for v in item:
                kind = type(v)
                if kind is str:
                    texts.append(v)
                elif kind is dict or kind is list:
                    deeper.append(v)
                elif kind is float:
                    floats.append(v)
                elif kind is int:
                    ints.append(v)
        if not deeper:
            break
        level = deeper
    else:
        return False  # still containers below max_depth levels
    try:
        text_ok = not text.search("\n".join(texts))
    except TypeError:  # a key that is not a string: let the walk judge
        return False
    return (text_ok and all(map(math.isfinite, floats))
            and (not ints or (min(ints) >= INT_MIN and max(ints) <= INT_MAX)))


def loads(text: str | bytes, *, root: str = "", max_depth: int = MAX_DEPTH, reported: bool = False,
          judged_later: str | None = None) -> Any:
    """Parse JSON and check its limits: NaN, Infinity and 1e400 parse as floats and are then
    refused with their path. LimitError for an input over a limit, json.JSONDecodeError
    for text that is not JSON."""
    try:
        value = json.loads(text)
    except RecursionError:
        # The C parser's own guard (about 1,000 levels) fired: far past the limit anyway.
        raise LimitError(root, f"nested deeper than {max_depth} levels") from None
    except json.JSONDecodeError:
        raise
    except ValueError as exc:  # an integer of more than 4,300 digits
        raise LimitError(root, f"a number is too long ({exc})") from None
    checked = value
    if judged_later and isinstance(value, dict) and judged_later in value:
        # A member its reader judges itself (numbers, nesting); text no store can hold is refused here.
        checked = {k: v for k, v in value.items() if k != judged_later}
        check_json(value[judged_later], root=f"{root}/{judged_later}", reported=reported, numbers=False)
    check_value(checked, root=root, max_depth=max_depth, reported=reported)
    return value


def check_value(value: Any, *, root: str = "", max_depth: int = MAX_DEPTH, reported: bool = False) -> None:
    """Raise LimitError (with the JSON path) when ``value`` breaks a limit; quick when it does not."""
    if not _quick_ok(value, max_depth, _BAD_REPORTED if reported else _BAD_TEXT):
        check_json(value, root=root, max_depth=max_depth, reported=reported)
