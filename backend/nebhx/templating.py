"""The one place Jinja2 templates are built: a sandbox, strict undefined, a budget, one error type.

Templates come from users (graph params, stored config profiles) and are rendered in the API
(plan, config explain), on control workers and on agents, so they must not reach Python
internals: the environment is Jinja2's ``ImmutableSandboxedEnvironment`` (no ``_``-prefixed
attributes, no mutating methods, a sandboxed ``str.format``). On top of it every render has
a budget (nebhx.template_budget): sizes, growth from any operator, filter or method, integer
size, steps and wall time, so a template cannot hang or exhaust the process that renders it.
The generated code is changed in four places to make that possible: loops count their
iterations, ``~`` and list/tuple/dict literals measure what they build, output goes through
a ``finalize`` that measures it.

Every failure (a missing value, a syntax error, an unsafe access, a budget overrun, any
error a filter raises) is one ``TemplateError`` naming the template, the line when known and
the reason.
"""
from __future__ import annotations

import threading
import traceback
from types import MappingProxyType
from collections.abc import Mapping
from typing import Any, Callable

import jinja2
from jinja2 import nodes, pass_context
from jinja2.defaults import DEFAULT_FILTERS
from jinja2.compiler import CodeGenerator, Frame, optimizeconst
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedEscapeFormatter, SandboxedFormatter
from jinja2.utils import _PassArg, generate_lorem_ipsum
from markupsafe import Markup

from nebhx.bricks.errors import BrickFailed
from nebhx.template_budget import FILTER_CHECKS, MATERIALIZE, MAX_SIZE, Budget

ANONYMOUS = "<template>"  # the file name Jinja2 gives a template made from a string
RANGE_BUDGET = 1_000_000  # items all the range() calls of one render may produce together


class TemplateError(BrickFailed):
    """A template that cannot be parsed or rendered; the message names it and says why."""


class _Range:
    """A ``range`` whose calls share one item budget, so nested loops stay bounded."""

    def __init__(self, limit: int, budget: Budget):
        self.left, self.budget = limit, budget

    def __call__(self, *args: int) -> range:
        self.budget.step()
        items = range(*args)
        self.left -= len(items)
        if self.left < 0:
            raise SecurityError(f"range() would produce more than {RANGE_BUDGET} items "
                                "in one render")
        return items


class _Generator(CodeGenerator):
    def visit_For(self, node: nodes.For, frame: Frame) -> None:  # noqa: N802 - Jinja's visitor names
        # The loop's iterable is written inside environment.nbx_loop(..., text): each iteration
        # is a step and writes `text` characters of the body's own template data.
        loops = self.__dict__.setdefault("_loops", {})
        loops[id(node.iter)] = sum(len(d.data) for child in node.body for d in child.find_all(nodes.TemplateData))
        super().visit_For(node, frame)

    def visit(self, node: nodes.Node, *args: Any, **kwargs: Any) -> Any:
        text = self.__dict__.get("_loops", {}).get(id(node))
        if text is None:
            return super().visit(node, *args, **kwargs)
        self.write("environment.nbx_loop(")
        super().visit(node, *args, **kwargs)
        self.write(f", {int(text)})")

    @optimizeconst
    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:  # noqa: N802
        self.write("environment.nbx_concat((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")

    def _built(self, visit: Callable[[Any, Frame], None], node: nodes.Expr, frame: Frame) -> None:
        self.write("environment.nbx_built(")
        visit(node, frame)
        self.write(")")

    def visit_List(self, node: nodes.List, frame: Frame) -> None:  # noqa: N802
        self._built(super().visit_List, node, frame)

    def visit_Dict(self, node: nodes.Dict, frame: Frame) -> None:  # noqa: N802
        self._built(super().visit_Dict, node, frame)

    def visit_Tuple(self, node: nodes.Tuple, frame: Frame) -> None:  # noqa: N802
        if node.ctx == "load":
            self._built(super().visit_Tuple, node, frame)
        else:
            super().visit_Tuple(node, frame)


