"""Errors of the graph format: always say where (dotted module path), what failed, and what to do."""
from __future__ import annotations

from typing import Optional

__all__ = ["GraphConversionError"]


class GraphConversionError(RuntimeError):
    """A module could not be converted to the graph IR (or generated back)."""

    def __init__(self, message: str, *, path: Optional[str] = None, construct: Optional[str] = None,
                 fix: Optional[str] = None) -> None:
        self.path, self.construct, self.fix = path, construct, fix
        where = f"module {path or '<root>'!r}: " if path is not None else ""
        text = f"{where}{message}"
        if construct:
            text += f" [construct: {construct}]"
        if fix:
            text += f". Fix: {fix}"
        super().__init__(text)
