"""nascore-graph: the "graph" model format (graph IR, fx/TorchScript frontends, mutators, codegen).

Light on import (the plugin's hooks module imports this package): heavy names load on first access.
"""
from __future__ import annotations

from nascore.lazy import lazy_exports

_LAZY = {
    "convert": "nascore_graph.api",
    "basic_unit": "nascore_graph.units",
    "GraphModelSpace": "nascore_graph.space",
    "GraphConfig": "nascore_graph.config",
    "GraphConversionError": "nascore_graph.errors",
    "FrontendFallbackWarning": "nascore_graph.errors",
    "Mutator": "nascore_graph.mutators",
    "attach_mutator": "nascore_graph.mutators",
    "GraphModel": "nascore_graph.ir",
    "Graph": "nascore_graph.ir",
    "Node": "nascore_graph.ir",
    "Edge": "nascore_graph.ir",
    "Operation": "nascore_graph.ir",
    "Slot": "nascore_graph.ir",
    "convert_to_ir": "nascore_graph.converter",
    "generate_code": "nascore_graph.codegen",
}

__all__ = list(_LAZY)

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
