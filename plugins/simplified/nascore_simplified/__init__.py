"""nascore-simplified: the ``simplified`` model format (a model is its class path, init arguments and sample)."""
from __future__ import annotations

from nascore.lazy import lazy_exports

__all__ = ["SimplifiedFormatConfig", "SimplifiedModelSpace"]

# Lazy: importing the package for its hooks must not import torch.
__getattr__, __dir__ = lazy_exports(__name__, {"SimplifiedFormatConfig": ".config",
                                               "SimplifiedModelSpace": ".space"})
