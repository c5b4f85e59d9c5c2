"""The budget of one template render: sizes, growth, integers, steps and wall time.

Jinja2's sandbox keeps a template away from Python internals; it does not keep one from
building a 2 GB string (``'x'|center(2000000000)``), doubling a string with ``~`` in a loop,
squaring an integer until it fills memory, or looping over a long string for minutes. Here
every way a value can grow is checked, in the process that renders (API, worker or agent):

* operators (``+ - * / // % **``), ``~`` and list, tuple and dict literals;
* every call (a macro, a global, a ``str`` method) and every filter: an argument that decides
  how large the result is (a width, a replacement, a format's field widths) is checked
  before the call, the result after it;
* every loop iteration, call, filter and operator is a step; each step looks at the clock;
* every value written to the output, and the output itself.

A size counts the characters of a string and the items of a list or dict, nested items
included: a list holding one long string twice counts it twice, as printing or comparing it
would. Containers are measured once (by identity) per render.
"""
from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import Any

from jinja2.exceptions import SecurityError

MAX_SIZE = 1_000_000  # characters of any string (the output too), items of any list or dict
MAX_BUILT = 20_000_000  # characters and items all the values one render builds may take together
MAX_STEPS = 1_000_000  # loop iterations, calls, filters and operators of one render
MAX_INT_BITS = 100_000  # bits of any integer a template builds
MAX_SECONDS = 5.0  # wall time of one render, compiling included

_LEAVES = (int, float, bool, type(None))
_CONTAINERS = (list, tuple, dict, set, frozenset)
_WIDTH_METHODS = frozenset({"center", "ljust", "rjust", "zfill"})
# A %-conversion: optional (key), flags, width, .precision, length modifier, type.
_PERCENT = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?[a-zA-Z%]")
_DIGITS = re.compile(r"\d+")


def _int(text: str) -> int:
    """A width as written; anything of more than 9 digits is taken as too wide."""
    return int(text) if len(text) <= 9 else MAX_SIZE + 1


