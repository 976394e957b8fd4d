"""Recording constructor arguments so a module can be re-created (frozen, or in another process)."""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable

from nascore.arguments import split_call
from nascore.mutable import Mutable, Sample
from nascore.mutable.expression import evaluate

__all__ = ["bind_arguments", "record_init", "TracedInit", "wrap_init", "iter_mutables", "map_values"]


def bind_arguments(fn: Callable, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
    """Split a call into (positional-only args, args by name) so it can be replayed as
    ``cls(*args, **kwargs)``; falls back to the call as given when names cannot be bound."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return tuple(args), dict(kwargs)
    if any(p.kind is p.VAR_POSITIONAL for p in sig.parameters.values()):
        return tuple(args), dict(kwargs)  # names before *args must stay positional
    split = split_call(sig, args, kwargs)
    return split if split is not None else (tuple(args), dict(kwargs))


def record_init(module: Any, init: Callable, args: tuple, kwargs: dict) -> None:
    """Record ``type(module)(*args, **kwargs)`` as the recipe :class:`TracedInit` reports."""
    pos, named = bind_arguments(init, args, kwargs)
    module.__dict__["_nascore_trace_symbol"] = type(module)
    module.__dict__["_nascore_trace_args"] = pos
    module.__dict__["_nascore_trace_kwargs"] = named


class TracedInit:
    """How a module was constructed (recorded by :func:`record_init`): ``trace_symbol(*trace_args,
    **trace_kwargs)`` builds it again."""

    @property
    def trace_symbol(self) -> type:
        return self.__dict__.get("_nascore_trace_symbol", type(self))

    @property
    def trace_args(self) -> tuple:
        return self.__dict__.get("_nascore_trace_args", ())

    @property
    def trace_kwargs(self) -> dict[str, Any]:
        return dict(self.__dict__.get("_nascore_trace_kwargs", {}))


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
