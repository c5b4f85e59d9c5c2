"""The one place Jinja2 templates are built: a sandbox, strict undefined, one error type.

Templates come from users (graph params, stored config profiles) and are rendered in
the API and on workers, so they must not reach Python internals: the environment is
Jinja2's ``ImmutableSandboxedEnvironment`` (no ``_``-prefixed attributes, no mutating
methods, a sandboxed ``str.format``). On top of it a render has a budget: ``range``
shares one item budget across the whole render, and ``*``/``**`` refuse results that
would take a lot of memory, so a template cannot hang or exhaust a worker either.

Every failure (a missing value, a syntax error, an unsafe access, a budget overrun) is
one ``TemplateError`` naming the template, the line when known and the reason.
"""
from __future__ import annotations

import traceback
from typing import Any, Callable, Mapping

import jinja2
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from nebhx.bricks.base import BrickFailed

ANONYMOUS = "<template>"  # the file name Jinja2 gives a template made from a string
RANGE_BUDGET = 1_000_000  # items all the range() calls of one render may produce together
MAX_SEQUENCE = 1_000_000  # longest string or list a '*' may build
MAX_POWER_BITS = 100_000  # largest integer a '**' may build


class TemplateError(BrickFailed):
    """A template that cannot be parsed or rendered; the message names it and says why."""


class _Budget:
    """A ``range`` whose calls share one item budget, so nested loops stay bounded."""

    def __init__(self, limit: int):
        self.left = limit

    def __call__(self, *args: int) -> range:
        items = range(*args)
        self.left -= len(items)
        if self.left < 0:
            raise SecurityError(f"range() would produce more than {RANGE_BUDGET} items "
                                "in one render")
        return items


class _Sandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            _check_power(left, right)
            return left ** right
        _check_repeat(left, right)
        return left * right


def _check_power(base: Any, exp: Any) -> None:
    if isinstance(base, int) and isinstance(exp, int) and exp > 0:
        if max(abs(base), 2).bit_length() * exp > MAX_POWER_BITS:
            raise SecurityError(f"{base} ** {exp} is too large for a template")


def _check_repeat(left: Any, right: Any) -> None:
    for seq, times in ((left, right), (right, left)):
        if isinstance(seq, (str, bytes, list, tuple)) and isinstance(times, int):
            if len(seq) * times > MAX_SEQUENCE:
                raise SecurityError(f"repeating a sequence of {len(seq)} item(s) {times} times "
                                    f"would exceed {MAX_SEQUENCE} items")


class _NamedLoader(jinja2.DictLoader):
    """A DictLoader whose templates keep their name as file name: an error raised inside
    an included template then points at that template, not at the one that included it."""

    def get_source(self, environment: jinja2.Environment, template: str):
        source, _filename, uptodate = super().get_source(environment, template)
        return source, template, uptodate


def environment(templates: Mapping[str, str] | None = None) -> jinja2.Environment:
    """A fresh sandboxed environment; with ``templates``, they can include each other."""
    env = _Sandbox(undefined=jinja2.StrictUndefined, autoescape=False,
                   keep_trailing_newline=True,
                   loader=_NamedLoader(dict(templates)) if templates is not None else None)
    env.globals["range"] = _Budget(RANGE_BUDGET)
    return env


def parse(text: str, name: str | None = None) -> None:
    """Check that ``text`` is a template Jinja2 can compile; raise TemplateError if not."""
    _guard(lambda: environment().parse(text, name=name), name, {name or ANONYMOUS})


def render(text: str, values: Mapping[str, Any], *, name: str | None = None,
           undefined_hint: str = "") -> str:
    """Render template text over ``values`` in the sandbox."""
    return _guard(lambda: environment().from_string(text).render(**values), name,
                  {ANONYMOUS}, undefined_hint)


def render_named(name: str, templates: Mapping[str, str], values: Mapping[str, Any], *,
                 undefined_hint: str = "") -> str:
    """Render ``templates[name]``, which may include or extend the other ``templates``."""
    return _guard(lambda: environment(templates).get_template(name).render(**values), name,
                  set(templates), undefined_hint)


def _guard(work: Callable[[], Any], name: str | None, names: set[str],
           undefined_hint: str = "") -> Any:
    try:
        return work()
    except jinja2.TemplateSyntaxError as exc:
        where = _where(exc.name or name, exc.lineno)
        raise TemplateError(f"{where}: syntax error: {exc.message}") from exc
    except jinja2.UndefinedError as exc:
        where = _where(*_failing(exc, name, names), "at line")
        hint = f" ({undefined_hint})" if undefined_hint else ""
        raise TemplateError(f"{where}: {exc.message}{hint}") from exc
    except (SecurityError, OverflowError) as exc:
        # OverflowError: the sandbox's own guard for range() past its MAX_RANGE.
        failing, line = _failing(exc, name, names)
        raise TemplateError(f"{_where(failing, line)}: {str(exc).rstrip('.')}") from exc


def _failing(exc: BaseException, name: str | None, names: set[str]) -> tuple[str | None, int | None]:
    """The template and line an error was raised at: Jinja2 rewrites the traceback so
    that its template frames carry the template's file name and line number."""
    frames = [(f.f_code.co_filename, n) for f, n in traceback.walk_tb(exc.__traceback__)
              if f.f_code.co_filename in names]
    if not frames:
        return name, None
    fname, line = frames[-1]
    return (name if fname == ANONYMOUS else fname), line


def _where(name: str | None, line: int | None, word: str = "line") -> str:
    label = f"template {name!r}" if name else "template"
    return f"{label} {word} {line}" if line else label