class Budget:
    """What one render has used so far; every check raises SecurityError naming the limit."""

    def __init__(self) -> None:
        self.steps = 0
        self.built_total = 0
        self.deadline = time.monotonic() + MAX_SECONDS
        self._sizes: dict[int, tuple[Any, int]] = {}  # id -> (the container, kept alive; its size)

    def step(self) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise SecurityError(f"the template took more than {MAX_STEPS:,} steps "
                                "(loop iterations, calls, filters and operators)")
        if time.monotonic() > self.deadline:
            raise SecurityError(f"the template ran for more than {MAX_SECONDS:g} s")

    def charge(self, size: int) -> None:
        self.built_total += size
        if self.built_total > MAX_BUILT:
            raise SecurityError(f"the template built more than {MAX_BUILT:,} characters and items in all")

    # --- sizes ------------------------------------------------------------------------------

    def size(self, value: Any) -> int:
        """Characters of a string, items of a container (nested, as printed); 1 for the rest.
        Stops counting past MAX_SIZE."""
        if isinstance(value, (str, bytes, bytearray)):
            return len(value)
        if not isinstance(value, _CONTAINERS):
            return 1
        hit = self._sizes.get(id(value))
        if hit is not None and hit[0] is value:
            return hit[1]
        parts = [*value.keys(), *value.values()] if isinstance(value, Mapping) else value
        total = 1 + len(parts)
        if total <= MAX_SIZE:
            for part in parts:
                if not isinstance(part, _LEAVES):
                    try:
                        total += self.size(part) - 1
                    except RecursionError:  # nested too deep to be printed either
                        total = MAX_SIZE + 1
                    if total > MAX_SIZE:
                        break
        self._sizes[id(value)] = (value, total)
        return total

    def fits(self, size: int, what: str) -> None:
        if size > MAX_SIZE:
            raise SecurityError(f"{what} would be larger than {MAX_SIZE:,} characters or items")

    def built(self, value: Any, *inputs: Any) -> Any:
        """``value`` as a template built it: within MAX_SIZE (and MAX_INT_BITS), charged to the
        render's total unless it is one of ``inputs`` handed back unchanged."""
        if any(value is i for i in inputs):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            if value.bit_length() > MAX_INT_BITS:
                raise SecurityError(f"an integer of {value.bit_length():,} bits is larger than "
                                    f"{MAX_INT_BITS:,} bits")
            self.charge(1)
            return value
        size = self.size(value)
        self.fits(size, "a value")
        self.charge(size)
        return value

    # --- checks before an operation ---------------------------------------------------------

    def before_binop(self, operator: str, left: Any, right: Any) -> None:
        if operator == "**":
            if isinstance(left, int) and isinstance(right, int) and right > 0:
                if max(abs(left), 2).bit_length() * right > MAX_INT_BITS:
                    raise SecurityError(f"{left} ** {right} is too large for a template")
        elif operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, (str, bytes, list, tuple)) and isinstance(times, int):
                    self.fits(self.size(seq) * times, f"repeating a sequence of {len(seq)} item(s) {times} times")
            if isinstance(left, int) and isinstance(right, int):
                if left.bit_length() + right.bit_length() > MAX_INT_BITS + 1:
                    raise SecurityError(f"the product would be larger than {MAX_INT_BITS:,} bits")
        elif operator == "+" and isinstance(left, (str, bytes, list, tuple)):
            self.fits(self.size(left) + self.size(right), "the sum")
        elif operator == "%" and isinstance(left, str):
            self.fits(self.percent_size(left, right), "the formatted string")

    def percent_size(self, fmt: str, args: Any) -> int:
        """An upper bound of ``fmt % args``: every conversion as wide as its width or precision,
        or as the arguments (a mapping may be named by every conversion)."""
        specs = _PERCENT.findall(fmt)
        widths = sum(_int(n) for spec in specs for n in spec if n.isdigit())
        if any("*" in spec for spec in specs):
            given = args if isinstance(args, tuple) else (args,)
            widths += sum(abs(a) for a in given if isinstance(a, int))
        return len(fmt) + widths + len(specs) * self.size(args)

    def format_spec(self, spec: str) -> None:
        """A ``str.format`` field's width and precision."""
        if any(_int(n) > MAX_SIZE for n in _DIGITS.findall(spec)):
            raise SecurityError(f"the format spec {spec[:40]!r} is wider than {MAX_SIZE:,} characters")

    def before_method(self, method: Any, args: tuple, kwargs: dict) -> tuple:
        """Checks a str/bytes/int method whose arguments decide the result's size; the
        arguments to call it with (an iterator given to ``join`` is read into a list first)."""
        owner, name = getattr(method, "__self__", None), getattr(method, "__name__", "")
        if isinstance(owner, (str, bytes)):
            arg = args[0] if args else None
            if name in _WIDTH_METHODS:
                width = arg if args else kwargs.get("width", 0)
                self.fits(width if isinstance(width, int) else 0, f"{name}({width})")
            elif name == "expandtabs":
                tab = arg if args else kwargs.get("tabsize", 8)
                tabs = owner.count("\t" if isinstance(owner, str) else b"\t")
                self.fits(len(owner) + tabs * (tab if isinstance(tab, int) else 0), "expandtabs()")
            elif name == "replace" and len(args) >= 2:
                self.fits(replaced_size(owner, args[0], args[1], args[2] if len(args) > 2 else -1), "replace()")
            elif name == "join" and args:
                items = arg if isinstance(arg, (list, tuple)) else list(arg)
                self.fits(sum(self.size(i) for i in items) + len(owner) * max(len(items) - 1, 0), "join()")
                args = (items, *args[1:])
            elif name == "translate" and isinstance(arg, Mapping):
                longest = max((self.size(v) for v in arg.values()), default=1)
                self.fits(len(owner) * max(longest, 1), "translate()")
        elif isinstance(owner, int) and name == "to_bytes":
            length = args[0] if args else kwargs.get("length", 1)
            self.fits(length if isinstance(length, int) else 0, f"to_bytes({length})")
        return args