class _Measured:
    """A ``str.format`` formatter whose fields are measured before and after formatting."""
    _env: _Sandbox

    def format_field(self, value: Any, format_spec: str) -> Any:
        budget = self._env.budget
        budget.format_spec(format_spec)
        budget.fits(budget.size(value), "a formatted field")
        out = super().format_field(value, format_spec)  # type: ignore[misc]
        budget.charge(len(out))
        return out


class _Formatter(_Measured, SandboxedFormatter):
    pass


class _EscapeFormatter(_Measured, SandboxedEscapeFormatter):
    pass


@pass_context
def _finalize(context: Any, value: Any) -> Any:
    """Every value written out: measured and charged (a pass_context finalize also keeps
    Jinja2 from writing constants out at compile time, past the budget)."""
    budget = context.environment.budget
    size = len(value) if type(value) is str else budget.size(value)
    if size > MAX_SIZE:
        budget.fits(size, "a value written out")
    budget.charge(size)
    return value


class _Sandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"+", "-", "*", "/", "//", "%", "**"})
    code_generator_class = _Generator

    def __init__(self, **kwargs: Any):
        super().__init__(finalize=_finalize, **kwargs)
        self.budget = Budget()
        self.filters = _FILTERS  # type: ignore[assignment]
        self.globals["range"] = _Range(RANGE_BUDGET, self.budget)
        self.globals["lipsum"] = _lipsum

    def compile(self, source: Any, name: str | None = None, filename: str | None = None,
                raw: bool = False, defer_init: bool = False) -> Any:
        """Compiled code is the same for every render of the same text (it holds no budget or
        value): short templates are compiled once per process."""
        if raw or not isinstance(source, str) or len(source) > _CACHED_SOURCE:
            return super().compile(source, name, filename, raw, defer_init)
        key = (source, name, filename, defer_init)
        code = _CODE.get(key)
        if code is None:
            code = super().compile(source, name, filename, raw, defer_init)
            with _CODE_LOCK:
                _CODE[key] = code
                if len(_CODE) > 512:
                    del _CODE[next(iter(_CODE))]
        return code

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        self.budget.step()
        self.budget.before_binop(operator, left, right)
        return self.budget.built(self.binop_table[operator](left, right), left, right)

    def call(self, context: Any, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        self.budget.step()
        args = self.budget.before_method(obj, args, kwargs)
        result = super().call(context, obj, *args, **kwargs)
        return self.budget.built(result, obj, *args, *kwargs.values())

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """Jinja2's own, with formatters that measure each field."""
        if super().wrap_str_format(value) is None:
            return None
        owner, is_map = value.__self__, value.__name__ == "format_map"
        formatter = _EscapeFormatter(self, escape=owner.escape) if isinstance(owner, Markup) else _Formatter(self)

        def wrapper(*args: Any, **kwargs: Any) -> str:
            if is_map:
                if kwargs or len(args) != 1:
                    raise TypeError("format_map() takes exactly one argument")
                args, kwargs = (), args[0]
            return type(owner)(formatter.vformat(owner, args, kwargs))
        return wrapper

    def nbx_loop(self, iterable: Any, text: int) -> Any:
        budget = self.budget
        for item in iterable:
            budget.step()
            if text:
                budget.charge(text)
            yield item

    def nbx_concat(self, parts: tuple) -> str:
        budget = self.budget
        budget.step()
        budget.fits(sum(budget.size(p) for p in parts), "the ~ concatenation")
        return budget.built("".join(map(str, parts)), *parts)

    def nbx_built(self, value: Any) -> Any:
        self.budget.step()
        return self.budget.built(value)


_CACHED_SOURCE = 65_536  # longer templates are compiled each time (and not kept)
_CODE: dict[tuple, Any] = {}  # (source, name, filename, defer_init) -> code, the oldest dropped first
_CODE_LOCK = threading.Lock()


def _budgeted_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    check, pass_arg = FILTER_CHECKS.get(name), _PassArg.from_obj(func)

    @pass_context
    def budgeted(context: Any, value: Any, *args: Any, **kwargs: Any) -> Any:
        budget = context.environment.budget
        budget.step()
        if name in MATERIALIZE and not isinstance(value, (str, list, tuple, Mapping)):
            value = list(value)
        if check is not None:
            check(budget, value, *args, **kwargs)
        if pass_arg is _PassArg.context:
            out = func(context, value, *args, **kwargs)
        elif pass_arg is _PassArg.eval_context:
            out = func(context.eval_ctx, value, *args, **kwargs)
        elif pass_arg is _PassArg.environment:
            out = func(context.environment, value, *args, **kwargs)
        else:
            out = func(value, *args, **kwargs)
        return budget.built(out, value, *args, *kwargs.values())
    budgeted.__name__ = name
    return budgeted


# Shared by every render, read-only: no render can change another's filters.
_FILTERS = MappingProxyType({name: _budgeted_filter(name, f) for name, f in DEFAULT_FILTERS.items()})


def _lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:  # noqa: A002 - Jinja's names
    if not all(isinstance(v, int) for v in (n, min, max)) or n * max * 12 > MAX_SIZE:
        raise SecurityError(f"lipsum({n}, max={max}) would be larger than {MAX_SIZE:,} characters")
    return generate_lorem_ipsum(n=n, html=html, min=min, max=max)


class _NamedLoader(jinja2.DictLoader):
    """A DictLoader whose templates keep their name as file name: an error raised inside
    an included template then points at that template, not at the one that included it."""

    def get_source(self, environment: jinja2.Environment, template: str):
        source, _filename, uptodate = super().get_source(environment, template)
        return source, template, uptodate


def environment(templates: Mapping[str, str] | None = None) -> jinja2.Environment:
    """A fresh sandboxed environment with a fresh budget; with ``templates``, they can
    include each other."""
    return _Sandbox(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True,
                    loader=_NamedLoader(dict(templates)) if templates is not None else None)


def parse(text: str, name: str | None = None) -> None:
    """Check that ``text`` is a template Jinja2 can compile; raise TemplateError if not."""
    _guard(lambda: environment().parse(text, name=name), name, {name or ANONYMOUS})


def render(text: str, values: Mapping[str, Any], *, name: str | None = None,
           undefined_hint: str = "") -> str:
    """Render template text over ``values`` in the sandbox, within the budget."""
    return _guard(lambda: _output(environment().from_string(text), values), name,
                  {ANONYMOUS}, undefined_hint)


def render_named(name: str, templates: Mapping[str, str], values: Mapping[str, Any], *,
                 undefined_hint: str = "") -> str:
    """Render ``templates[name]``, which may include or extend the other ``templates``."""
    return _guard(lambda: _output(environment(templates).get_template(name), values), name,
                  set(templates), undefined_hint)


def _output(template: jinja2.Template, values: Mapping[str, Any]) -> str:
    """The rendered text, refused as soon as it grows past MAX_SIZE characters."""
    parts, size = [], 0
    for part in template.generate(**values):
        size += len(part)
        if size > MAX_SIZE:
            raise SecurityError(f"the output is longer than {MAX_SIZE:,} characters")
        parts.append(part)
    return "".join(parts)


def _guard(work: Callable[[], Any], name: str | None, names: set[str],
           undefined_hint: str = "") -> Any:
    try:
        return work()
    except TemplateError:
        raise
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
    except (Exception, RecursionError) as exc:  # a filter's TypeError, 1/0, a missing include...
        failing, line = _failing(exc, name, names)
        raise TemplateError(f"{_where(failing, line)}: {type(exc).__name__}: {exc}") from exc


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
