"""``Slot``: the placeholder for an input value in an operation's argument template (its own module so the
value codec in :mod:`nascore_graph.serialize` needs nothing else of the IR)."""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Slot"]


@dataclass(frozen=True)
class Slot:
    """Placeholder in an argument template: the value at input slot ``index``."""

    index: int
