"""Frozen context: re-run space-building code under a sample so it builds one concrete model."""

from __future__ import annotations

import contextlib
from contextvars import ContextVar
from typing import Any, ContextManager, Iterator, Optional

from nascore.scoped import scoped

from .base import Mutable, Sample

__all__ = ["frozen_context", "current_frozen_sample", "ensure_frozen"]

_sample: ContextVar[Optional[Sample]] = ContextVar("nascore_frozen_sample", default=None)
# While a model space's __init__ runs, mutables passed through ensure_frozen are collected here so
# the space can register them (otherwise a dry-run space would forget them).
_collector: ContextVar[Optional[list]] = ContextVar("nascore_mutable_collector", default=None)


@contextlib.contextmanager
def frozen_context(sample: Sample) -> Iterator[Sample]:
    """Inside, model-space constructs build the architecture ``sample`` selects."""
    if not isinstance(sample, dict):
        raise TypeError(f"sample must be a dict, got {type(sample).__name__}")
    with scoped(_sample, sample):
        yield sample


def _no_frozen_context() -> ContextManager[None]:
    return scoped(_sample, None)


def current_frozen_sample() -> Optional[Sample]:
    """The sample being frozen in this context (inside ``frozen_context``), or None."""
    return _sample.get()


def _collect_mutables(into: list) -> ContextManager[list]:
    return scoped(_collector, into)


def ensure_frozen(value: Any, *, default: Optional[bool] = None) -> Any:
    """Concrete value for ``value``.

    Not a Mutable: returned unchanged. Under ``frozen_context``: ``value.freeze(sample)``.
    Otherwise: ``value.default()`` when ``default`` is True, ``value`` itself when False; with
    ``default=None`` (auto) the default value is used inside a ModelSpace's ``__init__`` (dry-run),
    and the mutable is registered with that space so it shows up in ``simplify()``.
    """
    if not isinstance(value, Mutable):
        return value
    collector = _collector.get()
    if collector is not None:
        collector.append(value)
    sample = _sample.get()
    if sample is not None:
        return value.freeze(sample)
    if default is None:
        default = collector is not None
    return value.default() if default else value
