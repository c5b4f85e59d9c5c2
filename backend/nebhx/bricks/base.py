"""The brick: declarative metadata, typed ports and one small ``run``."""
from __future__ import annotations

import inspect
import logging
import threading
import time
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict

# The errors live in a leaf module (the runtime raises them too); re-exported here for bricks.
from nebhx.bricks.errors import BrickFailed as BrickFailed
from nebhx.bricks.errors import Cancelled
from nebhx.bricks.errors import WaitFor as WaitFor
from nebhx.bricks.resources import installed
from nebhx.bricks.types import port_type

if TYPE_CHECKING:
    from nebhx.bricks.inventory import Inventory
    from nebhx.bricks.planning import Planned, Requires
    from nebhx.bricks.resources import Artifacts, Pools, Profiles, Resources
    from nebhx.runtime import HostRuntime

log = logging.getLogger("nebhx.brick")


UNKNOWN_EFFECT = "unknown effect"


class Unknown(str):
    """A value a plan cannot know before the run, shown as ``(from node.port)``."""


def is_known(value: Any) -> bool:
    """False when ``value`` is, or holds, an ``Unknown`` (a plan sees such inputs unchecked)."""
    if isinstance(value, Unknown):
        return False
    if isinstance(value, dict):
        return all(is_known(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return all(is_known(v) for v in value)
    if isinstance(value, BaseModel):
        return all(is_known(getattr(value, k)) for k in type(value).model_fields)
    return True


class Ports(BaseModel):
    """Base of every brick's ``Inputs`` and ``Outputs``."""

    model_config = ConfigDict(extra="forbid")


class Context:
    """What one execution of a brick may use: its log, cancellation, and the world through the
    process's resources (``nebhx.bricks.resources``): the host runtime, the host inventory
    (control bricks), the artifact store, the config profiles and the address pools. ``runtime``/``inventory``
    given here take the place of the process's (tests, a plan)."""

    def __init__(self, *, run_id: str = "local", node_id: str = "node", attempt: int = 1,
                 host: str | None = None, runtime: HostRuntime | None = None,
                 secrets: list[str] | None = None, inventory: Inventory | None = None,
                 planned: Planned | None = None, resources: Resources | None = None):
        self.run_id, self.node_id, self.attempt, self.host = run_id, node_id, attempt, host
        # Set only in a plan: what the nodes planned before this one will have changed on the host.
        self.planned = planned
        self._runtime = runtime
        self._inventory = inventory
        self._resources = resources
        self.cancelled = threading.Event()
        self.lines: list[str] = []
        self._secrets = [s for s in (secrets or []) if s]

    @property
    def resources(self) -> Resources:
        return self._resources or installed()

    @property
    def runtime(self) -> HostRuntime:
        if self._runtime is None:
            self._runtime = self.resources.runtime(self.host or "local")
        return self._runtime

    @property
    def inventory(self) -> Inventory:
        """Hosts with their labels, state and services, as the control plane knows them."""
        if self._inventory is None:
            self._inventory = self.resources.inventory()
        return self._inventory

    @property
    def artifacts(self) -> Artifacts:
        """The control plane's artifact store (build bricks record, releases fetch)."""
        return self.resources.artifacts

    @property
    def profiles(self) -> Profiles:
        return self.resources.profiles

    @property
    def pools(self) -> Pools:
        """The control plane's address pools (net.pool, net.allocate, net.release)."""
        return self.resources.pools

    @property
    def secrets(self) -> list[str]:
        return list(self._secrets)

    def mask(self, text: str) -> str:
        from nebhx.sealing.masking import mask_text
        return mask_text(text, self._secrets)

    def log(self, message: str, *args: Any) -> None:
        line = self.mask(message % args if args else message)
        self.lines.append(f"{time.strftime('%H:%M:%S')} {line}")
        log.info("[%s/%s] %s", self.run_id, self.node_id, line)

    def check_cancelled(self) -> None:
        if self.cancelled.is_set():
            raise Cancelled("cancelled")

    def sleep(self, seconds: float) -> None:
        """Sleep, waking at once when the run is cancelled."""
        if self.cancelled.wait(seconds):
            raise Cancelled("cancelled")


class Brick:
    """Subclass, set ``id``, declare ``Inputs``/``Outputs`` and write ``run``.

    A subclass that leaves ``Inputs`` alone inherits its parent's ports; one that
    extends them writes ``class Inputs(Parent.Inputs): ...``. Set ``abstract = True``
    on a base that must not appear in the palette.
    """

    id: ClassVar[str] = ""
    title: ClassVar[str] = ""
    category: ClassVar[str] = "misc"
    icon: ClassVar[str] = ""
    abstract: ClassVar[bool] = True
    # Where the brick runs: on the host named by this HostRef input, or on the control queue.
    host_input: ClassVar[str | None] = None
    # What happens when the node runs again (a retry, or its worker was lost mid-run):
    # None: not declared; "" : nothing more happens (it reads, or it converges and reports
    # `changed`); else a sentence saying what repeats, shown in the palette.
    on_repeat: ClassVar[str | None] = None
    # Inputs that become necessary when others hold some values (nebhx.bricks.planning.Requires):
    # checked by the validator and the plan, so what cannot work is refused before a run.
    requires: ClassVar[tuple[Requires, ...]] = ()
    # A brick that switches or restarts a running service: the inputs naming its host, service
    # and instance (None: the default instance). The worker takes that service lock for the
    # node's run before ``run`` (nebhx.engine.locks); an ``on_lock`` input says wait or refuse.
    service_lock: ClassVar[tuple[str, str, str | None] | None] = None

    class Inputs(Ports):
        pass

    class Outputs(Ports):
        pass

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "abstract" not in cls.__dict__:
            cls.abstract = False
        if cls.abstract:
            return
        if not cls.id or "id" not in cls.__dict__:
            raise TypeError(f"brick {cls.__qualname__} must set a unique class attribute 'id'")
        if "title" not in cls.__dict__ or not cls.title:
            cls.title = cls.__name__
        if cls.host_input is None:
            cls.host_input = _find_host_input(cls.Inputs)

    @classmethod
    def docs(cls) -> str:
        return inspect.cleandoc(cls.__doc__) if cls.__doc__ else ""

    @classmethod
    def parent(cls) -> str | None:
        for base in cls.__mro__[1:]:
            if issubclass(base, Brick) and not base.abstract and base.id:
                return base.id
        return None

    def run(self, ctx: Context, inputs: Any) -> Any:
        raise NotImplementedError

    def plan(self, ctx: Context, inputs: Any) -> dict[str, Any]:
        """What ``run`` would do, changing nothing (``nebhx plan``): ``{"effect": text,
        "changes": bool | None}``, plus ``"outputs"`` it can already tell (downstream plans use
        them) and any detail. ``changes`` is what the editor's badge shows (true: will change,
        false: no change, None: cannot tell before the run); raise ``BrickFailed`` for a run
        that would fail.

        Inputs that come from upstream outputs the plan cannot know arrive as ``Unknown``
        strings, unchecked (``is_known`` tells). The default says nothing can be told.
        """
        return {"effect": UNKNOWN_EFFECT}

    @classmethod
    def plans(cls) -> bool:
        """Whether this brick tells its effect ahead (overrides ``plan``)."""
        return cls.plan is not Brick.plan

    def __call__(self, ctx: Context | None = None, /, **inputs: Any) -> Any:
        """Validate ``inputs`` and run: ``Template()(template="x", values={})``."""
        return self.run(ctx or Context(), self.Inputs(**inputs))


def on_lock_field() -> Any:
    """The ``on_lock`` input of a brick with a ``service_lock``: what to do while another run
    holds the service."""
    from pydantic import Field
    return Field(default="wait", pattern="^(wait|refuse)$",
                 description="While another run switches or restarts this service here: 'wait' "
                             "for it to end, or 'refuse' (fail at once, naming that run)")


def _find_host_input(model: type[BaseModel]) -> str | None:
    schema = model.model_json_schema()
    for name, prop in schema.get("properties", {}).items():
        if port_type(prop, schema.get("$defs")) == "HostRef":
            return name
    return None
