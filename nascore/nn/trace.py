"""Recording constructor arguments so a module can be re-created (frozen, or in another process)."""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable

from nascore.mutable import Mutable, Sample
from nascore.mutable.expression import evaluate

__all__ = ["bind_arguments", "wrap_init", "iter_mutables", "map_values"]


def bind_arguments(fn: Callable, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
    """Split a call into (positional-only args, args by name) so it can be replayed as
    ``cls(*args, **kwargs)``; falls back to the call as given when names cannot be bound."""
    try:
        sig = inspect.signature(fn)
        bound = sig.bind(None, *args, **kwargs)  # None stands for self
    except (TypeError, ValueError):
        return tuple(args), dict(kwargs)
    params = list(sig.parameters.values())[1:]
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return tuple(args), dict(kwargs)  # names before *args must stay positional
    pos: list[Any] = []
    named: dict[str, Any] = {}
    for p in params:
        if p.name not in bound.arguments:
            continue
        value = bound.arguments[p.name]
        if p.kind is p.POSITIONAL_ONLY:
            pos.append(value)
        elif p.kind is p.VAR_KEYWORD:
            named.update(value)
        else:
            named[p.name] = value
    return tuple(pos), named


def iter_mutables(value: Any) -> list[Mutable]:
    """Mutables in an argument, looking into lists, tuples and dicts."""
    if isinstance(value, Mutable):
        return [value]
    if isinstance(value, (list, tuple)):
        return [m for v in value for m in iter_mutables(v)]
    if isinstance(value, dict):
        return [m for v in value.values() for m in iter_mutables(v)]
    return []


def map_values(value: Any, fn: Callable[[Mutable], Any]) -> Any:
    """Replace every mutable inside ``value`` (recursively in list/tuple/dict) by ``fn(mutable)``."""
    if isinstance(value, Mutable):
        return fn(value)
    if isinstance(value, (list, tuple)):
        return type(value)(map_values(v, fn) for v in value)
    if isinstance(value, dict):
        return {k: map_values(v, fn) for k, v in value.items()}
    return value


def freeze_value(value: Any, sample: Sample) -> Any:
    return map_values(value, lambda m: evaluate(m, sample))


def wrap_init(cls: type, around: Callable) -> None:
    """Wrap ``cls.__init__`` with ``around(orig, self, args, kwargs)`` on the outermost call only.

    A subclass's ``super().__init__(...)`` reaches another wrapped ``__init__``; only the outermost
    call (the one the user made) records arguments, so ``trace_symbol`` is the concrete class.
    """
    orig = cls.__dict__["__init__"]

    @functools.wraps(orig)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if self.__dict__.get("_nascore_in_init"):
            return orig(self, *args, **kwargs)
        self.__dict__["_nascore_in_init"] = True
        try:
            around(orig, self, args, kwargs)
        finally:
            self.__dict__["_nascore_in_init"] = False

    cls.__init__ = __init__
