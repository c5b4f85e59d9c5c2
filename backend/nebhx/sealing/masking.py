"""The one masking function: every place that shows text a brick produced calls it (a
brick's ``ctx.mask`` and log, the engine's finish path through ``sealing.crypto.mask_values``).

A secret is masked in every form it is commonly printed in: as is, JSON-escaped (``"`` and
``\\`` escaped, non-ASCII as is or as ``\\uXXXX``), as Python's ``repr`` shows it inside quotes,
and URL-encoded (``quote`` and ``quote_plus``); longest first, so a secret that contains another
is masked whole. Text is often cut before it reaches here (an excerpt of 500 or 200 characters,
a log sent in chunks): a piece of 8 or more characters of a secret's start that ends the text
(or a line, a word, a quoted string), or of its end that begins one, is masked too.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any
from urllib.parse import quote, quote_plus

MASK = "******"
EDGE = 8  # the shortest piece of a secret masked where text was cut
# What may follow the start of a secret cut off (or precede the end of one): the text's end,
# white space, a closing quote, an ellipsis.
_AFTER_CUT = re.compile(r"\Z|[\s'\"`…]|\.\.\.")
_BEFORE_CUT = re.compile(r"(?:\A|[\s'\"`…]|\.\.\.)\Z")
# No store or terminal shows these as they are; a secret holding one is refused.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def normalise_secret(value: str) -> str:
    """A secret as it is stored, whichever door it came through (API, editor, CLI): without
    trailing line ends (`echo` and files add one); ValueError for any other control character
    but tab and inner newlines (a PEM key keeps its lines)."""
    value = value.rstrip("\r\n")
    found = _CONTROL.search(value)
    if found:
        raise ValueError(f"a secret cannot hold the control character U+{ord(found.group()):04X}")
    if not value:
        raise ValueError("a secret cannot be empty")
    return value


def forms(secret: str) -> set[str]:
    """The ways ``secret`` is commonly printed."""
    found = {secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1],
             repr(secret)[1:-1], quote(secret, safe=""), quote(secret), quote_plus(secret)}
    return {f for f in found if f}


@lru_cache(maxsize=256)
def _compiled(secrets: tuple[str, ...]) -> tuple[re.Pattern[str], tuple[str, ...]]:
    every = sorted({f for s in secrets for f in forms(s)}, key=len, reverse=True)
    return re.compile("|".join(map(re.escape, every))), tuple(f for f in every if len(f) > EDGE)


def mask_text(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret (in every form, cut or whole) replaced by ``******``."""
    wanted = tuple(sorted({s for s in secrets if s}))
    if not wanted or not text:
        return text
    whole, long = _compiled(wanted)
    text = whole.sub(MASK, text)
    for form in long:
        if form[:EDGE] in text or form[-EDGE:] in text:
            text = _mask_cut(text, form)
    return text


def _mask_cut(text: str, form: str) -> str:
    spans = []
    at = text.find(form[:EDGE])
    while at >= 0:  # a start of the secret that runs up to a cut
        end = at + EDGE
        while end < len(text) and end - at < len(form) and text[end] == form[end - at]:
            end += 1
        if _AFTER_CUT.match(text, end):
            spans.append((at, end))
        at = text.find(form[:EDGE], at + 1)
    at = text.find(form[-EDGE:])
    while at >= 0:  # an end of the secret that a cut begins
        start, end = at, at + EDGE
        while start > 0 and end - start < len(form) and text[start - 1] == form[len(form) - (end - start) - 1]:
            start -= 1
        if _BEFORE_CUT.search(text, 0, start):
            spans.append((start, end))
        at = text.find(form[-EDGE:], at + 1)
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    for start, end in reversed(merged):
        text = text[:start] + MASK + text[end:]
    return text


def mask_values(obj: Any, secrets: Iterable[str]) -> Any:
    """Every string inside ``obj`` (keys too) masked: whatever a brick echoed (a webhook
    reply carrying its token) is masked before it is kept."""
    wanted = [s for s in secrets if s]
    if not wanted:
        return obj

    def walk(o: Any) -> Any:
        if isinstance(o, str):
            return mask_text(o, wanted)
        if isinstance(o, dict):
            return {walk(k) if isinstance(k, str) else k: walk(v) for k, v in o.items()}
        if isinstance(o, list):
            return [walk(v) for v in o]
        return o
    return walk(obj)


def excerpt(text: str, size: int, mask: Callable[[str], str] | None) -> str:
    """The last ``size`` characters of ``text`` (its first with a negative ``size``), masked
    with ``mask`` (a brick's ``ctx.mask``) before the cut: a secret the cut would split leaves
    no piece, however short (masking after a cut catches only pieces of EDGE or more)."""
    text = (mask(text) if mask else text).strip()
    return text[size:] if size < 0 else text[-size:] if size else ""
