"""What planning shares between the control plane and a host's agent: a brick's own plan of
one node, the values that cannot be known before the run, the requirements a brick declares,
and what earlier nodes of the same plan will have changed on a host (``Planned``).

A plan runs the brick's ``plan()`` where the state is: a brick without a host on the control
plane, a host brick on that host's agent, against its real runtime. Values travel as JSON, so
an ``Unknown`` crosses as ``{"$unknown": text}``.
"""
from __future__ import annotations

import copy
import re
from functools import lru_cache
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from nebhx.bricks.base import UNKNOWN_EFFECT, Brick, BrickFailed, Unknown, is_known

if TYPE_CHECKING:
    from nebhx.bricks.base import Context

MASK = "******"
UNKNOWN_KEY = "$unknown"
NOT_SET = object()


def encode(value: Any) -> Any:
    """JSON-ready, each Unknown kept as ``{"$unknown": text}``."""
    if isinstance(value, Unknown):
        return {UNKNOWN_KEY: str(value)}
    if isinstance(value, dict):
        return {k: encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    return value


def decode(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and isinstance(value.get(UNKNOWN_KEY), str):
            return Unknown(value[UNKNOWN_KEY])
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


# -- requirements a brick declares ------------------------------------------------------------
@dataclass(frozen=True)
class Requires:
    """Inputs ``needs`` must be set or wired whenever each input named in ``when`` holds one of
    its values (a tuple of values, or a compiled pattern a string must match); an input left
    unset counts with its default. The validator and the plan both check it, before any run."""

    needs: tuple[str, ...]
    when: dict[str, Any]
    why: str

    def holds(self, port: str, value: Any) -> bool:
        cond = self.when[port]
        if isinstance(cond, re.Pattern):
            return isinstance(value, str) and bool(cond.search(value))
        return value in cond


@lru_cache(maxsize=512)
def defaults(cls: type[Brick]) -> dict[str, Any]:
    """Read only (cached per class: pydantic inspects each factory's signature per call, and a
    plan asks for every node of every host)."""
    return {name: f.get_default(call_default_factory=True) for name, f in cls.Inputs.model_fields.items()
            if not f.is_required()}


def unmet(cls: type[Brick], given: dict[str, Any]) -> list[tuple[Requires, str, str]]:
    """``(requirement, missing input, why the condition holds)`` for each requirement of ``cls``
    that ``given`` leaves unmet. ``given`` maps an input to its value, to an ``Unknown`` (wired or
    known only at run time: assumed to be met and not to hold), or lacks it (not set)."""
    out: list[tuple[Requires, str, str]] = []
    reqs = getattr(cls, "requires", ())
    dflt = defaults(cls) if reqs else {}
    for req in reqs:
        said = []
        for port in req.when:
            value = given.get(port, dflt.get(port, NOT_SET))
            if value is NOT_SET or not is_known(value) or not req.holds(port, value):
                break
            said.append(f"{port} is {value!r}" + ("" if port in given else " (its default)"))
        else:
            for need in req.needs:
                value = given.get(need, dflt.get(need))
                if is_known(value) and value in (None, "", [], {}):
                    out.append((req, need, " and ".join(said)))
    return out


def requirement_message(req: Requires, need: str, because: str) -> str:
    return f"{because}, which needs {need}, and {need} is neither set nor wired: {req.why}"


# -- one node's plan ---------------------------------------------------------------------------
def fails(why: str) -> dict[str, Any]:
    return {"effect": f"would fail: {why}", "fails": True}


def cannot_tell(why: str) -> dict[str, Any]:
    return {"effect": f"cannot tell: {why}", "changes": None}


def check_inputs(cls: type[Brick], values: dict[str, Any]) -> tuple[Any, str | None]:
    """The brick's Inputs: checked where known; fields still Unknown are passed as they are.
    A requirement the known values leave unmet is a problem too."""
    missing = unmet(cls, values)
    if missing:
        return None, "; ".join(requirement_message(*m) for m in missing)
    try:
        checked = cls.Inputs.model_validate(values)
    except ValidationError as exc:
        bad = [e for e in exc.errors() if not e["loc"] or is_known(values.get(str(e["loc"][0])))]
        if bad:
            return None, "; ".join(f"input {'.'.join(map(str, e['loc'])) or '(inputs)'}: {e['msg']}" for e in bad)
        return cls.Inputs.model_construct(**values), None
    if is_known(values):
        return checked, None
    unknown = {k: v for k, v in values.items() if not is_known(v)}
    return cls.Inputs.model_construct(**{**dict(checked), **unknown}), None


def tell(cls: type[Brick] | None, brick_id: str, values: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """The brick's own plan of this node, or why there is none. Each says outright whether a
    run would change something (``changes``: true, false, or None for cannot tell) or fail
    (``fails``), so no reader has to guess it from the effect's words."""
    if cls is None:
        return fails(f"brick {brick_id!r} is not in this server's palette")
    inputs, problem = check_inputs(cls, values)
    if problem:
        return fails(problem)
    if not cls.plans():
        return {"effect": UNKNOWN_EFFECT, "changes": None}
    try:
        told = dict(cls().plan(ctx, inputs))
    except BrickFailed as exc:
        return fails(str(exc))
    except Exception as exc:  # a bug in a brick's plan must not take the whole plan down
        return {"effect": f"cannot plan: {type(exc).__name__}: {exc}", "fails": True}
    told.setdefault("changes", None)  # a brick's plan that does not say: cannot tell
    return told


# -- what earlier nodes of this plan will have changed on a host --------------------------------
@dataclass
class Planned:
    """Facts a host will hold once the nodes planned before this one have run, as their plans
    said (``sets``): what prepare staged and rendered, which release a switch made current, the
    volumes created. A plan reads these before the host's disk: the switch after a prepare plans
    the release the prepare stages, not what an earlier rollout left.

    Keys: ``releases`` {svc: {id: {}}}, ``current`` {svc: id}, ``configs`` {svc: {version:
    {file: sha256}}}, ``prepared`` {svc: {release_id, config_version}}, ``instances``
    {program: {release, config, switched}}, ``volumes`` {name: {path}}, ``committed`` {svc: [id]}.
    """

    facts: dict[str, Any] = field(default_factory=dict)
    deadline: float = float("inf")  # time.monotonic() by which the plan must have answered

    def get(self, kind: str, *keys: str) -> Any:
        at: Any = self.facts.get(kind)
        for key in keys:
            if not isinstance(at, dict):
                return None
            at = at.get(key)
        return at

    def merge(self, sets: dict[str, Any] | None) -> None:
        if isinstance(sets, dict):
            _merge(self.facts, sets)

    def copy(self) -> Planned:
        return Planned(copy.deepcopy(self.facts), self.deadline)


def _merge(into: dict, more: dict) -> None:
    for key, value in more.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = copy.deepcopy(value)
