"""nascore-raw: the ``raw`` model format (keeps the model space object, in this process only)."""
from __future__ import annotations

from nascore.lazy import lazy_exports

__all__ = ["RawFormatConfig", "RawModelSpace"]

# Lazy: importing the package for its hooks must not import torch.
__getattr__, __dir__ = lazy_exports(__name__, {"RawFormatConfig": ".config", "RawModelSpace": ".space"})