def replaced_size(text: Any, old: Any, new: Any, count: Any = -1) -> int:
    """An upper bound of ``text.replace(old, new, count)``."""
    if not isinstance(text, (str, bytes)) or not isinstance(new, (str, bytes)):
        return 0
    found = len(text) + 1 if not old else text.count(old) if type(old) is type(text) else 0
    if isinstance(count, int) and count >= 0:
        found = min(found, count)
    return len(text) + found * len(new)


# --- filters whose arguments decide how large their result is ------------------------------

def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _center(b: Budget, value: Any, width: Any = 80, *_: Any, **__: Any) -> None:
    b.fits(width if isinstance(width, int) else 0, f"center({width})")


def _indent(b: Budget, value: Any, width: Any = 4, *_: Any, **__: Any) -> None:
    each = width if isinstance(width, int) else len(width) if isinstance(width, str) else 0
    text = _text(value)
    b.fits(len(text) + (text.count("\n") + 1) * each, "indent()")


def _wordwrap(b: Budget, value: Any, width: Any = 79, break_long_words: Any = True,
              wrapstring: Any = None, *_: Any, **kwargs: Any) -> None:
    wrap = kwargs.get("wrapstring", wrapstring)
    width = kwargs.get("width", width)
    text = _text(value)
    lines = len(text) // max(width if isinstance(width, int) else 1, 1) + len(text.split()) + 1
    b.fits(len(text) + lines * len(wrap if isinstance(wrap, str) else "\n"), "wordwrap()")


def _replace(b: Budget, value: Any, old: Any = "", new: Any = "", count: Any = None, *_: Any, **__: Any) -> None:
    b.fits(replaced_size(_text(value), old, new, -1 if count is None else count), "replace()")


def _format(b: Budget, value: Any, *args: Any, **kwargs: Any) -> None:
    b.fits(b.percent_size(_text(value), kwargs or args), "format()")


def _urlize(b: Budget, value: Any, *args: Any, **kwargs: Any) -> None:
    text = _text(value)
    extra = sum(len(a) for a in [*args, *kwargs.values()] if isinstance(a, str))
    b.fits(3 * len(text) + len(text.split()) * (extra + 60), "urlize()")


def _batch(b: Budget, value: Any, count: Any = 1, fill_with: Any = None, *_: Any, **__: Any) -> None:
    b.fits(count if isinstance(count, int) else 0, f"batch({count})")


def _slice(b: Budget, value: Any, slices: Any = 1, *_: Any, **__: Any) -> None:
    b.fits(slices if isinstance(slices, int) else 0, f"slice({slices})")


def _sum(b: Budget, value: Any, attribute: Any = None, start: Any = 0, **kwargs: Any) -> None:
    # Adding lists or strings copies the total so far at every item: quadratic.
    if not isinstance(kwargs.get("start", start), (int, float)):
        raise SecurityError("sum adds numbers in a template; join strings with |join")


def _join(b: Budget, value: Any, d: Any = "", *_: Any, **kwargs: Any) -> None:
    items = value if isinstance(value, (list, tuple)) else []
    sep = kwargs.get("d", d)
    b.fits(sum(b.size(i) for i in items) + len(sep if isinstance(sep, str) else "") * len(items), "join()")


FILTER_CHECKS = {"center": _center, "indent": _indent, "wordwrap": _wordwrap, "replace": _replace,
                 "format": _format, "urlize": _urlize, "batch": _batch, "slice": _slice, "sum": _sum,
                 "join": _join}
# Filters that read an iterator to its end: given one, they get a list, measured first.
MATERIALIZE = frozenset({"join"})
