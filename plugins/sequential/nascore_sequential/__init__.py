"""nascore-sequential: the ``sequential`` execution engine (models run one by one in this process)."""
from __future__ import annotations

from nascore.lazy import lazy_exports

__all__ = ["SequentialEngineConfig", "SequentialExecutionEngine"]

# Lazy so that importing the package (e.g. for its hooks) does not import the engine module.
__getattr__, __dir__ = lazy_exports(__name__, {"SequentialEngineConfig": ".config",
                                               "SequentialExecutionEngine": ".engine"})
