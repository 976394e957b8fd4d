"""nascore-sequential: the ``sequential`` execution engine (models run one by one in this process)."""
from __future__ import annotations

__all__ = ["SequentialEngineConfig", "SequentialExecutionEngine"]


def __getattr__(name: str):
    # Lazy so that importing the package (e.g. for its hooks) does not import the engine module.
    if name == "SequentialEngineConfig":
        from nascore_sequential.config import SequentialEngineConfig
        return SequentialEngineConfig
    if name == "SequentialExecutionEngine":
        from nascore_sequential.engine import SequentialExecutionEngine
        return SequentialExecutionEngine
    raise AttributeError(f"module 'nascore_sequential' has no attribute {name!r}")
