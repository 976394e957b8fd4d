"""Automatic, reproducible labels for mutables.

A label scope is a prefix plus a counter. Auto labels are ``"{prefix}/{n}"`` (or ``"_mutable_{n}"``
at the root), so building the same space twice in fresh scopes yields identical labels; that is
what lets a sample (``{label: value}``) mean the same model everywhere.
"""

from __future__ import annotations

import contextlib
import itertools
from contextvars import ContextVar
from typing import ContextManager, Iterator

from nascore.scoped import scoped

__all__ = ["LabelScope", "label_scope", "current_label_scope", "auto_label"]


class LabelScope:
    """One level of label nesting: ``path`` is the full prefix ('' for the root)."""

    def __init__(self, path: str, start: int = 0) -> None:
        self.path = path
        self._counter = itertools.count(start + 1)
        self._last = start

    def next_index(self) -> int:
        self._last = next(self._counter)
        return self._last

    @property
    def last_index(self) -> int:
        return self._last

    def join(self, name: str) -> str:
        return f"{self.path}/{name}" if self.path else name

    def __repr__(self) -> str:
        return f"LabelScope({self.path!r}, last={self._last})"


_ROOT = LabelScope("")  # global counter used when no scope is active
_current: ContextVar[LabelScope | None] = ContextVar("nascore_label_scope", default=None)


def current_label_scope() -> LabelScope | None:
    """The innermost active scope, or None at top level."""
    return _current.get()


def _next_auto(scope: LabelScope | None) -> str:
    s = scope or _ROOT
    n = s.next_index()
    return f"{s.path}/{n}" if s.path else f"_mutable_{n}"


def auto_label(name: str | None = None) -> str:
    """Label for a new mutable: the explicit ``name`` joined to the scope path, or the next auto label."""
    scope = _current.get()
    if name is not None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"label must be a non-empty string, got {name!r}")
        return scope.join(name) if scope is not None else name
    return _next_auto(scope)


@contextlib.contextmanager
def label_scope(name: str | None = None) -> Iterator[LabelScope]:
    """Open a nested label scope.

    ``name`` given: prefix becomes ``parent/name``. ``name=None`` at top level: a fresh counter with
    no prefix (labels ``_mutable_1``, ...), which makes spaces built inside it reproducible.
    ``name=None`` inside another scope: the scope takes the parent's next auto label as its name,
    so its labels can never collide with the parent's.
    """
    parent = _current.get()
    if name is not None:
        path = parent.join(name) if parent is not None else name
    elif parent is None:
        path = ""
    else:
        path = _next_auto(parent)
    with scoped(_current, LabelScope(path)) as scope:
        yield scope


def _exact_scope(path: str, start: int = 0) -> ContextManager[LabelScope]:
    """Scope with an exact prefix and counter start (used to nest under a module's own label and to
    replay the label state a module was created under)."""
    return scoped(_current, LabelScope(path, start))


def _no_scope() -> ContextManager[None]:
    return scoped(_current, None)
