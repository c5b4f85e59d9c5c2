"""The palette: every brick in the block folders and in ``nebhx.bricks`` entry points.

A module that fails to import, or a brick whose id is taken, becomes a ``LoadError``
naming the file; the rest of the palette loads regardless.
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import inspect
import sys
import threading
import time
import traceback
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from nebhx.bricks.base import Brick
from nebhx.bricks.types import PARENTS, port_type

ENTRY_POINT_GROUP = "nebhx.bricks"


@dataclass
class LoadError:
    source: str
    message: str


@dataclass
class Registry:
    bricks: dict[str, type[Brick]] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    errors: list[LoadError] = field(default_factory=list)
    packages: list[dict[str, Any]] = field(default_factory=list)  # the brick packages loaded

    def get(self, brick_id: str) -> type[Brick] | None:
        return self.bricks.get(brick_id)

    def add(self, cls: type[Brick], source: str) -> None:
        if cls.id in self.bricks:
            if self.bricks[cls.id] is not cls:
                self.errors.append(LoadError(source, (
                    f"duplicate brick id {cls.id!r}: {cls.__qualname__} in {source} "
                    f"and {self.bricks[cls.id].__qualname__} in {self.sources[cls.id]}")))
            return
        self.bricks[cls.id] = cls
        self.sources[cls.id] = source

    @cached_property
    def specs(self) -> dict[str, dict[str, Any]]:
        return {bid: brick_spec(cls, self.sources[bid]) for bid, cls in sorted(self.bricks.items())}

    def palette(self, composites: Callable[[Registry], tuple[list, list]] | None = None) -> dict[str, Any]:
        """The loaded bricks, and what ``composites`` adds (the stored graphs usable as composite
        bricks, ``nebhx.engine.library.palette_entries``: given by the caller, since the
        palette of bricks knows no store)."""
        composites, errors = composites(self) if composites else ([], [])
        return {
            "bricks": [*self.specs.values(), *composites],
            "errors": [*(e.__dict__ for e in self.errors), *errors],
            "type_parents": PARENTS,
        }


def ports_of(model: type, direction: str) -> list[dict[str, Any]]:
    schema = model.model_json_schema()
    defs = schema.get("$defs", {})
    required = set(schema.get("required", []))
    ports = []
    for name, prop in schema.get("properties", {}).items():
        ports.append({
            "name": name,
            "direction": direction,
            "type": port_type(prop, defs),
            "required": name in required,
            "title": prop.get("title", name),
            "description": prop.get("description", ""),
            **({"default": prop["default"]} if "default" in prop else {}),
        })
    return ports


def brick_spec(cls: type[Brick], source: str = "") -> dict[str, Any]:
    return {
        "id": cls.id,
        "title": cls.title,
        "category": cls.category,
        "icon": cls.icon,
        "docs": cls.docs(),
        "parent": cls.parent(),
        "host_input": cls.host_input,
        "on_repeat": cls.on_repeat,
        "source": source,
        "inputs": ports_of(cls.Inputs, "in"),
        "outputs": ports_of(cls.Outputs, "out"),
        "inputs_schema": cls.Inputs.model_json_schema(),
        "outputs_schema": cls.Outputs.model_json_schema(),
    }


def _package_for(folder: Path, index: int) -> str:
    """A synthetic top-level package whose __path__ is the folder, so modules in it can
    import each other (``from nebhx_blocks.storage.volume import Volume``)."""
    name = "nebhx_blocks" if index == 0 else "nebhx_blocks_" + hashlib.sha1(
        str(folder).encode()).hexdigest()[:8]
    pkg = sys.modules.get(name)
    if pkg is None or list(getattr(pkg, "__path__", [])) != [str(folder)]:
        pkg = types.ModuleType(name)
        pkg.__path__ = [str(folder)]
        sys.modules[name] = pkg
    return name


def _collect(reg: Registry, module: types.ModuleType, source: str) -> None:
    for _, obj in inspect.getmembers(module, inspect.isclass):
        if issubclass(obj, Brick) and obj.__module__ == module.__name__ and not obj.abstract:
            reg.add(obj, source)


def _load_folder(reg: Registry, folder: Path, index: int) -> None:
    if not folder.is_dir():
        reg.errors.append(LoadError(str(folder), "blocks folder does not exist"))
        return
    top = _package_for(folder, index)
    for path in sorted(folder.rglob("*.py")):
        rel = path.relative_to(folder)
        if any(part.startswith(("_", ".")) for part in rel.parts) or "node_modules" in rel.parts:
            continue
        name = ".".join([top, *rel.with_suffix("").parts])
        try:
            module = importlib.import_module(name)
        except Exception as exc:  # a broken user module must not take the palette down
            reg.errors.append(LoadError(str(path), _short_error(exc)))
            continue
        _collect(reg, module, str(path))


def _load_entry_points(reg: Registry) -> None:
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        source = f"entry point {ep.name} = {ep.value}"
        try:
            obj = ep.load()
        except Exception as exc:
            reg.errors.append(LoadError(source, _short_error(exc)))
            continue
        if inspect.isclass(obj) and issubclass(obj, Brick):
            reg.add(obj, source)
        elif isinstance(obj, types.ModuleType):
            _collect(reg, obj, source)


def _short_error(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (line {frames[-1].lineno} of {frames[-1].filename})" if frames else ""
    return f"{type(exc).__name__}: {exc}{where}"


def load_registry(folders: list[Path]) -> Registry:
    reg = Registry()
    for i, folder in enumerate(folders):
        _load_folder(reg, Path(folder).resolve(), i)
    _load_entry_points(reg)
    return reg


def _with_packages(reg: Registry) -> Registry:
    """The brick packages registered on the control plane (``packages``), after the folders:
    a package cannot take the id of a built-in brick."""
    from nebhx.bricks import packages
    for folder in packages.folders():
        _load_folder(reg, folder.resolve(), 1)
    reg.errors.extend(LoadError("brick packages", p) for p in packages.problems)
    return reg


_registry: Registry | None = None


def import_builtin() -> None:
    """Make ``nebhx_blocks`` (the built-in palette) importable, to subclass or test its bricks."""
    from nebhx.settings import get_settings
    _package_for(get_settings().builtin_blocks.resolve(), 0)


def get_registry(reload: bool = False, sync: bool = True) -> Registry:
    """The process-wide palette, loaded once (``reload=True`` re-reads the folders)."""
    global _registry, _next_refresh
    if _registry is None or reload:
        from nebhx.bricks import packages
        from nebhx.settings import get_settings
        if reload:
            for name in [m for m in sys.modules if m.startswith("nebhx_blocks")]:
                del sys.modules[name]
        if sync:
            packages.run_sync_hook()
        _next_refresh = time.monotonic() + RELOAD_EVERY_S
        _registry = _with_packages(load_registry(get_settings().block_dirs()))
        _registry.packages = packages.current()
    return _registry


# A worker reloads its palette when a claimed node names a brick it does not know (one added
# and reloaded in the API after the worker started), at most once per RELOAD_EVERY_S.
RELOAD_EVERY_S = 2.0
_reload_lock = threading.Lock()
_last_reload = float("-inf")


def find_brick(brick_id: str) -> type[Brick] | None:
    """The brick with this id; an unknown id reloads the palette once (rate-limited) first."""
    global _last_reload
    _refresh_packages()
    cls = get_registry().get(brick_id)
    if cls is not None:
        return cls
    with _reload_lock:
        cls = get_registry().get(brick_id)  # another thread may have reloaded meanwhile
        if cls is None and time.monotonic() - _last_reload >= RELOAD_EVERY_S:
            _last_reload = time.monotonic()
            cls = get_registry(reload=True).get(brick_id)
    return cls


_next_refresh = float("-inf")


def _packages_due() -> bool:
    from nebhx.bricks import packages
    if packages.sync_hook is None:
        return False
    if packages.wanted is not None:  # an agent: its node's claim named the current generation
        return packages.wanted != packages.synced
    return time.monotonic() >= _next_refresh  # the control plane: its store, looked at now and then


def _refresh_packages() -> None:
    """A changed brick package is fetched and the palette reloaded before the node runs."""
    global _next_refresh
    from nebhx.bricks import packages
    if not _packages_due():
        return
    with _reload_lock:
        if not _packages_due():  # another thread synced meanwhile
            return
        _next_refresh = time.monotonic() + RELOAD_EVERY_S
        packages.run_sync_hook()
        if _registry is not None and packages.current() != _registry.packages:
            get_registry(reload=True, sync=False)
