"""Giving a context variable a value for the length of a ``with`` block (standard library only)."""
from __future__ import annotations

import contextlib
from contextvars import ContextVar
from typing import Iterator, TypeVar

__all__ = ["scoped"]

T = TypeVar("T")


@contextlib.contextmanager
def scoped(var: ContextVar[T], value: T) -> Iterator[T]:
    """``var`` holds ``value`` inside the block (this thread or task only) and its previous value after it,
    even when the block raises. Yields ``value``."""
    token = var.set(value)
    try:
        yield value
    finally:
        var.reset(token)
