"""Errors of the graph format: always say where (dotted module path), what failed, and what to do."""
from __future__ import annotations

from typing import Optional

__all__ = ["GraphConversionError", "ScriptRefused", "FrontendFallbackWarning"]


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


class ScriptRefused(GraphConversionError):
    """``torch.jit.script`` refuses this module's own forward (its children that compile are not the
    reason); ``reason`` is TorchScript's first error line. The converter captures such a module with fx."""

    def __init__(self, message: str, *, path: str, reason: str) -> None:
        self.reason = reason
        super().__init__(message, path=path, construct=reason,
                         fix="mark the failing module a basic unit (nascore_graph.basic_unit or a "
                             "ParameterizedModule), or use frontend='fx'")


class FrontendFallbackWarning(UserWarning):
    """The torchscript frontend captured one module with fx because ``torch.jit.script`` refuses it (the
    message names the module and TorchScript's reason). Make it an error with
    ``warnings.simplefilter("error", FrontendFallbackWarning)`` to insist on TorchScript throughout."""
